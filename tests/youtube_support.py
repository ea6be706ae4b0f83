"""The local YouTube stand-in for tests: a settable clock (uploads appear as it moves) and the config pointing
at the stand-in. Not a test module."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone


class StandInClock:
    """What the stand-in takes as "now"; tests move `now` to make channels upload."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def pointed_at(yt, monkeypatch):
    """YOUTUBE_BASE_URL set to the stand-in for the test, the config re-read on both sides. Adding a channel arms
    its first check for now with a QStash wake-up; a live API an earlier test started would receive it and check
    the channel in a tick of its own, beside the test's own checks: the wake-ups are not sent here."""
    from shared.config import get_config
    from shared.scheduling import dispatch

    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    monkeypatch.setenv("YOUTUBE_BASE_URL", yt.base)
    get_config.cache_clear()
    try:
        yield
    finally:
        monkeypatch.delenv("YOUTUBE_BASE_URL")
        get_config.cache_clear()
