"""The local YouTube stand-in (shared/local/youtube.py) on a real port, at a clock the test moves, with
YOUTUBE_BASE_URL pointing at it for the test (and restored after). Not a test module."""

from __future__ import annotations

import contextlib
from datetime import datetime


class StandinClock:
    """What the stand-in reads as now: its uploads are published every few hours up to this time."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextlib.contextmanager
def youtube_at(monkeypatch, now: datetime):
    """Yields the stand-in's clock (move `.now` to let uploads appear)."""
    from shared.config import get_config
    from shared.local import youtube

    clock = StandinClock(now)
    server, yt = youtube.start(clock=clock)
    monkeypatch.setenv("YOUTUBE_BASE_URL", yt.base)
    get_config.cache_clear()
    try:
        yield clock
    finally:
        server.stop()
        get_config.cache_clear()
