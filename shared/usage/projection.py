"""Where a resource's use is heading by the end of the day and of the month (pure).

The daily rate is the mean of the last (up to) 7 full days of the month, raised to today's pace once a sixth of
the day has passed (a busy day must not hide behind quiet ones: the governor acts early rather than late).
On the 1st there is no history, so today's pace is used, read over at least 4 hours.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone


@dataclass(frozen=True)
class Projection:
    today: float
    month_to_date: float
    daily_rate: float
    today_projected: float  # today's total by midnight UTC at the current rate
    month_projected: float  # the month's total at the current rate
    percent: float | None  # used so far against the tier (today for daily tiers, month to date otherwise)
    projected_percent: float | None  # the projection against the tier


def days_in_month(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def fraction_of_day(now: datetime) -> float:
    now = now.astimezone(timezone.utc)
    return (now.hour * 3600 + now.minute * 60 + now.second) / 86400.0


def project(per_day: dict[date, float], now: datetime, *, period: str, limit: float | None,
            level: bool = False) -> Projection:
    """`per_day`: the resource's amount per UTC day of this month. `level`: a measured level (storage), not a
    sum: the projection is the latest level."""
    today = now.astimezone(timezone.utc).date()
    frac = fraction_of_day(now)
    first = today.replace(day=1)
    todays = float(per_day.get(today, 0.0))
    if level:
        days = [d for d in per_day if first <= d <= today]
        latest = float(per_day[max(days)]) if days else 0.0
        pct = latest / limit * 100 if limit else None
        return Projection(latest, latest, 0.0, latest, latest, pct, pct)
    mtd = sum(v for d, v in per_day.items() if first <= d <= today)
    full = [today - timedelta(days=i) for i in range(1, 8) if (today - timedelta(days=i)) >= first]
    history = sum(float(per_day.get(d, 0.0)) for d in full) / len(full) if full else None
    pace = todays / max(frac, 1 / 6)  # a burst in the first minutes of a day is read over at least 4 hours
    if history is None:
        rate = pace
    else:
        rate = max(history, pace) if frac >= 1 / 6 else history
    today_proj = todays + rate * (1 - frac)
    remaining_days = days_in_month(today) - today.day
    month_proj = mtd + rate * (1 - frac) + rate * remaining_days
    if not limit:
        return Projection(todays, mtd, rate, today_proj, month_proj, None, None)
    if period == "day":
        # a daily allowance: today so far, and the larger of today's projection and a typical day
        return Projection(todays, mtd, rate, today_proj, month_proj, todays / limit * 100,
                          max(today_proj, rate) / limit * 100)
    return Projection(todays, mtd, rate, today_proj, month_proj, mtd / limit * 100, month_proj / limit * 100)
