"""Where a new post goes on a platform's timeline (pure).

Rules, all in the owner's timezone (settings `timezone`):
- minimum gap between two posts on the same platform (`rssPostingInterval` minutes);
- a daily quota per platform (`dailyQuota*`), counted per local calendar day;
- quiet hours [start, end) in local hours, wrapping past midnight when start > end (00–07 by default);
- event-driven (`rssEventDrivenPosting`): the earliest moment that satisfies the rules, filling holes between
  already-planned posts; spaced: always after the platform's last planned post, so posts drip out in order;
- a post grid (`postAlignMinutes`, 10 by default; the governor may coarsen it): a slot later than the database's
  current awake window moves to the next grid point (anchored at midnight UTC), so the posts of several
  platforms — and of several items — fall on the same instants and share one database wake-up.

DST: local wall-clock times that do not exist (spring forward) or occur twice (fall back) are resolved by
converting through UTC, so a quiet-hours end of 02:00 on a spring-forward night lands on 03:00 local.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_QUOTAS = {"x": 50, "threads": 100, "facebook": 25, "pinterest": 100, "youtube": 10}
FALLBACK_QUOTA = 6


@dataclass(frozen=True)
class PostingRules:
    tz: ZoneInfo
    min_gap: timedelta = timedelta(minutes=10)
    quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    quiet_enabled: bool = True
    quiet_start: int = 0
    quiet_end: int = 7
    event_driven: bool = True
    align_minutes: int = 0  # post grid; 0 = exact times

    def quota(self, platform: str) -> int:
        return int(self.quotas.get(platform, FALLBACK_QUOTA))

    @classmethod
    def from_settings(cls, s: dict) -> PostingRules:
        def _int(v, default):
            try:
                return int(v)
            except (TypeError, ValueError):
                return default
        try:
            tz = ZoneInfo(str(s.get("timezone") or "UTC"))
        except Exception:
            tz = ZoneInfo("UTC")
        quotas = {
            "x": _int(s.get("dailyQuotaX"), 50), "threads": _int(s.get("dailyQuotaThreads"), 100),
            "facebook": _int(s.get("dailyQuotaFacebook"), 25), "pinterest": _int(s.get("dailyQuotaPinterest"), 100),
            "youtube": 10,
        }
        return cls(tz=tz, min_gap=timedelta(minutes=max(0, _int(s.get("rssPostingInterval"), 10))), quotas=quotas,
                   quiet_enabled=bool(s.get("quietHoursEnabled", True)),
                   quiet_start=_int(s.get("quietHoursStart"), 0) % 24, quiet_end=_int(s.get("quietHoursEnd"), 7) % 24,
                   event_driven=bool(s.get("rssEventDrivenPosting", True)),
                   align_minutes=min(60, max(0, _int(s.get("postAlignMinutes"), 10))))


class NoSlot(Exception):
    """No slot within the search horizon (e.g. a quota of 0)."""


def local_wall(d: date, hour: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of local `d hour:00`, resolving DST gaps forward and overlaps to the first occurrence."""
    naive = datetime.combine(d, time(hour))
    aware = naive.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(timezone.utc)
    back = utc.astimezone(tz).replace(tzinfo=None)
    if back != naive:  # nonexistent local time: move forward by the gap
        utc = naive.replace(tzinfo=tz, fold=1).astimezone(timezone.utc)
        if utc.astimezone(tz).replace(tzinfo=None) < naive:
            utc = utc + timedelta(hours=1)
    return utc


class QuietHours(Protocol):
    """What the quiet-hours rules read: RSS's PostingRules and TMDb's SlotRules both have it."""

    @property
    def tz(self) -> ZoneInfo: ...
    @property
    def quiet_enabled(self) -> bool: ...
    @property
    def quiet_start(self) -> int: ...
    @property
    def quiet_end(self) -> int: ...


def in_quiet_hours(t: datetime, rules: QuietHours) -> bool:
    if not rules.quiet_enabled or rules.quiet_start == rules.quiet_end:
        return False
    h = t.astimezone(rules.tz).hour
    if rules.quiet_start < rules.quiet_end:
        return rules.quiet_start <= h < rules.quiet_end
    return h >= rules.quiet_start or h < rules.quiet_end


def quiet_end_after(t: datetime, rules: QuietHours) -> datetime:
    """The first instant at or after `t` outside quiet hours (t itself is inside them)."""
    local = t.astimezone(rules.tz)
    d = local.date()
    if rules.quiet_start > rules.quiet_end and local.hour >= rules.quiet_start:
        d = d + timedelta(days=1)
    end = local_wall(d, rules.quiet_end, rules.tz)
    if end <= t:  # DST made the wall-clock end fall behind t: take the next day's end
        end = local_wall(d + timedelta(days=1), rules.quiet_end, rules.tz)
    return end


def next_local_midnight(t: datetime, tz: ZoneInfo) -> datetime:
    d = t.astimezone(tz).date() + timedelta(days=1)
    return local_wall(d, 0, tz)


def local_day(t: datetime, tz: ZoneInfo) -> date:
    return t.astimezone(tz).date()


def on_grid(t: datetime, minutes: int) -> datetime:
    """`t` rounded up to the next multiple of `minutes` since midnight UTC (t itself if it is on one)."""
    step = minutes * 60
    ts = t.timestamp()
    up = -(-ts // step) * step
    return t if up == ts else datetime.fromtimestamp(up, timezone.utc)


def place(platform: str, earliest: datetime, taken: list[datetime], rules: PostingRules,
          horizon: timedelta = timedelta(days=14), awake_until: datetime | None = None) -> datetime:
    """The slot for a new post on `platform`, given the instants already planned or posted on it.
    `awake_until`: slots up to then need no grid (the database is awake for the planning itself)."""
    if earliest.tzinfo is None:
        raise ValueError("earliest must be timezone-aware")
    quota = rules.quota(platform)
    if quota <= 0:
        raise NoSlot(f"daily quota for {platform} is 0")
    taken = sorted(t.astimezone(timezone.utc) for t in taken)
    t = earliest.astimezone(timezone.utc).replace(microsecond=0)
    if not rules.event_driven and taken:
        t = max(t, taken[-1] + rules.min_gap)
    limit = t + horizon
    per_day: dict[date, int] = {}
    for s in taken:
        k = local_day(s, rules.tz)
        per_day[k] = per_day.get(k, 0) + 1
    while t <= limit:
        if in_quiet_hours(t, rules):
            t = quiet_end_after(t, rules)
            continue
        if per_day.get(local_day(t, rules.tz), 0) >= quota:
            t = next_local_midnight(t, rules.tz)
            continue
        clash = next((s for s in taken if abs(s - t) < rules.min_gap), None)
        if clash is not None:
            t = clash + rules.min_gap
            continue
        if rules.align_minutes and (awake_until is None or t > awake_until):
            aligned = on_grid(t, rules.align_minutes)
            if aligned != t:
                t = aligned  # and check the rules again at the grid point
                continue
        return t
    raise NoSlot(f"no slot for {platform} within {horizon}")
