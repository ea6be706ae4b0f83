"""Failure backoff for a feed (pure): 5 min × 2^failures, capped at 24 h (MonitoRSS's curve, with a cap)."""

from __future__ import annotations

from datetime import datetime, timedelta

BASE = timedelta(minutes=5)
CAP = timedelta(hours=24)


def retry_delay(consecutive_failures: int) -> timedelta:
    """Delay after the n-th consecutive failure (n >= 1): 5, 10, 20, 40 min ... 24 h."""
    n = max(0, consecutive_failures - 1)
    if n >= 20:  # 5 min × 2^20 is far past the cap; avoid huge numbers
        return CAP
    return min(CAP, BASE * (2 ** n))


def next_attempt(now: datetime, consecutive_failures: int) -> datetime:
    return now + retry_delay(consecutive_failures)


def should_auto_pause(consecutive_failures: int, limit: int) -> bool:
    return limit > 0 and consecutive_failures >= limit
