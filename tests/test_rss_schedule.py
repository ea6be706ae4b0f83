"""Schedule placement: per-platform gap, daily quota, quiet hours across midnight and DST, event-driven vs spaced."""

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rss.schedule import NoSlot, PostingRules, in_quiet_hours, local_day, place

UTC = timezone.utc
LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1, no DST
NY = ZoneInfo("America/New_York")


def rules(**kw):
    base = {"tz": LAGOS, "min_gap": timedelta(minutes=10), "quiet_enabled": True, "quiet_start": 0, "quiet_end": 7,
                "event_driven": True}
    base.update(kw)
    return PostingRules(**base)


def lagos(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=LAGOS).astimezone(UTC)


def test_lone_post_goes_now_in_daytime():
    now = lagos(2026, 3, 2, 12, 0)
    assert place("x", now, [], rules()) == now


def test_gap_from_existing_post():
    now = lagos(2026, 3, 2, 12, 0)
    assert place("x", now, [now - timedelta(minutes=4)], rules()) == now + timedelta(minutes=6)


def test_event_driven_fills_a_hole_spaced_appends():
    now = lagos(2026, 3, 2, 12, 0)
    taken = [now + timedelta(minutes=30)]
    assert place("x", now, taken, rules()) == now
    assert place("x", now, taken, rules(event_driven=False)) == now + timedelta(minutes=40)


def test_quiet_hours_wrap_past_midnight():
    r = rules(quiet_start=22, quiet_end=6)
    assert place("x", lagos(2026, 3, 2, 23, 30), [], r) == lagos(2026, 3, 3, 6, 0)
    assert place("x", lagos(2026, 3, 3, 1, 0), [], r) == lagos(2026, 3, 3, 6, 0)
    assert place("x", lagos(2026, 3, 3, 21, 59), [], r) == lagos(2026, 3, 3, 21, 59)


def test_quiet_hours_disabled_or_empty():
    t = lagos(2026, 3, 3, 3, 0)
    assert place("x", t, [], rules(quiet_enabled=False)) == t
    assert place("x", t, [], rules(quiet_start=5, quiet_end=5)) == t


def test_quota_moves_to_next_local_day_then_respects_quiet_hours():
    day = lagos(2026, 3, 2, 8, 0)
    taken = [day + timedelta(minutes=15 * i) for i in range(3)]
    r = rules(quotas={"x": 3})
    assert place("x", lagos(2026, 3, 2, 18, 0), taken, r) == lagos(2026, 3, 3, 7, 0)
    # another platform is unaffected by x's quota
    assert place("threads", lagos(2026, 3, 2, 18, 0), taken, r) == lagos(2026, 3, 2, 18, 0)


def test_zero_quota_has_no_slot():
    with pytest.raises(NoSlot):
        place("x", lagos(2026, 3, 2, 8, 0), [], rules(quotas={"x": 0}))


def test_quiet_end_on_spring_forward_night_new_york():
    # 2026-03-08: 02:00 local does not exist in New York (jumps to 03:00)
    r = rules(tz=NY, quiet_start=0, quiet_end=2)
    start = datetime(2026, 3, 8, 1, 30, tzinfo=NY).astimezone(UTC)
    got = place("x", start, [], r)
    assert got.astimezone(NY).hour == 3 and got.astimezone(NY).date().day == 8
    assert not in_quiet_hours(got, r)


def test_quiet_hours_on_fall_back_night_new_york():
    # 2026-11-01: 01:00-02:00 happens twice; quiet 0-7 ends at 07:00 EST, i.e. 12:00 UTC
    r = rules(tz=NY, quiet_start=0, quiet_end=7)
    start = datetime(2026, 11, 1, 0, 30, tzinfo=NY).astimezone(UTC)
    assert place("x", start, [], r) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_quota_day_boundary_uses_owner_timezone():
    # 23:30 UTC is already the next day in Lagos: yesterday's (UTC) posts don't count there
    r = rules(quotas={"x": 1}, quiet_enabled=False)
    taken = [datetime(2026, 3, 2, 22, 0, tzinfo=UTC)]  # 23:00 Lagos on the 2nd
    t = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 Lagos on the 3rd
    assert place("x", t, taken, r) == t


def test_rules_from_settings():
    r = PostingRules.from_settings({"timezone": "Europe/London", "rssPostingInterval": "15", "dailyQuotaX": 3,
                                    "quietHoursEnabled": False, "rssEventDrivenPosting": False})
    assert r.tz.key == "Europe/London" and r.min_gap == timedelta(minutes=15) and r.quota("x") == 3
    assert not r.quiet_enabled and not r.event_driven
    assert PostingRules.from_settings({"timezone": "Not/AZone"}).tz.key == "UTC"


ZONES = [ZoneInfo(z) for z in ("Africa/Lagos", "America/New_York", "Europe/London", "Australia/Sydney", "UTC",
                                "Asia/Kolkata")]


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    offsets=st.lists(st.integers(min_value=-600, max_value=3000), max_size=25),
    gap=st.integers(min_value=0, max_value=90),
    quota=st.integers(min_value=1, max_value=8),
    qs=st.integers(min_value=0, max_value=23), qe=st.integers(min_value=0, max_value=23),
    quiet=st.booleans(), event=st.booleans(),
)
def test_placement_properties(tz, start, offsets, gap, quota, qs, qe, quiet, event):
    now = start.replace(tzinfo=UTC, microsecond=0)
    taken = [now + timedelta(minutes=o) for o in offsets]
    r = PostingRules(tz=tz, min_gap=timedelta(minutes=gap), quotas={"x": quota}, quiet_enabled=quiet,
                     quiet_start=qs, quiet_end=qe, event_driven=event)
    t = place("x", now, taken, r)
    assert t >= now
    assert not in_quiet_hours(t, r)
    assert all(abs(t - s) >= r.min_gap for s in taken)
    assert sum(1 for s in taken if local_day(s, tz) == local_day(t, tz)) < quota
    if not event and taken:
        assert t >= max(taken) + r.min_gap


@settings(max_examples=100, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       n=st.integers(min_value=1, max_value=30), gap=st.integers(min_value=1, max_value=60))
def test_sequential_placement_never_violates_rules(start, n, gap):
    """Planning n posts one after another (as the queue does) keeps every pair gap-apart."""
    r = PostingRules(tz=NY, min_gap=timedelta(minutes=gap), quotas={"x": 10})
    now = start.replace(tzinfo=UTC, microsecond=0)
    taken: list[datetime] = []
    for _ in range(n):
        taken.append(place("x", now, taken, r))
    taken.sort()
    assert all(b - a >= r.min_gap for a, b in itertools.pairwise(taken))
    days = {}
    for t in taken:
        days[local_day(t, NY)] = days.get(local_day(t, NY), 0) + 1
    assert max(days.values()) <= 10
