"""The 11-rule filter and the score of frontend-contract §3.3, and the module dates, as table tests (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from shared.tmdb import filters, scoring
from shared.tmdb.candidate import Candidate, from_details, us_release
from shared.tmdb.filters import RuleContext, check
from shared.tmdb.modules import anniversary_targets, cycle_key, owner_today, window, years_ago

TODAY = date(2026, 5, 20)


def good(**kw) -> Candidate:
    base = dict(tmdb_id=1, media_type="movie", title="Skyline Protocol", release_date=TODAY, popularity=80.0,
                vote_count=400, vote_average=7.2, genre_ids=(28, 878), countries=("US",),
                companies=("Warner Bros. Pictures",), poster_path="/p.jpg", backdrop_path="/b.jpg",
                original_language="en", runtime=120, trending_rank=10)
    base.update(kw)
    return Candidate(**base)


def ctx(module="today", **kw) -> RuleContext:
    return RuleContext(module=module, today=TODAY, **kw)


@pytest.mark.parametrize("changes, module, reason", [
    ({}, "today", None),
    ({"countries": ("FR",)}, "today", "rule 1"),
    ({"countries": ("GB", "US")}, "today", None),
    ({"popularity": 24.9}, "today", "rule 2"),
    ({"popularity": 39.0, "trending_rank": None, "upcoming_rank": 5}, "monthly", "rule 2"),
    ({"release_date": date(2026, 5, 1), "vote_count": 299}, "today", "rule 2"),  # released: needs 300 votes
    ({"vote_count": 5}, "weekly", None),  # unreleased: votes do not matter
    ({"genre_ids": (28, 99)}, "today", "rule 3"),
    ({"genre_ids": (10402,)}, "today", "rule 3"),
    ({"genre_ids": (12345,)}, "today", "rule 3"),
    ({"companies": ("Tiny Films",), "popularity": 49.0}, "today", "rule 4"),
    ({"companies": ("Tiny Films",), "popularity": 50.0}, "today", None),
    ({"backdrop_path": None}, "today", "rule 5"),
    ({"poster_path": ""}, "today", "rule 5"),
    ({"title": "The WWE Story"}, "today", "rule 6"),
    ({"overview": "An indie festival darling."}, "today", "rule 6"),
    ({"runtime": 59}, "today", "rule 6"),
    ({"runtime": None}, "today", None),  # unknown runtime is not judged
    ({"media_type": "tv", "tv_type": "Reality", "genre_ids": (18,)}, "today", "rule 6"),
    ({"media_type": "tv", "tv_type": "Scripted", "episodes": 2, "genre_ids": (18,)}, "today", "rule 6"),
    ({"media_type": "tv", "tv_type": "Scripted", "episodes": 3, "genre_ids": (18,)}, "today", None),
    ({"popularity": 45.0, "trending_rank": 151, "upcoming_rank": 251}, "today", "rule 7"),
    ({"popularity": 45.0, "trending_rank": 150}, "today", None),
    ({"popularity": 45.0, "trending_rank": None, "upcoming_rank": 250}, "weekly", None),
    ({"popularity": 50.0, "trending_rank": None}, "weekly", None),
    ({"popularity": 59.0, "trending_rank": 1, "upcoming_rank": 301}, "monthly", "rule 7"),
    ({"popularity": 59.0, "upcoming_rank": 300}, "monthly", None),
    ({"popularity": 60.0, "trending_rank": None}, "monthly", None),
    ({"release_date": date(2016, 5, 20), "vote_count": 999, "anniversary_years": 10}, "anniversary", "rule 8"),
    ({"release_date": date(2016, 5, 20), "vote_count": 5000, "vote_average": 6.4}, "anniversary", "rule 8"),
    ({"release_date": date(2016, 5, 20), "vote_count": 5000, "budget": 9_000_000}, "anniversary", "rule 8"),
    ({"release_date": date(2016, 5, 20), "vote_count": 5000, "budget": None}, "anniversary", None),
    ({"original_language": "ko"}, "today", "language"),
])
def test_filter_rules(changes, module, reason):
    reasons = check(good(**changes), ctx(module))
    if reason is None:
        assert reasons == []
    else:
        assert reasons and reason in reasons[0], reasons


def test_only_popular_off_skips_the_popularity_rules_but_not_the_others():
    c = good(popularity=3.0, companies=("Tiny Films",), trending_rank=None)
    assert {r.split("(")[-1] for r in check(c, ctx())} == {"rule 2)", "rule 4)", "rule 7)"}
    assert check(c, ctx(only_popular=False)) == []
    assert "rule 5" in check(c.with_(backdrop_path=None), ctx(only_popular=False))[0]


def test_owner_language_and_genre_selection():
    assert check(good(original_language="ko"), ctx(language="")) == []
    assert "selected genres" in check(good(), ctx(genres=(27,)))[0]
    assert check(good(), ctx(genres=(27, 878))) == []


def test_score_table():
    # popularity 80 -> 40 × 1.5 = 60; trending 10 -> 50 - 3.33; 2 approved genres 20 + high demand 10;
    # Warner major 40 + top 20; 400 votes -30; rating 7.2 +10; releases today +15
    s = scoring.score(good(), "today", TODAY)
    assert s == pytest.approx(60 + (50 - 10 / 3) + 20 + 10 + 40 + 20 - 30 + 10 + 15, abs=0.01)
    assert scoring.score(good(), "weekly", TODAY) == pytest.approx(s - 60 + 48, abs=0.01)
    assert scoring.score(good(popularity=1000), "monthly", TODAY) - scoring.score(good(), "monthly", TODAY) == 60
    assert scoring.score(good(in_collection=True), "today", TODAY) - s == 25
    assert scoring.score(good(vote_count=1500), "today", TODAY) - s == 25  # -5 instead of -30
    assert scoring.score(good(trending_rank=None, upcoming_rank=100), "today", TODAY) == pytest.approx(
        s - (50 - 10 / 3) + 30, abs=0.01)
    assert 0 <= scoring.score(good(popularity=0, vote_count=0, genre_ids=(), companies=()), "monthly", TODAY) <= 400


def test_tie_break_orders_close_scores_by_weighted_rating():
    a = good(tmdb_id=1, vote_average=8.0, vote_count=100)
    b = good(tmdb_id=2, vote_average=6.0, vote_count=100)
    c = good(tmdb_id=3)
    ranked = scoring.rank([(b, 100.05), (a, 100.0), (c, 150.0)])
    assert [x.tmdb_id for x, _ in ranked] == [3, 1, 2]  # 0.05 apart: rating × log10(votes) decides
    ranked = scoring.rank([(b, 100.2), (a, 100.0)])
    assert [x.tmdb_id for x, _ in ranked] == [2, 1]  # 0.2 apart: the score decides
    assert scoring.confidence([300, 300], [5000, 5000]) == 1.0 and scoring.confidence([], []) == 0.0


def test_windows_in_the_owners_timezone():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    late = datetime(2026, 5, 20, 23, 30, tzinfo=timezone.utc)
    assert owner_today(late, ZoneInfo("Africa/Lagos")) == date(2026, 5, 21)  # already tomorrow in Lagos
    assert owner_today(late, ZoneInfo("America/Los_Angeles")) == date(2026, 5, 20)
    assert window("weekly", TODAY).end == date(2026, 5, 27)
    assert window("monthly", date(2026, 12, 15)) == window("monthly", date(2026, 12, 1))
    assert (window("monthly", date(2026, 12, 31)).start, window("monthly", date(2026, 12, 31)).end) == (
        date(2027, 1, 1), date(2027, 1, 31))
    assert window("monthly", date(2028, 1, 31)).end == date(2028, 2, 29)


@pytest.mark.parametrize("today, years, expected", [
    (date(2026, 5, 20), 10, [date(2016, 5, 20)]),
    (date(2027, 2, 28), 3, [date(2024, 2, 28), date(2024, 2, 29)]),  # common year: Feb 29 titles celebrate too
    (date(2027, 2, 28), 2, [date(2025, 2, 28)]),  # 2025 had no Feb 29
    (date(2028, 2, 29), 4, [date(2024, 2, 29)]),
    (date(2028, 2, 29), 3, []),  # 2025 had no Feb 29: nothing turns 3 today
    (date(2028, 2, 28), 4, [date(2024, 2, 28)]),  # a leap year's Feb 28 is only itself
    (date(2027, 1, 1), 1, [date(2026, 1, 1)]),
    (date(2026, 12, 31), 25, [date(2001, 12, 31)]),
])
def test_anniversary_dates_across_leap_days_and_year_boundaries(today, years, expected):
    assert years_ago(today, years) == expected


def test_anniversary_targets_respect_the_start_year():
    got = anniversary_targets(date(2026, 5, 20), [1, 10, 40, 10], start_year=1995)
    assert got == [(1, date(2025, 5, 20)), (10, date(2016, 5, 20))]


def test_cycle_keys_identify_one_release_per_module():
    assert cycle_key("movie", 11, "today", date(2026, 5, 20)) == "movie:11:today:2026-05-20"
    assert cycle_key("tv", 11, "today", date(2026, 5, 20)) != cycle_key("movie", 11, "today", date(2026, 5, 20))
    assert cycle_key("movie", 11, "weekly", date(2026, 5, 20)) != cycle_key("movie", 11, "today", date(2026, 5, 20))
    assert cycle_key("movie", 11, "anniversary", date(2016, 5, 20), 10) == "movie:11:anniversary:2016-05-20:y10"
    with pytest.raises(ValueError):
        cycle_key("movie", 11, "anniversary", date(2016, 5, 20))


def test_details_normalise_movies_and_tv_from_the_official_examples():
    """The example responses of TMDb's own definitions (tests/contracts/tmdb/) read as candidates."""
    import json
    from pathlib import Path

    root = Path(__file__).parent / "contracts" / "tmdb"

    def example(name, path):
        op = json.loads((root / name).read_text())["paths"][path]["get"]
        ex = next(iter(op["responses"]["200"]["content"]["application/json"]["examples"].values()))["value"]
        return json.loads(ex) if isinstance(ex, str) else ex

    movie = from_details(example("movie-details.json", "/3/movie/{movie_id}"), "movie")
    assert (movie.title, movie.release_date, movie.runtime, movie.in_collection) == (
        "Star Wars", date(1977, 5, 25), 121, True)
    assert "US" in movie.countries and "Lucasfilm Ltd." in movie.companies and filters.is_major(movie.companies)
    tv = from_details(example("tv-series-details.json", "/3/tv/{series_id}"), "tv")
    assert tv.media_type == "tv" and tv.title and tv.episodes and tv.tv_type
    rd = example("movie-release-dates.json", "/3/movie/{movie_id}/release_dates")
    assert us_release(rd) is not None
