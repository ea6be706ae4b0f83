"""How long Neon's compute was awake, from when queries ran (pure).

Neon suspends a compute 5 minutes after the last query (it cannot be disabled on the Free plan), and wakes it
on the next one. So each query at `t` keeps the compute up over [t, t + 5 min]; the awake time is the union of
those intervals. The meter records, per process, spans of back-to-back queries ([first, last]); a span
[a, b] keeps the compute up over [a, b + 5 min]. Spans from different processes overlap freely: the union
takes care of it. Billing is CU-hours = awake hours × compute size (0.25 CU by default).
"""

from __future__ import annotations

from collections.abc import Iterable

TAIL = 300.0
DAY = 86400.0


def intervals(spans: Iterable[tuple[float, float]], tail: float = TAIL) -> list[tuple[float, float]]:
    """The awake intervals: spans widened by the tail, sorted and merged."""
    out: list[list[float]] = []
    for a, b in sorted((float(a), float(b) + tail) for a, b in spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def seconds_within(ivs: Iterable[tuple[float, float]], start: float, end: float) -> float:
    """Awake seconds of merged intervals that fall inside [start, end)."""
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in ivs)


def per_day(ivs: list[tuple[float, float]]) -> dict[int, float]:
    """Awake seconds by UTC epoch day (an interval across midnight is split)."""
    out: dict[int, float] = {}
    for a, b in ivs:
        d = int(a // DAY)
        while a < b:
            end = min(b, (d + 1) * DAY)
            out[d] = out.get(d, 0.0) + (end - a)
            a, d = end, d + 1
    return out


def wake_ups(ivs: list[tuple[float, float]], start: float, end: float) -> int:
    """How many times the compute was woken within [start, end)."""
    return sum(1 for a, _ in ivs if start <= a < end)


def cu_hours(seconds: float, compute_units: float) -> float:
    return seconds / 3600.0 * compute_units
