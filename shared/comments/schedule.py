"""The comment poll's cadence: `commentPollInterval` (minutes, default 10), on the dispatcher's grid.

The poll is a dispatcher kind (shared/comments/timing.py), not a QStash schedule of its own: a `*/10` cron
cost 144 billed QStash messages a day even with nothing switched on. The interval is rounded up to one that
divides an hour (5, 10, 15, 20, 30 or 60 minutes), so polls sit on the same grid points as the feed checks
and share their wake-ups; the governor may make it slower (`commentPollMinutes` × its factor).

`on_settings_changed` is the settings hook for every key the poll's switch depends on: it rebuilds the switch
(the save woke the database anyway) and re-arms the poll for its new cadence.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("screndly.comments.schedule")

INTERVALS = (5, 10, 15, 20, 30, 60)


def interval_minutes(value: Any) -> int:
    try:
        wanted = float(value)
    except (TypeError, ValueError):
        return 10
    return next((m for m in INTERVALS if m >= wanted), 60)


def on_settings_changed(changed: list[str]) -> None:
    """Refresh the poll's switch and arm the poll at its next grid point (hourly while nothing is ready)."""
    from shared.comments import switch, timing

    state = switch.rebuild()
    timing.rearm(state)
