"""GET /api/logs: the newest activity-log rows, optionally for one service and/or level.

One query, served by the (created_at, id), (service, created_at, id) or (level, created_at, id) index, with
LIMIT pushed into the index scan, so its cost does not grow with the table.
"""

from __future__ import annotations

from typing import Any

from shared.db import connection

LEVELS = ("debug", "info", "warn", "error")
_ALIASES = {"warning": "warn", "err": "error"}


def normalise_level(level: str | None) -> str | None:
    if not level:
        return None
    lv = level.strip().lower()
    return _ALIASES.get(lv, lv) or None


def logs_query(limit: int, service: str | None, level: str | None) -> tuple[str, tuple]:
    where, params = [], []
    if service:
        where.append("service = %s")
        params.append(service)
    if level:
        where.append("level = %s")
        params.append(level)
    sql = "SELECT id, created_at, level, message, service, metadata FROM activity_logs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id DESC LIMIT %s"
    return sql, (*params, limit)


def list_logs(limit: int, service: str | None = None, level: str | None = None) -> list[dict[str, Any]]:
    sql, params = logs_query(limit, service, level)
    with connection() as conn:
        rows = conn.execute(sql, params).fetchall()
    return [{"id": str(r["id"]), "timestamp": r["created_at"].isoformat().replace("+00:00", "Z"),
             "level": r["level"], "message": r["message"], "service": r["service"],
             "metadata": r["metadata"]} for r in rows]
