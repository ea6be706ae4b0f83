"""Every QStash schedule Screndly runs, and the command that makes QStash match this list.

    python -m shared.messaging.schedules sync      # create/update every schedule, delete retired ones
    python -m shared.messaging.schedules list      # what QStash has now

Run `sync` on every deploy: each schedule has a fixed `Upstash-Schedule-Id` (create-or-overwrite), so running
it twice changes nothing, and schedules with our id prefix that are no longer listed here are deleted.

Areas add their schedules by appending to SCHEDULES (a plain list). Budget: every fire is one billed message
(free tier 1,000/day); `*/5 * * * *` alone is 288/day. Crons are UTC unless prefixed `CRON_TZ=<zone> `.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

ID_PREFIX = "screndly-"
FREE_TIER_SCHEDULES = 10  # QStash free plan: at most 10 active schedules


# the publishing maintenance tick's period: its token refresh reaches further ahead than this
# (shared/publishing/connections/refresh.py), so no token lapses between two ticks
PUBLISHING_MAINTENANCE_HOURS = 6


@dataclass(frozen=True)
class Schedule:
    id: str  # without ID_PREFIX
    path: str  # our route, e.g. "/api/internal/cleanup"
    cron: str
    body: dict[str, Any] = field(default_factory=dict)
    retries: int = 3

    @property
    def schedule_id(self) -> str:
        return ID_PREFIX + self.id

    def body_text(self) -> str:
        return json.dumps(self.body, separators=(",", ":"), sort_keys=True)


SCHEDULES: list[Schedule] = [
    # daily at 03:00 UTC: prune logs, old notifications and whatever other areas registered   (1/day)
    Schedule("cleanup", "/api/internal/cleanup", "0 3 * * *"),
    # the dispatcher's safety net (shared/scheduling/dispatch.py): feed checks, processing windows and due
    # posts; between firings the dispatcher arms one delayed message per wake-up it needs (none when idle)
    #                                                                                          (24/day)
    Schedule("rss-tick", "/api/internal/rss/tick", "0 * * * *"),
    # publishing: settle stuck claims, run overdue posts, refresh tokens before they expire. On the hour, like
    # the dispatcher's windows, so it shares their database wake-up; every 6 h because the engine settles its
    # own work with delayed messages and a token is refreshed on use anyway                   (4/day)
    Schedule("publishing-maintenance", "/api/internal/publishing/maintenance",
             f"0 */{PUBLISHING_MAINTENANCE_HOURS} * * *"),
    # TMDb: the daily refresh at `tmdbDailyRefreshTime` and a midday catch-up, both in the owner's `timezone`;
    # shared.tmdb.schedules rewrites these two crons from the settings (at sync and when they change)  (2/day)
    Schedule("tmdb-refresh", "/api/internal/tmdb/refresh", "CRON_TZ=Africa/Lagos 0 7 * * *", {"trigger": "daily"}),
    Schedule("tmdb-midday", "/api/internal/tmdb/refresh", "CRON_TZ=Africa/Lagos 0 12 * * *", {"trigger": "midday"}),
    # (the comment poll has no schedule of its own: it is a dispatcher kind, shared/comments/timing.py)
]

# schedule id -> "module:function" returning its cron now (from the owner's settings); `sync` asks it first
CRON_FROM_SETTINGS: dict[str, str] = {
    "tmdb-refresh": "shared.tmdb.schedules:daily_cron",
    "tmdb-midday": "shared.tmdb.schedules:midday_cron",
}


def resolved(schedules: list[Schedule]) -> list[Schedule]:
    """The schedules with their settings-driven crons filled in; the listed default when settings cannot be
    read (a deploy before the database exists)."""
    import importlib
    from dataclasses import replace

    out = []
    for s in schedules:
        ref = CRON_FROM_SETTINGS.get(s.id)
        if ref:
            module, _, name = ref.partition(":")
            try:
                s = replace(s, cron=getattr(importlib.import_module(module), name)())
            except Exception:  # no database yet: keep the default
                pass
        out.append(s)
    return out


def get(schedule_id: str) -> Schedule:
    return next(s for s in SCHEDULES if s.id == schedule_id)


def overwrite(schedule_id: str, cron: str, client=None) -> bool:
    """Give one registered schedule a new cron now (a settings change); False when it is not registered (creating
    schedules is the deploy's `sync`, never a settings save)."""
    from shared.messaging.publisher import destination

    sched = get(schedule_id)
    client = client or _client()
    if sched.schedule_id not in {x.schedule_id for x in client.schedule.list()}:
        return False
    client.schedule.create(destination=destination(sched.path), cron=cron, body=sched.body_text(),
                           content_type="application/json", method="POST", retries=sched.retries,
                           schedule_id=sched.schedule_id)
    return True


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)  # kept paused (see sync)

    def __iter__(self):
        """The ids registered after the sync (so `", ".join(report)` lists them)."""
        return iter(self.created + self.updated + self.unchanged + self.paused)

    def as_dict(self) -> dict[str, list[str]]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "deleted": self.deleted, "paused": self.paused}


def _client():
    from qstash import QStash

    from shared.config import get_config

    cfg = get_config()
    if not cfg.qstash_token:
        raise RuntimeError("QSTASH_TOKEN is not set")
    return QStash(cfg.qstash_token, base_url=cfg.qstash_url)


def _matches(existing: Any, wanted: Schedule, destination: str) -> bool:
    return (existing.destination == destination and existing.cron == wanted.cron
            and (existing.body or "") == wanted.body_text() and existing.retries == wanted.retries
            and (existing.method or "POST").upper() == "POST")


def validate(schedules: list[Schedule]) -> None:
    from croniter import croniter

    seen = set()
    for s in schedules:
        if s.schedule_id in seen:
            raise ValueError(f"schedule id {s.schedule_id} is listed twice")
        seen.add(s.schedule_id)
        if not s.path.startswith("/api/internal/"):
            raise ValueError(f"schedule {s.id}: QStash must call an /api/internal/ route, not {s.path}")
        expr = s.cron.split(" ", 1)[1] if s.cron.startswith("CRON_TZ=") else s.cron
        if not croniter.is_valid(expr):
            raise ValueError(f"schedule {s.id}: invalid cron {s.cron!r}")


def sync(schedules: list[Schedule] | None = None, client=None) -> SyncReport:
    from shared.messaging.publisher import destination

    schedules = resolved(SCHEDULES if schedules is None else schedules)
    validate(schedules)
    client = client or _client()
    existing = {s.schedule_id: s for s in client.schedule.list() if s.schedule_id.startswith(ID_PREFIX)}
    report = SyncReport()
    for s in schedules:
        url = destination(s.path)
        prior = existing.get(s.schedule_id)
        if prior is not None and prior.paused:
            # paused by hand in the console: a deploy must not silently resume it (an overwrite keeps the flag)
            report.paused.append(s.schedule_id)
        if prior is not None and _matches(prior, s, url):
            report.unchanged.append(s.schedule_id)
            continue
        client.schedule.create(destination=url, cron=s.cron, body=s.body_text(), content_type="application/json",
                               method="POST", retries=s.retries, schedule_id=s.schedule_id)
        (report.updated if prior is not None else report.created).append(s.schedule_id)
    wanted = {s.schedule_id for s in schedules}
    for sid in sorted(set(existing) - wanted):
        client.schedule.delete(sid)
        report.deleted.append(sid)
    return report


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "sync"
    if cmd == "sync":
        if len(SCHEDULES) > FREE_TIER_SCHEDULES:
            print(f"warning: {len(SCHEDULES)} schedules; the QStash free plan allows {FREE_TIER_SCHEDULES}",
                  file=sys.stderr)
        report = sync()
        for what, ids in report.as_dict().items():
            for sid in ids:
                print(f"{what:9} {sid}")
        print(f"schedules: {len(report.created)} created, {len(report.updated)} updated, "
              f"{len(report.unchanged)} unchanged, {len(report.deleted)} deleted")
        return 0
    if cmd == "list":
        for s in _client().schedule.list():
            print(f"{s.schedule_id:40} {s.cron:20} {s.destination}{'  (paused)' if s.paused else ''}")
        return 0
    print("usage: python -m shared.messaging.schedules [sync|list]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
