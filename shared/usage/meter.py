"""Counts billed units in process, where they are spent; they are written out once per invocation.

Counting must cost nothing on the hot path: a dict update under a lock, no I/O. Unit names are dotted
`<provider>.<unit>` strings, e.g. `redis.commands`, `qstash.messages`, `pg.queries`, `b2.class_b`, `b2.class_c`,
`openai.tokens`, `serper.calls`, `tmdb.calls`, `fn.invocations`, `fn.cpu_ms`.
"""

from __future__ import annotations

import threading
from collections import Counter

_lock = threading.Lock()
_pending: Counter[str] = Counter()


def count(unit: str, n: float = 1) -> None:
    """Record `n` units of `unit` spent just now."""
    if n:
        with _lock:
            _pending[unit] += n


def take() -> dict[str, float]:
    """The units counted since the last take, and reset (the flusher calls this once per invocation)."""
    with _lock:
        out = dict(_pending)
        _pending.clear()
    return out
