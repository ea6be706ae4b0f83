"""An owner timezone chosen for when the test runs, so a day boundary an assertion relies on is hours away
(daily quotas and caps reset at the owner's midnight). Not a test module."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

ZONES = ("Pacific/Honolulu", "America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "UTC",
         "Africa/Lagos", "Europe/Moscow", "Asia/Kolkata", "Asia/Bangkok", "Asia/Tokyo", "Pacific/Auckland",
         "Pacific/Kiritimati")


def owner_zone_at_midday() -> ZoneInfo:
    """A zone where it is 09:00-15:59 now."""
    return next(ZoneInfo(z) for z in ZONES if 9 <= datetime.now(ZoneInfo(z)).hour <= 15)
