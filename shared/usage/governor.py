"""The governor: when a free tier would run out, degrade on purpose instead of being cut off (pure).

Input: each resource's projected percentage of its tier (shared/usage/projection.py), the owner's settings,
and the levels decided last time (hysteresis: a lever is released only once the projection is 10 points
below where it was pulled, so the system does not flap around a threshold). Output: the levers the scheduler
reads, and one sentence per lever pulled, for the dashboard and the notification.

Levers, and what they relieve:
- Neon compute (awake time): stop processing RSS items the moment they are seen (`rss_urgent` off), snap
  post times to a coarser grid so more posts share one wake-up (`post_grid_minutes`), then process RSS in
  longer windows (`rss_window_minutes` ×2, ×4) — news goes out later, never lost.
- QStash messages, Redis commands, function invocations/CPU (the per-check costs): check feeds less often
  (`rss_check_multiplier` ×2, ×3, ×4) and poll comments less often (`comments_poll_minutes`), then pause
  comment polling altogether (`comments_paused`).
The owner chooses which levers the governor may pull (`usageGovernorLevers`), or `alert_only` (notify, never
degrade).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DB_RESOURCES = ("neon.cu_hours",)
CALL_RESOURCES = ("qstash.messages", "redis.commands", "fn.invocations", "fn.cpu_ms")
LEVERS = ("widenRssChecks", "delayRssProcessing", "batchPosts", "slowComments", "pauseComments")
HYSTERESIS = 10.0
STEP = 15.0  # percentage points between levels


@dataclass(frozen=True)
class GovernorSettings:
    mode: str = "auto"  # auto | alert_only
    degrade_at: float = 90.0  # percent of a tier a projection may reach before a lever is pulled
    levers: frozenset[str] = frozenset(LEVERS)
    rss_window_minutes: int = 120  # the owner's baseline: how long changed feeds may wait for a window
    rss_urgent: bool = True  # process items that will be posted as soon as they are seen
    post_grid_minutes: int = 10  # post times snap to this grid, so platforms share a wake-up
    comments_poll_minutes: int = 10

    @classmethod
    def from_settings(cls, s: Mapping[str, Any]) -> GovernorSettings:
        def num(key: str, default: float, lo: float, hi: float) -> float:
            try:
                return min(hi, max(lo, float(s.get(key, default))))
            except (TypeError, ValueError):
                return default

        raw = s.get("usageGovernorLevers")
        levers = frozenset(k for k in LEVERS if not isinstance(raw, dict) or raw.get(k, True) is not False)
        mode = str(s.get("usageGovernor") or "auto")
        return cls(mode=mode if mode in ("auto", "alert_only") else "auto",
                   degrade_at=num("usageDegradePercent", 90, 50, 100), levers=levers,
                   rss_window_minutes=int(num("rssProcessingWindowMinutes", 120, 10, 480)),
                   rss_urgent=s.get("rssUrgentProcessing", True) is not False,
                   post_grid_minutes=int(num("postAlignMinutes", 10, 1, 60)),
                   comments_poll_minutes=int(num("commentPollMinutes", 10, 1, 120)))


@dataclass(frozen=True)
class Decisions:
    levels: dict[str, int] = field(default_factory=dict)  # resource -> 0 (normal) .. 3
    rss_check_multiplier: int = 1
    rss_window_minutes: int = 120
    rss_urgent: bool = True
    post_grid_minutes: int = 10
    comments_poll_minutes: int = 10
    comments_paused: bool = False
    notices: tuple[str, ...] = ()
    held_back: tuple[str, ...] = ()  # levers the projections call for but the owner did not allow

    @property
    def degraded(self) -> bool:
        return bool(self.notices)

    def as_dict(self) -> dict[str, Any]:
        return {"levels": dict(self.levels), "rssCheckMultiplier": self.rss_check_multiplier,
                "rssWindowMinutes": self.rss_window_minutes, "rssUrgent": self.rss_urgent,
                "postGridMinutes": self.post_grid_minutes, "commentsPollMinutes": self.comments_poll_minutes,
                "commentsPaused": self.comments_paused, "degraded": self.degraded, "notices": list(self.notices),
                "heldBack": list(self.held_back)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Decisions:
        if not d:
            return cls()
        return cls(levels={str(k): int(v) for k, v in (d.get("levels") or {}).items()},
                   rss_check_multiplier=int(d.get("rssCheckMultiplier", 1)),
                   rss_window_minutes=int(d.get("rssWindowMinutes", 120)), rss_urgent=bool(d.get("rssUrgent", True)),
                   post_grid_minutes=int(d.get("postGridMinutes", 10)),
                   comments_poll_minutes=int(d.get("commentsPollMinutes", 10)),
                   comments_paused=bool(d.get("commentsPaused", False)), notices=tuple(d.get("notices") or ()),
                   held_back=tuple(d.get("heldBack") or ()))


def level(pct: float | None, previous: int, degrade_at: float) -> int:
    """0..3 from a projected percentage, keeping a pulled level until the projection is HYSTERESIS below."""
    if pct is None:
        return 0
    raw = 0
    for n in (3, 2, 1):
        if pct >= degrade_at + STEP * (n - 1):
            raw = n
            break
    if raw >= previous:
        return raw
    # falling: release one level at a time, only once clearly below the level's threshold
    while previous > raw and pct < degrade_at + STEP * (previous - 1) - HYSTERESIS:
        previous -= 1
    return previous


def decide(projected: Mapping[str, float | None], settings: GovernorSettings,
           previous: Decisions | None = None) -> Decisions:
    prev = previous.levels if previous else {}
    levels = {k: level(projected.get(k), int(prev.get(k, 0)), settings.degrade_at)
              for k in (*DB_RESOURCES, *CALL_RESOURCES)}
    base = Decisions(levels=levels, rss_window_minutes=settings.rss_window_minutes, rss_urgent=settings.rss_urgent,
                     post_grid_minutes=settings.post_grid_minutes,
                     comments_poll_minutes=settings.comments_poll_minutes)
    db = max(levels[k] for k in DB_RESOURCES)
    calls = max(levels[k] for k in CALL_RESOURCES)
    if settings.mode == "alert_only" or (db == 0 and calls == 0):
        held: tuple[str, ...] = ()
        if settings.mode == "alert_only" and (db or calls):
            held = ("the governor only alerts (usageGovernor = alert_only): nothing was slowed down",)
        return Decisions(**{**base.__dict__, "held_back": held})

    allowed = settings.levers
    notices: list[str] = []
    held_list: list[str] = []
    urgent, grid, window = base.rss_urgent, base.post_grid_minutes, base.rss_window_minutes
    checks, poll, paused = 1, base.comments_poll_minutes, False
    db_name = _worst(projected, DB_RESOURCES)
    call_name = _worst(projected, CALL_RESOURCES)

    def pull(lever: str, text: str) -> bool:
        if lever in allowed:
            notices.append(text)
            return True
        held_list.append(f"{text} (not allowed by the owner)")
        return False

    if db >= 1:
        if urgent and pull("delayRssProcessing", f"{db_name}: new RSS items now wait for the next processing "
                                                 f"window instead of waking the database at once"):
            urgent = False
        target = 30 if db == 1 else 60
        if grid < target and pull("batchPosts", f"{db_name}: post times are grouped every {target} min so one "
                                                f"database wake-up publishes several posts"):
            grid = target
    if db >= 2:
        factor = 2 if db == 2 else 4
        if pull("delayRssProcessing", f"{db_name}: RSS items are processed every {window * factor} min "
                                      f"(instead of {window})"):
            window = window * factor
    if calls >= 1:
        factor = calls + 1
        if pull("widenRssChecks", f"{call_name}: feeds are checked {factor}× less often"):
            checks = factor
        if pull("slowComments", f"{call_name}: comments are polled every {poll * factor} min"):
            poll = poll * factor
    if calls >= 3 and pull("pauseComments", f"{call_name}: comment polling is paused until the projection "
                                            f"falls"):
        paused = True
    return Decisions(levels=levels, rss_check_multiplier=checks, rss_window_minutes=window, rss_urgent=urgent,
                     post_grid_minutes=grid, comments_poll_minutes=poll, comments_paused=paused,
                     notices=tuple(notices), held_back=tuple(held_list))


def _worst(projected: Mapping[str, float | None], keys: tuple[str, ...]) -> str:
    from shared.usage.tiers import BY_KEY

    best = max(keys, key=lambda k: projected.get(k) or 0.0)
    pct = projected.get(best) or 0.0
    return f"{BY_KEY[best].label} projected at {pct:.0f} % of the free tier"
