"""Shared set-up for the TMDb tests: the validating TMDb fake on a real port, with the config pointing at it."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

ZONES = ("Pacific/Honolulu", "America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "UTC",
         "Africa/Lagos", "Europe/Moscow", "Asia/Kolkata", "Asia/Bangkok", "Asia/Tokyo", "Pacific/Auckland",
         "Pacific/Kiritimati")


def early_morning_zone(lo: int = 1, hi: int = 5) -> ZoneInfo:
    """An owner timezone where it is lo:00-hi:59 now: the whole release day (09:00 onwards) is still ahead and
    hours away from midnight, whenever the test runs."""
    return next(ZoneInfo(z) for z in ZONES if lo <= datetime.now(ZoneInfo(z)).hour <= hi)


@contextmanager
def tmdb_config(fake_url: str, **extra: str):
    """Point the TMDb client and image URLs at the fake (and restore the environment afterwards)."""
    from shared.config import get_config

    # a budget far above what one test spends: the shared limiter has its own test, the rest should not wait
    wanted = {"TMDB_API_BASE": fake_url, "TMDB_IMAGE_BASE": fake_url + "/t/p", "TMDB_RATE_LIMIT": "400", **extra}
    before = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    get_config.cache_clear()
    try:
        yield get_config()
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_config.cache_clear()


def start_fake(today, **kwargs):
    from shared.local.tmdb_fake import start

    return start(today, **kwargs)


@contextmanager
def fake_world(today, **kwargs):
    """The fake serving a catalogue around `today`, with the config pointing at it; stopped afterwards."""
    fake, server = start_fake(today, **kwargs)
    try:
        with tmdb_config(server.url):
            yield fake, server
    finally:
        server.stop()
