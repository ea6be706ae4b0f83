"""The comment poll's schedule follows `commentPollInterval` (minutes, default 10): one QStash schedule whose cron
`sync` takes from here (shared/messaging/schedules.py CRON_FROM_SETTINGS), rewritten at once when the setting is
saved. The interval is rounded up to one a cron can keep exactly (5, 10, 15, 20, 30 or 60 minutes): each tick is
one billed QStash message, 288 a day at 5 minutes, 144 at 10, 24 at 60.

`on_settings_changed` is the settings hook for every key the poll's Redis switch depends on.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("screndly.comments.schedule")

SCHEDULE_ID = "comments-poll"
INTERVALS = (5, 10, 15, 20, 30, 60)


def interval_minutes(value: Any) -> int:
    try:
        wanted = float(value)
    except (TypeError, ValueError):
        return 10
    return next((m for m in INTERVALS if m >= wanted), 60)


def cron_for(minutes: int) -> str:
    return "0 * * * *" if minutes >= 60 else f"*/{minutes} * * * *"


def poll_cron(settings: dict[str, Any] | None = None) -> str:
    if settings is None:
        from shared.settings.store import read_settings

        settings = read_settings(["commentPollInterval"])
    return cron_for(interval_minutes(settings.get("commentPollInterval")))


def on_settings_changed(changed: list[str]) -> None:
    """Refresh the poll's switch; when the interval changed, give the QStash schedule its new cron."""
    from shared.comments import switch

    switch.rebuild()
    if "commentPollInterval" in changed:
        from shared.messaging import schedules

        cron = poll_cron()
        if schedules.overwrite(SCHEDULE_ID, cron):
            log.info("comment poll schedule now %s", cron)
