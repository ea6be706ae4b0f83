"""The clock that scheduling and the usage meter read: real time, unless a simulation shifts it.

Production never sets anything here: `time()` is `time.time()` plus an offset of 0. The 24-hour day simulation
(bench/day_simulation.py) runs a day in minutes by jumping the clock forward whenever every process is idle;
the processes it starts read the current offset (seconds, as text) from the file named by
`SCRENDLY_CLOCK_FILE`, and the simulation's own process sets it with `set_offset`. Only code that decides
*when* things happen (due feeds, dispatch, posting slots, usage days) reads this clock; timestamps the
database writes with `now()` stay real.
"""

from __future__ import annotations

import os
import time as _time
from datetime import datetime, timezone

_offset: float | None = None  # set in-process by a simulation; None: look at the file, if any
_fd: int | None = None
_path: str | None = None


def _file_offset() -> float:
    global _fd, _path
    path = os.environ.get("SCRENDLY_CLOCK_FILE")
    if not path:
        return 0.0
    if _fd is None or path != _path:
        _fd, _path = os.open(path, os.O_RDONLY), path
    raw = os.pread(_fd, 64, 0)
    try:
        return float(raw.decode().strip() or 0)
    except ValueError:  # caught mid-write: the writer replaces the whole value in one write, read again
        return float(os.pread(_fd, 64, 0).decode().strip() or 0)


def offset() -> float:
    return _offset if _offset is not None else _file_offset()


def time() -> float:
    """Seconds since the epoch, like time.time()."""
    return _time.time() + offset()


def now() -> datetime:
    return datetime.fromtimestamp(time(), timezone.utc)


def set_offset(seconds: float | None) -> None:
    """In-process override (a simulation's driver); None goes back to the file/real time."""
    global _offset
    _offset = seconds
