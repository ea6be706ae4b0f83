"""When each new TMDb post goes out, in the owner's day (pure).

Preferred times (frontend-contract §3.3, tmdbScheduler):
- today: 09:00, then every 3 hours (12:00, 15:00, 18:00, 21:00 ...);
- weekly / monthly / anniversary: n posts a day (weekly 3 if ≥ 10 items else 2; monthly 3 if ≥ 15, 2 if ≥ 8,
  else 1; anniversary 3 if ≥ 6 else 2) spread evenly over 08:00-23:00 (15 h / (n + 1) apart) on consecutive days
  from today.
Then every post is placed at the first instant at or after its preferred time (and after now) that
- keeps at least 60 minutes from every other TMDb post, planned or already taken (a global gap),
- is outside quiet hours (`quietHoursStart`-`quietHoursEnd`, wrapping midnight),
- keeps each of the post's platforms under its daily quota (`dailyQuota*`, counted per local day),
- and is before its deadline: a "today" or anniversary post on its own day, a weekly or monthly one before the
  end of its release day (a spread day past the deadline falls back to the deadline's own day, from 08:00).
  A post with no such instant gets no slot (the caller says why).
Priority decides who gets a contested time: today first, then weekly, anniversary, monthly (§3.2), then score.

Wall-clock times are turned into instants through the timezone (DST gaps move forward, repeated hours take the
first occurrence), so a spring-forward or fall-back day never yields a wrong or duplicate slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from shared.rss.schedule import in_quiet_hours as in_quiet
from shared.rss.schedule import quiet_end_after
from shared.tmdb.modules import PRIORITY

GAP = timedelta(minutes=60)
DAY_START, DAY_END = 8, 23  # the spread window of weekly / monthly / anniversary posts
TODAY_FIRST_HOUR, TODAY_STEP_HOURS = 9, 3


@dataclass(frozen=True)
class SlotRules:
    """Also read by shared.rss.schedule's quiet-hours rules (same field names as its PostingRules)."""
    tz: ZoneInfo
    gap: timedelta = GAP
    quotas: dict[str, int] = field(default_factory=dict)  # platform -> posts per local day (TMDb's share)
    quiet_enabled: bool = True
    quiet_start: int = 0
    quiet_end: int = 7

    def quota(self, platform: str) -> int:
        return int(self.quotas.get(platform, 6))


@dataclass(frozen=True)
class Request:
    ref: str  # the caller's id for this post
    module: str
    platforms: tuple[str, ...]
    release_date: date | None = None
    score: float = 0.0


@dataclass(frozen=True)
class Taken:
    at: datetime
    platforms: tuple[str, ...] = ()


def local_instant(d: date, hh: int, mm: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of local `d hh:mm`; a time skipped by DST moves forward by the gap, a repeated one takes
    the first occurrence."""
    naive = datetime.combine(d, time(hh % 24, mm))
    if hh >= 24:
        naive += timedelta(days=hh // 24)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # nonexistent (spring forward): the same wall time with fold=1 maps after the gap
    later = naive.replace(tzinfo=tz, fold=1).astimezone(timezone.utc)
    return max(first, later)


def per_day(module: str, n: int) -> int:
    if module == "weekly":
        return 3 if n >= 10 else 2
    if module == "monthly":
        return 3 if n >= 15 else 2 if n >= 8 else 1
    if module == "anniversary":
        return 3 if n >= 6 else 2
    return n


def spread_times(k: int) -> list[tuple[int, int]]:
    """k (hour, minute) pairs evenly inside 08:00-23:00: 15 h / (k + 1) apart (k = 3 -> 11:45, 15:30, 19:15); a
    single daily post goes at noon (the contract's n = 1 case)."""
    if k == 1:
        return [(12, 0)]
    step = (DAY_END - DAY_START) * 60 / (k + 1)
    out = []
    for i in range(k):
        minutes = DAY_START * 60 + round(step * (i + 1))
        out.append((minutes // 60, minutes % 60))
    return out


def preferred_times(module: str, n: int, today: date, tz: ZoneInfo) -> list[datetime]:
    """The n preferred instants of a module's posts, best post first."""
    if module == "today":
        return [local_instant(today, TODAY_FIRST_HOUR + TODAY_STEP_HOURS * i, 0, tz) for i in range(n)]
    k = max(1, per_day(module, n))
    out: list[datetime] = []
    day = 0
    while len(out) < n:
        d = today + timedelta(days=day)
        for hh, mm in spread_times(k):
            if len(out) < n:
                out.append(local_instant(d, hh, mm, tz))
        day += 1
    return out


def deadline(req: Request, today: date, tz: ZoneInfo) -> datetime:
    if req.module in ("today", "anniversary") or req.release_date is None:
        last = today
    else:
        last = max(req.release_date, today)
    return local_instant(last + timedelta(days=1), 0, 0, tz)


def _next_midnight(t: datetime, tz: ZoneInfo) -> datetime:
    return local_instant(t.astimezone(tz).date() + timedelta(days=1), 0, 0, tz)


def _ceil_minute(t: datetime) -> datetime:
    t = t.astimezone(timezone.utc)
    if t.second or t.microsecond:
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return t


def place_one(preferred: datetime, platforms: tuple[str, ...], now: datetime, until: datetime,
              taken: list[Taken], rules: SlotRules) -> datetime | None:
    """The first acceptable instant in [max(preferred, now), until), or None."""
    t = _ceil_minute(max(preferred, now))
    while t < until:
        if in_quiet(t, rules):
            t = quiet_end_after(t, rules)
            continue
        day = t.astimezone(rules.tz).date()
        full = [p for p in platforms if sum(1 for s in taken if p in s.platforms
                                            and s.at.astimezone(rules.tz).date() == day) >= rules.quota(p)]
        if full:
            t = _next_midnight(t, rules.tz)
            continue
        clash = [s.at for s in taken if abs(s.at - t) < rules.gap]
        if clash:
            t = _ceil_minute(max(clash) + rules.gap)
            continue
        return t
    return None


def schedule(requests: list[Request], now: datetime, taken: list[Taken],
             rules: SlotRules) -> dict[str, datetime | None]:
    """ref -> instant (None: no slot before its deadline). `requests` of a module are given best first."""
    today = now.astimezone(rules.tz).date()
    by_module: dict[str, list[Request]] = {}
    for r in requests:
        by_module.setdefault(r.module, []).append(r)
    wanted: list[tuple[datetime, int, float, Request]] = []
    for module, reqs in by_module.items():
        for r, at in zip(reqs, preferred_times(module, len(reqs), today, rules.tz)):
            wanted.append((at, PRIORITY.get(module, 9), -r.score, r))
    # contested times go to the higher priority: place in priority order, each at its own preferred time
    wanted.sort(key=lambda w: (w[1], w[0], w[2]))
    placed = list(taken)
    out: dict[str, datetime | None] = {}
    for at, _prio, _score, r in wanted:
        until = deadline(r, today, rules.tz)
        if at >= until:  # its spread day is past its deadline: the first free time of its last day instead
            last_day = (until - timedelta(hours=12)).astimezone(rules.tz).date()
            at = local_instant(last_day, DAY_START, 0, rules.tz)
        slot = place_one(at, r.platforms, now, until, placed, rules)
        out[r.ref] = slot
        if slot is not None:
            placed.append(Taken(slot, r.platforms))
    return out
