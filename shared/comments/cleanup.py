"""Daily cleanup steps for comments: retention (`commentRetention`, hours, default 168) and a fresh switch.

Comments are deleted once older than the retention, except those whose reply is still being settled; their
reply publications stay (publishing's own data), so a comment seen again later still maps to its reply key and
is never answered twice. The switch rebuild costs nothing extra (the cleanup already woke the database) and
repairs a switch a failed settings hook could not update.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.maintenance.cleanup import CleanupContext, CleanupStep, register, retention_hours


def prune_comments(ctx: CleanupContext) -> dict[str, Any]:
    from shared.comments import repo
    from shared.db import connection

    hours = retention_hours(ctx.settings.get("commentRetention"), 168)
    if hours is None:
        return {"deleted": 0, "kept": "forever"}
    with connection() as c:
        deleted = repo.prune(c, ctx.now - timedelta(hours=hours))
    return {"deleted": deleted, "olderThanHours": hours}


def refresh_switch(ctx: CleanupContext) -> dict[str, Any]:
    from shared.comments import switch

    state = switch.rebuild()
    return {"platforms": state["platforms"], "waiting": state["waiting"]}


register(CleanupStep("comments.retention", prune_comments))
register(CleanupStep("comments.switch", refresh_switch))
