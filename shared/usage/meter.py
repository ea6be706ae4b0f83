"""Counts billed units in process, where they are spent; they are written out once per invocation.

Counting must cost nothing on the hot path: a dict update under a lock, no I/O. Unit names are dotted
`<provider>.<unit>` strings, e.g. `redis.commands`, `qstash.messages`, `pg.queries`, `b2.class_b`, `b2.class_c`,
`openai.tokens`, `serper.calls`, `tmdb.calls`, `fn.invocations`, `fn.cpu_ms`.

Each count is kept under the UTC day it was spent on (providers reset daily tiers at UTC midnight), so a batch
flushed after midnight still lands on the right day. Besides counters:
- gauges (`gauge`): a level measured now, e.g. `b2.stored_bytes`; the last value of a day wins;
- Postgres activity spans (`query_at`): Neon's compute stays up until 5 minutes after the last query, so the
  meter keeps, per process, the spans of back-to-back queries ([first, last] with no gap over 5 minutes);
  the awake time is derived later from every process's spans (shared/usage/awake.py).

`take()` hands everything counted since the last take to a flusher (shared/usage/flush.py) and resets;
`restore()` puts a batch back when a flush failed, so nothing is lost.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from shared import clock

AWAKE_TAIL_SECONDS = 300.0  # Neon suspends a compute after 5 minutes without a query (field-notes §4 / neon.md)
_DAY = 86400

_lock = threading.Lock()
_pending: defaultdict[tuple[int, str], float] = defaultdict(float)  # counts may be fractional (CPU ms)
_gauges: dict[tuple[int, str], float] = {}
_spans: list[list[float]] = []  # [start, end] of back-to-back queries in this process, oldest first
_last_query: float = 0.0


@dataclass
class Batch:
    """What one flush writes: counters by (epoch day, unit), gauges by (epoch day, unit), query spans."""

    counts: dict[tuple[int, str], float] = field(default_factory=dict)
    gauges: dict[tuple[int, str], float] = field(default_factory=dict)
    spans: list[tuple[float, float]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.counts or self.gauges or self.spans)

    def totals(self) -> dict[str, float]:
        out: defaultdict[str, float] = defaultdict(float)
        for (_, unit), n in self.counts.items():
            out[unit] += n
        return dict(out)


def epoch_day(t: float) -> int:
    return int(t // _DAY)


def count(unit: str, n: float = 1) -> None:
    """Record `n` units of `unit` spent just now."""
    if n:
        key = (epoch_day(clock.time()), unit)
        with _lock:
            _pending[key] += n


def gauge(unit: str, value: float) -> None:
    """Record a level measured just now (the day's last measurement is kept)."""
    key = (epoch_day(clock.time()), unit)
    with _lock:
        _gauges[key] = float(value)


def query_at(t: float | None = None) -> None:
    """A Postgres statement ran at `t` (now by default): count it and extend this process's activity span."""
    global _last_query
    t = clock.time() if t is None else t
    key = (epoch_day(t), "pg.queries")
    with _lock:
        _pending[key] += 1
        if _spans and t - _spans[-1][1] <= AWAKE_TAIL_SECONDS and t >= _spans[-1][0]:
            _spans[-1][1] = max(_spans[-1][1], t)
        else:
            _spans.append([t, t])
        _last_query = max(_last_query, t)


def last_query() -> float:
    """When this process last ran a Postgres statement (0 if never)."""
    return _last_query


def take() -> dict[str, float]:
    """The units counted since the last take, and reset (totals by unit, for callers that only need those)."""
    return take_batch().totals()


def take_batch() -> Batch:
    with _lock:
        batch = Batch(counts=dict(_pending), gauges=dict(_gauges), spans=[(s[0], s[1]) for s in _spans])
        _pending.clear()
        _gauges.clear()
        # the newest span may still grow (more queries in this invocation); it is handed out as it is now and a
        # later query starts a new span overlapping its tail, which the awake computation merges
        _spans.clear()
    return batch


def restore(batch: Batch) -> None:
    """Put back a batch whose flush failed (its counts add to whatever was counted meanwhile)."""
    with _lock:
        for key, n in batch.counts.items():
            _pending[key] += n
        for key, v in batch.gauges.items():
            _gauges.setdefault(key, v)
        _spans[:0] = [[a, b] for a, b in batch.spans]


def peek() -> Batch:
    """A copy of what is pending, without taking it (tests, the flush decision)."""
    with _lock:
        return Batch(counts=dict(_pending), gauges=dict(_gauges), spans=[(s[0], s[1]) for s in _spans])
