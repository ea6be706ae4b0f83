"""The notification list the frontend polls every 30 s, and its mutations.

The poll is one index scan (notifications_created_idx) returning the newest N rows, with only the columns the
bell shows. Ids are UUIDs; an id that is not one is simply not found (the client also keeps local ids).
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.activity import normalise_source
from shared.db import connection
from shared.db.rows import one

_COLUMNS = "id, type, title, message, source, action_page, read, created_at"


def _row(r: dict[str, Any]) -> dict[str, Any]:
    ts = r["created_at"].isoformat().replace("+00:00", "Z")
    return {"id": str(r["id"]), "type": r["type"], "title": r["title"], "message": r["message"],
            "timestamp": ts, "createdAt": ts, "read": r["read"], "source": r["source"],
            "actionPage": r["action_page"]}


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        return None


def list_notifications(limit: int) -> list[dict[str, Any]]:
    with connection() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM notifications ORDER BY created_at DESC LIMIT %s",
                            (limit,)).fetchall()
    return [_row(r) for r in rows]


def create_notification(type: str, title: str, message: str, source: str | None,
                        action_page: str | None) -> dict[str, Any]:
    with connection() as conn:
        r = conn.execute(
            f"INSERT INTO notifications (type, title, message, source, action_page) VALUES (%s, %s, %s, %s, %s) "
            f"RETURNING {_COLUMNS}",
            (type, title, message, normalise_source(source), action_page)).fetchone()
    return _row(one(r))


def set_read(notification_id: str, read: bool) -> dict[str, Any] | None:
    nid = _uuid(notification_id)
    if nid is None:
        return None
    with connection() as conn:
        r = conn.execute(f"UPDATE notifications SET read = %s WHERE id = %s RETURNING {_COLUMNS}",
                         (read, nid)).fetchone()
    return _row(r) if r else None


def mark_all_read() -> int:
    with connection() as conn:
        return conn.execute("UPDATE notifications SET read = true WHERE NOT read").rowcount


def delete_notification(notification_id: str) -> bool:
    nid = _uuid(notification_id)
    if nid is None:
        return False
    with connection() as conn:
        return conn.execute("DELETE FROM notifications WHERE id = %s", (nid,)).rowcount > 0


def clear_notifications() -> int:
    with connection() as conn:
        return conn.execute("DELETE FROM notifications").rowcount
