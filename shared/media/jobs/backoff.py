"""Retry decisions for a failed attempt (pure)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DELAY_SECONDS = 3600.0


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay_seconds: float = 0.0


def retry_delay(attempt: int, base: float, cap: float = MAX_DELAY_SECONDS, jitter: float = 0.0) -> float:
    """base * 4^(attempt-1), capped; `jitter` in [0, 1) spreads workers that failed together (+0..25%)."""
    if attempt < 1:
        attempt = 1
    delay = min(cap, base * (4 ** (attempt - 1)))
    return min(cap, delay * (1 + 0.25 * max(0.0, min(jitter, 0.999))))


def decide(attempt: int, max_attempts: int, transient: bool, base: float, jitter: float = 0.0) -> RetryDecision:
    """Permanent errors never retry; transient ones retry until `max_attempts` attempts have run."""
    if not transient or attempt >= max_attempts:
        return RetryDecision(False)
    return RetryDecision(True, retry_delay(attempt, base, jitter=jitter))
