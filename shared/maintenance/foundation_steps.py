"""Cleanup steps for the foundation's tables: the activity log and notifications.

Deletes run in batches of 5,000 rows so a long backlog never holds one long lock (the 60 s logs poll keeps
answering while a first cleanup catches up).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.maintenance.cleanup import CleanupContext, CleanupStep, register, retention_hours

BATCH = 5_000


def _delete_batched(sql: str, params: tuple) -> int:
    from shared.db import connection

    total = 0
    with connection() as conn:
        while True:
            n = conn.execute(sql, (*params, BATCH)).rowcount
            total += n
            if n < BATCH:
                return total


def prune_logs(ctx: CleanupContext) -> dict[str, Any]:
    hours = retention_hours(ctx.settings.get("logsRetention"), 168)
    if hours is None:
        return {"deleted": 0, "kept": "forever"}
    cutoff = ctx.now - timedelta(hours=hours)
    deleted = _delete_batched(
        "DELETE FROM activity_logs WHERE id IN "
        "(SELECT id FROM activity_logs WHERE created_at < %s ORDER BY created_at LIMIT %s)", (cutoff,))
    return {"deleted": deleted, "olderThanHours": hours}


def prune_notifications(ctx: CleanupContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, read, key, default in (("read", True, "notificationRetention", 168),
                                      ("unread", False, "unreadNotificationRetention", 720)):
        hours = retention_hours(ctx.settings.get(key), default)
        if hours is None:
            out[label] = 0
            continue
        cutoff = ctx.now - timedelta(hours=hours)
        out[label] = _delete_batched(
            "DELETE FROM notifications WHERE id IN "
            "(SELECT id FROM notifications WHERE read = %s AND created_at < %s LIMIT %s)", (read, cutoff))
    return {"deleted": out["read"] + out["unread"], **{f"{k}Deleted": v for k, v in out.items()}}


register(CleanupStep("foundation.logs", prune_logs))
register(CleanupStep("foundation.notifications", prune_notifications))
