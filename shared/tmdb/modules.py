"""The four discovery modules and the dates they look at, in the owner's timezone (pure).

frontend-contract §3.3: today = released today; weekly = today … +7 days; monthly = the whole of next calendar
month; anniversary = released exactly N years ago today, N in `anniversaryYears`. "Today" is the owner's local
date (`timezone` setting), never the server's UTC date.

Release cycle (the ledger's unique key, peer-backend §3.2): `<media>:<id>:<module>:<release date>`, and for an
anniversary `<media>:<id>:anniversary:<original date>:y<N>`, so the same title is keyed once per module and
release, and a re-run or an overlapping refresh claims nothing twice.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

MODULES = ("today", "weekly", "monthly", "anniversary")
SOURCE = {m: f"tmdb_{m}" for m in MODULES}
MODULE_OF_SOURCE = {v: k for k, v in SOURCE.items()}
# frontend-contract §3.2 queue rules: P1 tmdb_today, P2 tmdb_weekly, P3 tmdb_anniversary, P4 tmdb_monthly
PRIORITY = {"today": 1, "weekly": 2, "anniversary": 3, "monthly": 4}
TEMPORAL_TAG = {"today": "releasing_today", "weekly": "releasing_this_week", "monthly": "releasing_this_month",
                "anniversary": "anniversary"}


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end


def owner_today(now: datetime, tz: ZoneInfo) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz).date()


def window(module: str, today: date) -> Window:
    if module == "today":
        return Window(today, today)
    if module == "weekly":
        return Window(today, today + timedelta(days=7))
    if module == "monthly":
        y, m = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return Window(date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]))
    raise ValueError(f"module {module!r} has no single window (anniversaries have one date per year)")


def years_ago(today: date, years: int) -> list[date]:
    """The original release dates whose N-th anniversary is `today`.

    Feb 29 exists only in leap years: on Feb 28 of a common year, titles released on Feb 29 N years ago celebrate
    too (the day is not skipped for four years); on Feb 29 itself, a common target year has no such date.
    """
    if years <= 0:
        return []
    y = today.year - years
    if y < 1:
        return []
    out: list[date] = []
    if today.month == 2 and today.day == 29:
        if calendar.isleap(y):
            out.append(date(y, 2, 29))
        return out
    out.append(date(y, today.month, today.day))
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year) and calendar.isleap(y):
        out.append(date(y, 2, 29))
    return out


def anniversary_targets(today: date, years: list[int], start_year: int | None = None) -> list[tuple[int, date]]:
    """(N, original date) pairs to look up, newest first; titles before `anniversaryStartYear` are not looked for."""
    out = []
    for n in sorted(set(years)):
        for d in years_ago(today, n):
            if start_year is None or d.year >= start_year:
                out.append((n, d))
    return out


def cycle_key(media_type: str, tmdb_id: int, module: str, release: date, anniversary_years: int | None = None) -> str:
    if module == "anniversary":
        if not anniversary_years:
            raise ValueError("an anniversary key needs its number of years")
        return f"{media_type}:{tmdb_id}:anniversary:{release.isoformat()}:y{anniversary_years}"
    return f"{media_type}:{tmdb_id}:{module}:{release.isoformat()}"


def days_until(release: date, today: date) -> int:
    return (release - today).days
