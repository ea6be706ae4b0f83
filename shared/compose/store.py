"""The compose workspace in Postgres: one row, read whole, merged under a row lock so two saves never lose
each other's items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.compose.merge import merge
from shared.db.connection import connection, transaction
from shared.db.rows import one


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def read() -> dict[str, Any]:
    with connection() as conn:
        row = conn.execute("SELECT items, updated_at FROM compose_state WHERE id").fetchone()
    if row is None:
        return {"items": [], "updatedAt": None}
    return {"items": row["items"], "updatedAt": _iso(row["updated_at"])}


def save(items: list[Any], last_modified_at: Any) -> dict[str, Any]:
    from psycopg.types.json import Jsonb

    with transaction() as conn:
        conn.execute("INSERT INTO compose_state (id) VALUES (true) ON CONFLICT (id) DO NOTHING")
        row = one(conn.execute("SELECT items, stored_at, clock_timestamp() AS now FROM compose_state WHERE id "
                               "FOR UPDATE").fetchone())
        merged, taken = merge(list(row["items"]), items, last_modified_at, dict(row["stored_at"]))
        now = _iso(row["now"])
        kept_ids = {str(i.get("id")) for i in merged}
        stamps = {k: v for k, v in dict(row["stored_at"]).items() if k in kept_ids} | dict.fromkeys(taken, now)
        saved = one(conn.execute("UPDATE compose_state SET items = %s, stored_at = %s, updated_at = %s WHERE id "
                                 "RETURNING items, updated_at", (Jsonb(merged), Jsonb(stamps), row["now"])).fetchone())
    return {"items": saved["items"], "updatedAt": _iso(saved["updated_at"])}
