"""The TMDb refresh schedules follow the owner's settings: the daily refresh at `tmdbDailyRefreshTime` and a
midday catch-up (titles TMDb lists later in the day, peer-backend §1.4), both in the owner's `timezone`, as
QStash `CRON_TZ=` crons (QStash applies the zone, DST included: field-notes §4).

`daily_cron` / `midday_cron` are what `shared.messaging.schedules.sync` registers; `on_settings_changed` (called
by the settings service after a save that touched those keys) rewrites just these two schedules in QStash.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger("screndly.tmdb.schedules")

IDS = ("tmdb-refresh", "tmdb-midday")
KEYS = ("timezone", "tmdbDailyRefreshTime")
MIDDAY_HOUR = 12


def parse_time(value: Any) -> tuple[int, int]:
    """'07:00' / '7:30' / '19:05:00' -> (h, m); anything else -> 07:00 (the seed's daily refresh)."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*", str(value or ""))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return 7, 0
    return int(m.group(1)), int(m.group(2))


def _zone(settings: dict[str, Any]) -> str:
    from shared.tmdb.settings import zone

    return zone(settings.get("timezone")).key


def _settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    if settings is not None:
        return settings
    from shared.settings.store import read_settings

    return read_settings(list(KEYS))


def daily_cron(settings: dict[str, Any] | None = None) -> str:
    s = _settings(settings)
    h, m = parse_time(s.get("tmdbDailyRefreshTime"))
    return f"CRON_TZ={_zone(s)} {m} {h} * * *"


def midday_cron(settings: dict[str, Any] | None = None) -> str:
    """Noon, or 15:00 when the daily refresh itself is set around noon."""
    s = _settings(settings)
    h, _ = parse_time(s.get("tmdbDailyRefreshTime"))
    hour = MIDDAY_HOUR if abs(h - MIDDAY_HOUR) >= 2 else 15
    return f"CRON_TZ={_zone(s)} 0 {hour} * * *"


def resync(settings: dict[str, Any] | None = None) -> list[str]:
    """Overwrite the two TMDb schedules with the crons the settings give now. Only schedules that exist are
    rewritten: creating them is the deploy's `sync` (a settings save must not register schedules on its own)."""
    from shared.messaging import schedules
    from shared.messaging.publisher import destination

    s = _settings(settings)
    crons = {"tmdb-refresh": daily_cron(s), "tmdb-midday": midday_cron(s)}
    client = schedules._client()
    present = {x.schedule_id for x in client.schedule.list()}
    done = []
    for sid in IDS:
        sched = schedules.get(sid)
        if sched.schedule_id not in present:
            continue
        client.schedule.create(destination=destination(sched.path), cron=crons[sid], body=sched.body_text(),
                               content_type="application/json", method="POST", retries=sched.retries,
                               schedule_id=sched.schedule_id)
        done.append(f"{sched.schedule_id} {crons[sid]}")
    return done


def on_settings_changed(changed: list[str]) -> None:
    from shared import activity

    if not set(changed) & set(KEYS):
        return
    done = resync()
    if done:
        activity.log("tmdb", "info", "TMDb refresh schedules updated: " + "; ".join(done))
