"""The governor's decisions and the projections they read (pure, table-tested)."""

from datetime import date, datetime, timezone

import pytest

from shared.usage.governor import Decisions, GovernorSettings, decide, level
from shared.usage.projection import project

S = GovernorSettings()


@pytest.mark.parametrize("projected, expect", [
    # nothing near a tier: the owner's baseline, nothing said
    ({"neon.cu_hours": 40, "qstash.messages": 30}, dict(rss_urgent=True, post_grid_minutes=10, rss_window_minutes=120,
                                                        rss_check_multiplier=1, comments_poll_minutes=10,
                                                        comments_paused=False, notices=0)),
    # the database heads for 92 %: stop waking it for each urgent item, group posts every 30 min
    ({"neon.cu_hours": 92}, dict(rss_urgent=False, post_grid_minutes=30, rss_window_minutes=120, notices=2)),
    # past the tier: longer processing windows, posts grouped hourly
    ({"neon.cu_hours": 112}, dict(rss_urgent=False, post_grid_minutes=60, rss_window_minutes=240, notices=3)),
    ({"neon.cu_hours": 130}, dict(rss_window_minutes=480)),
    # per-check costs (QStash, Redis, invocations, CPU): fewer feed checks and comment polls
    ({"qstash.messages": 95}, dict(rss_check_multiplier=2, comments_poll_minutes=20, comments_paused=False,
                                   rss_urgent=True, notices=2)),
    ({"redis.commands": 107}, dict(rss_check_multiplier=3, comments_poll_minutes=30, comments_paused=False)),
    ({"fn.cpu_ms": 125}, dict(rss_check_multiplier=4, comments_paused=True, notices=3)),
    # unknown projection (no tier) is no pressure
    ({"qstash.messages": None}, dict(rss_check_multiplier=1, notices=0)),
])
def test_levers_follow_the_projection(projected, expect):
    d = decide(projected, S)
    for key, value in expect.items():
        if key == "notices":
            assert len(d.notices) == value, d.notices
        else:
            assert getattr(d, key) == value, (key, d)


def test_every_notice_names_the_resource_and_its_projection():
    d = decide({"neon.cu_hours": 112, "qstash.messages": 97}, S)
    assert d.degraded
    assert any("Neon compute (CU-hours) projected at 112 %" in n for n in d.notices)
    assert any("QStash messages projected at 97 %" in n for n in d.notices)


def test_levels_hold_until_the_projection_is_clearly_lower():
    assert level(91, 0, 90) == 1
    assert level(88, 1, 90) == 1  # within the hysteresis band: held
    assert level(79, 1, 90) == 0
    assert level(106, 1, 90) == 2
    assert level(96, 2, 90) == 2  # level 2 starts at 105: held down to 95
    assert level(94, 2, 90) == 1
    assert level(60, 3, 90) == 0
    d1 = decide({"neon.cu_hours": 91}, S)
    d2 = decide({"neon.cu_hours": 85}, S, d1)
    assert d2.rss_urgent is False and d2.levels["neon.cu_hours"] == 1
    d3 = decide({"neon.cu_hours": 70}, S, d2)
    assert d3.rss_urgent is True and not d3.degraded


def test_the_owner_chooses_which_levers_may_be_pulled():
    s = GovernorSettings.from_settings({"usageGovernorLevers": {"pauseComments": False, "batchPosts": False}})
    d = decide({"fn.cpu_ms": 130, "neon.cu_hours": 95}, s)
    assert d.comments_paused is False and d.post_grid_minutes == 10
    assert d.rss_urgent is False  # delayRssProcessing is still allowed
    assert any("not allowed by the owner" in h and "paused" in h for h in d.held_back)
    assert any("not allowed by the owner" in h and "grouped" in h for h in d.held_back)


def test_alert_only_never_slows_anything_down():
    s = GovernorSettings.from_settings({"usageGovernor": "alert_only"})
    d = decide({"neon.cu_hours": 150, "qstash.messages": 150}, s)
    assert not d.degraded and d.rss_urgent and d.rss_check_multiplier == 1
    assert d.held_back and "only alerts" in d.held_back[0]


def test_settings_are_read_defensively():
    s = GovernorSettings.from_settings({"usageDegradePercent": "nonsense", "rssProcessingWindowMinutes": 1000,
                                        "postAlignMinutes": 0, "usageGovernor": "off?", "rssUrgentProcessing": False})
    assert s.degrade_at == 90 and s.rss_window_minutes == 480 and s.post_grid_minutes == 1
    assert s.mode == "auto" and s.rss_urgent is False


def test_decisions_round_trip_through_json():
    d = decide({"neon.cu_hours": 112, "redis.commands": 96}, S)
    assert Decisions.from_dict(d.as_dict()) == d


NOON = datetime(2026, 11, 16, 12, tzinfo=timezone.utc)


def test_month_projection_uses_the_last_seven_days_or_todays_pace_when_higher():
    history = {date(2026, 11, d): 100.0 for d in range(1, 16)}
    p = project({**history, date(2026, 11, 16): 50.0}, NOON, period="month", limit=10_000)
    assert p.daily_rate == 100.0  # today's pace (50 by noon = 100 a day) is not higher
    assert p.month_projected == pytest.approx(1500 + 50 + 0.5 * 100 + 14 * 100)
    busy = project({**history, date(2026, 11, 16): 150.0}, NOON, period="month", limit=10_000)
    assert busy.daily_rate == 300.0  # a busy day raises the rate at once
    assert busy.projected_percent == pytest.approx((1500 + 150 + 150 + 14 * 300) / 100)


def test_daily_tier_projection_is_per_day():
    p = project({date(2026, 11, 15): 400.0, date(2026, 11, 16): 300.0}, NOON, period="day", limit=1000)
    assert p.percent == 30.0
    assert p.projected_percent == pytest.approx(60.0)  # 300 by noon: 600 by midnight


def test_first_day_pace_is_not_extrapolated_from_the_first_minutes():
    early = datetime(2026, 11, 1, 0, 20, tzinfo=timezone.utc)
    p = project({date(2026, 11, 1): 10.0}, early, period="month", limit=3000)
    assert p.daily_rate == pytest.approx(60.0)  # a quarter-hour burst is read over at least 4 hours


def test_levels_are_not_summed():
    p = project({date(2026, 11, 14): 3e9, date(2026, 11, 16): 4e9}, NOON, period="month", limit=10e9, level=True)
    assert p.month_to_date == 4e9 and p.projected_percent == 40.0
