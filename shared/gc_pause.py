"""The cyclic garbage collector paused around one-off bulk imports (what a cold instance's first request pays).

Importing psycopg or a router module creates thousands of objects that live as long as the process; the
collections their creation triggers find nothing to free and cost ~10 % of the import (psycopg + psycopg_pool:
~4 ms of ~40 ms CPU here). functions/api.py pauses the collector the same way while the app is built. Pauses
nest and may overlap across threads (a request's router import on the event loop while a worker imports
psycopg): the collector is enabled again when the last one ends, and only if it was enabled when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
