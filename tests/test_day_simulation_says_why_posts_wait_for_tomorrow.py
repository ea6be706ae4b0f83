"""The day simulation says why a platform's posts went out after the simulated day (bench/_sim_posts.py): the live
scenarios' fakes accepted 27 Facebook posts against 32 elsewhere because Facebook's daily quota (frontend
contract: "Daily quotas: X 50, Threads 100, Facebook 25, Pinterest 100") put the local day's 26th and later posts
on the next day. The posts here are placed by production's own rules (shared/rss/schedule.py `place`), as the
RSS queue places them, with the owner's default settings."""

from datetime import datetime, timedelta, timezone

from bench._sim_posts import held_past
from shared.rss.schedule import PostingRules, place
from shared.settings.inventory import DEFAULTS

UTC = timezone.utc
PLATFORMS = ("facebook", "pinterest", "threads", "x")
DAY = datetime(2026, 12, 1, tzinfo=UTC)  # the simulated window: one UTC day
END = DAY + timedelta(days=1)


def default_rules() -> PostingRules:
    return PostingRules.from_settings(dict(DEFAULTS))


def plan_day(arrivals: list[datetime], rules: PostingRules) -> list[tuple[str, str, datetime]]:
    """Each item placed on every platform at its arrival; a post whose slot is before the window's end went out
    (`posted`), a later one waits (`planned`)."""
    rows: list[tuple[str, str, datetime]] = []
    for at in arrivals:
        for p in PLATFORMS:
            slot = place(p, at, [s for q, _, s in rows if q == p], rules, horizon=timedelta(days=7))
            rows.append((p, "posted" if slot < END else "planned", slot))
    return rows


def test_defaults_are_the_contracts_quotas():
    r = default_rules()
    assert r.tz.key == "Africa/Lagos" and (r.quiet_start, r.quiet_end) == (0, 7)
    assert [r.quota(p) for p in ("x", "threads", "facebook", "pinterest")] == [50, 100, 25, 100]


def test_facebooks_quota_holds_five_of_thirty_posts_for_the_next_day():
    rules = default_rules()
    # 30 items in the day's daylight (08:00-22:40 UTC, 07:00-23:40 in Lagos), every 30 minutes
    arrivals = [DAY + timedelta(hours=8, minutes=30 * i) for i in range(30)]
    rows = plan_day(arrivals, rules)
    sent = {p: sum(1 for q, s, _ in rows if q == p and s == "posted") for p in PLATFORMS}
    assert sent == {"facebook": 25, "pinterest": 30, "threads": 30, "x": 30}
    why = held_past(rows, rules, END)
    assert list(why) == ["facebook"]
    assert why["facebook"].startswith("5 at 2026-12-02 07:00-07:40 Africa/Lagos: dailyQuotaFacebook = 25: the 25 "
                                      "slots of 2026-12-01 (local day) were all taken")
    assert why["facebook"].endswith("from the end of its quiet hours (07:00)")


def test_an_item_in_quiet_hours_waits_for_their_end_on_every_platform():
    rules = default_rules()
    late = DAY + timedelta(hours=23, minutes=30)  # 00:30 in Lagos: quiet hours
    rows = plan_day([DAY + timedelta(hours=12), late], rules)
    why = held_past(rows, rules, END)
    assert set(why) == set(PLATFORMS)
    assert all(w == "1 at 2026-12-02 07:00 Africa/Lagos: quiet hours 00:00-07:00 local: planned for their end "
               "(items that arrived late in the window)" for w in why.values())


def test_nothing_to_say_when_every_post_went_out():
    rules = default_rules()
    rows = plan_day([DAY + timedelta(hours=9 + i) for i in range(10)], rules)
    assert held_past(rows, rules, END) == {}
    # sent or dropped posts hold nothing back
    assert held_past([("facebook", "failed", END + timedelta(hours=1)), ("facebook", "cancelled", END),
                      ("facebook", "posted", END + timedelta(hours=2)),
                      ("facebook", "dry_run", END + timedelta(hours=3))], rules, END) == {}
