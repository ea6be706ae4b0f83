"""Slotting TMDb posts into the owner's day: priority, the global 60-minute gap, per-platform daily caps,
quiet hours, deadlines and DST change days (pure; hypothesis where ranges matter)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.tmdb.slots import (
    Request,
    SlotRules,
    Taken,
    in_quiet,
    local_instant,
    preferred_times,
    schedule,
    spread_times,
)

LAGOS = ZoneInfo("Africa/Lagos")
NY = ZoneInfo("America/New_York")


def rules(tz=LAGOS, **kw) -> SlotRules:
    return SlotRules(tz=tz, quotas=kw.pop("quotas", {"x": 50, "threads": 100}), **kw)


def reqs(module: str, n: int, platforms=("x", "threads"), release: date | None = None,
         prefix: str = "") -> list[Request]:
    return [Request(ref=f"{prefix}{module}{i}", module=module, platforms=platforms, release_date=release,
                    score=100 - i) for i in range(n)]


def at_local(tz, d: date, hh: int, mm: int = 0) -> datetime:
    return local_instant(d, hh, mm, tz)


def test_today_posts_start_at_nine_three_hours_apart():
    d = date(2026, 5, 20)
    now = at_local(LAGOS, d, 2)
    got = schedule(reqs("today", 5), now, [], rules())
    assert [got[f"today{i}"].astimezone(LAGOS).strftime("%H:%M") for i in range(5)] == [
        "09:00", "12:00", "15:00", "18:00", "21:00"]


def test_spread_matches_the_documented_times():
    assert spread_times(3) == [(11, 45), (15, 30), (19, 15)]
    assert spread_times(1) == [(12, 0)]
    d = date(2026, 5, 20)
    weekly = preferred_times("weekly", 4, d, LAGOS)  # < 10 items: 2 a day
    assert [t.astimezone(LAGOS).strftime("%d %H:%M") for t in weekly] == ["20 13:00", "20 18:00", "21 13:00",
                                                                            "21 18:00"]
    assert len({t.astimezone(LAGOS).date() for t in preferred_times("monthly", 15, d, LAGOS)}) == 5  # 3 a day


def test_priority_wins_a_contested_time_and_the_other_moves_by_the_gap():
    d = date(2026, 5, 20)
    now = at_local(LAGOS, d, 2)
    taken = [Taken(at_local(LAGOS, d, 9, 30), ("x",))]  # an earlier refresh's post at 09:30
    got = schedule(reqs("today", 1) + reqs("anniversary", 2, ("x",)), now, taken, rules())
    assert got["today0"].astimezone(LAGOS).strftime("%H:%M") == "10:30"  # 09:00 is within 60 min of 09:30
    anniv = sorted(got[f"anniversary{i}"] for i in range(2))
    assert all(abs(a - b) >= timedelta(minutes=60) for a in anniv for b in [got["today0"], taken[0].at])


def test_daily_cap_pushes_to_the_next_day_and_the_deadline_refuses():
    d = date(2026, 5, 20)
    now = at_local(LAGOS, d, 2)
    r = rules(quotas={"x": 2, "threads": 100})
    got = schedule(reqs("weekly", 3, ("x",), release=d + timedelta(days=5)), now, [], r)
    days = sorted(got[f"weekly{i}"].astimezone(LAGOS).date() for i in range(3))
    assert days.count(d) <= 2 and days[-1] > d
    today = schedule(reqs("today", 3, ("x",)), now, [], r)
    assert sum(1 for v in today.values() if v is None) == 1  # a third "today" post cannot move to tomorrow


def test_quiet_hours_wrap_midnight():
    d = date(2026, 5, 20)
    r = rules(quiet_start=22, quiet_end=8)
    now = at_local(LAGOS, d, 21, 30)
    got = schedule(reqs("weekly", 2, release=d + timedelta(days=6)), now, [], r)
    for t in got.values():
        assert not in_quiet(t, r) and t.astimezone(LAGOS).hour >= 8


def test_dst_change_days_give_real_distinct_instants():
    spring = date(2026, 3, 8)  # New York skips 02:00-03:00
    fall = date(2026, 11, 1)  # New York repeats 01:00-02:00
    assert local_instant(spring, 2, 30, NY).astimezone(NY).strftime("%H:%M") == "03:30"
    first = local_instant(fall, 1, 30, NY)
    assert first.astimezone(NY).fold == 0 and first == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)
    for day in (spring, fall):
        now = local_instant(day, 0, 0, NY)
        got = schedule(reqs("today", 5) + reqs("anniversary", 3), now, [], rules(tz=NY, quiet_enabled=False))
        times = sorted(v for v in got.values() if v is not None)
        assert len(times) == 8
        assert all(b - a >= timedelta(minutes=60) for a, b in itertools.pairwise(times))
        assert {t.astimezone(NY).date() for t in times} == {day}


zones = st.sampled_from(["Africa/Lagos", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata",
                         "Pacific/Auckland", "America/Sao_Paulo", "UTC"])


@settings(max_examples=60, deadline=None)
@given(zone=zones, day=st.dates(date(2025, 1, 1), date(2027, 12, 31)), hour=st.integers(0, 23),
       minute=st.integers(0, 59), counts=st.tuples(*(st.integers(0, 6) for _ in range(4))),
       quiet=st.tuples(st.booleans(), st.integers(0, 23), st.integers(0, 23)),
       cap=st.integers(1, 8), existing=st.lists(st.integers(0, 48 * 60), max_size=5))
def test_every_placement_keeps_the_gap_caps_quiet_hours_and_deadlines(zone, day, hour, minute, counts, quiet, cap,
                                                                      existing):
    tz = ZoneInfo(zone)
    now = local_instant(day, hour, minute, tz)
    r = SlotRules(tz=tz, quotas={"x": cap, "threads": cap}, quiet_enabled=quiet[0], quiet_start=quiet[1],
                  quiet_end=quiet[2])
    taken = [Taken(now + timedelta(minutes=m), ("x",)) for m in existing]
    requests = []
    for module, n in zip(("today", "weekly", "monthly", "anniversary"), counts):
        release = day + timedelta(days={"today": 0, "weekly": 4, "monthly": 25, "anniversary": 0}[module])
        requests += reqs(module, n, ("x",) if module == "anniversary" else ("x", "threads"), release)
    got = schedule(requests, now, taken, r)
    assert set(got) == {q.ref for q in requests}
    placed = [(t, q) for q in requests if (t := got[q.ref]) is not None]
    everything = sorted([t for t, _ in placed] + [t.at for t in taken])
    for t, q in placed:
        assert t >= now - timedelta(minutes=1)
        assert not in_quiet(t, r)
        assert all(abs(t - o) >= timedelta(minutes=60) for o in everything if o is not t)
        last = q.release_date if q.module in ("weekly", "monthly") else day
        assert t.astimezone(tz).date() <= last
    per_day: dict = {}
    for t, q in placed:
        for p in q.platforms:
            per_day[(p, t.astimezone(tz).date())] = per_day.get((p, t.astimezone(tz).date()), 0) + 1
    for x in taken:
        key = ("x", x.at.astimezone(tz).date())
        per_day[key] = per_day.get(key, 0) + 1
    placed_days = {(p, t.astimezone(tz).date()) for t, q in placed for p in q.platforms}
    assert all(per_day[k] <= cap for k in placed_days)
