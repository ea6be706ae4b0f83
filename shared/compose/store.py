"""The compose workspace in Postgres: one row, read whole, merged under a row lock so two saves never lose
each other's items. The server's own writes to one item (the scheduled-post fallback, shared/compose/scheduler.py)
take the same row lock and stamp the item as a device's save does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.compose.merge import merge
from shared.db.connection import connection, transaction
from shared.db.rows import one

# what the scheduled-post fallback arms from: (status, scheduledAt) of an item
Schedule = tuple[Any, Any]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def read() -> dict[str, Any]:
    with connection() as conn:
        row = conn.execute("SELECT items, updated_at FROM compose_state WHERE id").fetchone()
    if row is None:
        return {"items": [], "updatedAt": None}
    return {"items": row["items"], "updatedAt": _iso(row["updated_at"])}


def schedules(items: list[Any]) -> dict[str, Schedule]:
    return {str(i.get("id")): (i.get("status"), i.get("scheduledAt")) for i in items if isinstance(i, dict)}


def save(items: list[Any], last_modified_at: Any) -> dict[str, Any]:
    return save_tracked(items, last_modified_at)[0]


Change = tuple[Schedule | None, Schedule | None]  # (before, after); None: the item is not there


def save_tracked(items: list[Any], last_modified_at: Any) -> tuple[dict[str, Any], dict[str, Change]]:
    """(the workspace, the items whose status or scheduledAt this save changed: id -> (before, after)). Computed
    under the row lock, so concurrent saves' changes chain."""
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
    before, after = schedules(list(row["items"])), schedules(merged)
    changed: dict[str, Change] = {i: (before.get(i), after.get(i)) for i in before.keys() | after.keys()
                                  if before.get(i) != after.get(i)}
    return {"items": saved["items"], "updatedAt": _iso(saved["updated_at"])}, changed


def all_items() -> list[dict[str, Any]]:
    with connection() as conn:
        row = conn.execute("SELECT items FROM compose_state WHERE id").fetchone()
    return [i for i in (row["items"] if row else []) if isinstance(i, dict)]


def update_item(item_id: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> Any:
    """Read one item under the row lock and store what `change(item)` returns in its place (None: leave the
    workspace as it is). The write is stamped like a device's save (stored_at, updated_at: the server's clock),
    so a device that last read an older version cannot delete or overwrite it by merge. Commits on return.
    Returns what `change` returned."""
    return update_item_in(item_id, lambda _conn, item: change(item))


def update_item_in(item_id: str, change: Callable[[Any, dict[str, Any] | None], dict[str, Any] | None]) -> Any:
    """`update_item`, with the transaction's connection given to `change(conn, item)`: what it writes elsewhere
    (the settling record, a log line) commits or rolls back with the item."""
    from psycopg.types.json import Jsonb

    with transaction() as conn:
        row = conn.execute("SELECT items, stored_at, clock_timestamp() AS now FROM compose_state WHERE id "
                           "FOR UPDATE").fetchone()
        items = list(row["items"]) if row else []
        at = next((n for n, i in enumerate(items) if isinstance(i, dict) and str(i.get("id")) == item_id), None)
        new = change(conn, items[at] if at is not None else None)
        if new is None or at is None or row is None:
            return new
        items[at] = new
        stamps = dict(row["stored_at"]) | {item_id: _iso(row["now"])}
        conn.execute("UPDATE compose_state SET items = %s, stored_at = %s, updated_at = %s WHERE id",
                     (Jsonb(items), Jsonb(stamps), row["now"]))
    return new


# --- platforms still settling after the server wrote an item's result (shared/compose/late.py) -----------------
def settling_items(publication_id: str) -> list[str]:
    """The items waiting on this publication (usually none: a client's own publish, or one already settled).
    Read without a lock: the caller re-reads under the workspace's row lock."""
    with connection() as conn:
        rows = conn.execute("SELECT item_id FROM compose_settling WHERE pending @> ARRAY[%s::uuid]",
                            (publication_id,)).fetchall()
    return [str(r["item_id"]) for r in rows]


def settling_of(conn, item_id: str) -> dict[str, Any] | None:
    """Under the workspace's row lock (update_item_in): the item's record."""
    return conn.execute("SELECT item_id, stamp, entries, pending FROM compose_settling WHERE item_id = %s",
                        (item_id,)).fetchone()


def keep_settling(conn, item_id: str, stamp: str, entries: list[dict[str, Any]], pending: list[str]) -> None:
    """Record (or replace) what the item waits on; nothing pending: the record goes."""
    from psycopg.types.json import Jsonb

    if not pending:
        conn.execute("DELETE FROM compose_settling WHERE item_id = %s", (item_id,))
        return
    conn.execute("INSERT INTO compose_settling (item_id, stamp, entries, pending) VALUES (%s, %s, %s, %s::uuid[]) "
                 "ON CONFLICT (item_id) DO UPDATE SET stamp = excluded.stamp, entries = excluded.entries, "
                 "pending = excluded.pending, updated_at = now()", (item_id, stamp, Jsonb(entries), pending))


def settling_publications(forget_after_days: int) -> list[dict[str, Any]]:
    """The pending publications already settled in the engine (a listener call that was lost), after dropping
    the records nothing has moved for `forget_after_days` (an unconfirmed post the engine stopped re-checking)."""
    with connection() as conn:  # one statement: the CTE's DELETE is not seen by the SELECT, hence the NOT IN
        return conn.execute(
            "WITH gone AS (DELETE FROM compose_settling WHERE updated_at < now() - make_interval(days => %s) "
            "RETURNING item_id) "
            "SELECT p.* FROM publications p WHERE p.id IN (SELECT unnest(pending) FROM compose_settling "
            "WHERE item_id NOT IN (SELECT item_id FROM gone)) "
            "AND p.state IN ('published', 'failed', 'unconfirmed', 'dry_run')", (forget_after_days,)).fetchall()
