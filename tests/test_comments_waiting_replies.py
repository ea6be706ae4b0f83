"""Comments a full poll had to leave waiting (reply frequency, hourly or daily cap, a platform's ceiling, the poll's
time budget) are answered when the limit lifts: the poll arms itself again for them, because the peeks in
between only look for new comments. And a run is counted once per look, whatever it turns into."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from publishing_fakes.comments_world import (  # noqa: F401  (fixtures)
    comment_settings,
    comment_world,
    connect_for_comments,
    openai_replies,
    publish_posts,
)
from publishing_fakes.world import world  # noqa: F401  (fixture)
from test_comments_dispatch import quiet, settings  # noqa: F401  (fixture)

from shared.comments import caps
from shared.comments.config import CommentSettings
from shared.comments.timing import comeback_at
from shared.scheduling import dispatch

NOW = datetime(2026, 3, 10, 15, 20, tzinfo=timezone.utc)


def test_the_reply_frequency_says_when_the_next_batch_may_go():
    cs = CommentSettings.from_settings({"commentReplyFrequency": "30min"})
    a = caps.reply_allowance("facebook", cs, caps.ReplyUsage(last_batch_at=NOW - timedelta(minutes=10)), NOW)
    assert a.count == 0 and a.resume_at == NOW + timedelta(minutes=20)


def test_a_daily_cap_lifts_at_the_owners_midnight_and_youtubes_at_pacific_midnight():
    cs = CommentSettings.from_settings({"commentDailyReplyCaps": {"facebook": 2}, "timezone": "Europe/Berlin"})
    a = caps.reply_allowance("facebook", cs, caps.ReplyUsage(today=2), NOW)
    assert a.count == 0 and a.resume_at == datetime(2026, 3, 10, 23, 0, tzinfo=timezone.utc)  # 00:00 in Berlin
    yt = caps.reply_allowance("youtube", cs, caps.ReplyUsage(youtube_units_today=caps.YOUTUBE_DAILY_UNITS), NOW)
    assert yt.count == 0 and yt.resume_at == datetime(2026, 3, 11, 7, 0, tzinfo=timezone.utc)  # 00:00 PDT


def test_sliding_caps_have_no_calendar_time_and_the_latest_of_several_limits_wins():
    cs = CommentSettings.from_settings({"commentThrottle": "low", "commentDailyReplyCaps": {"facebook": 2}})
    hourly = caps.reply_allowance("facebook", cs, caps.ReplyUsage(last_hour=5), NOW)
    assert hourly.count == 0 and hourly.resume_at is None  # the next window looks again
    both = caps.reply_allowance("facebook", cs, caps.ReplyUsage(last_hour=5, today=2), NOW)
    assert both.count == 0 and both.resume_at is None  # the hourly one is sliding: not the daily's midnight


def test_the_comeback_is_the_earliest_platform_limit_the_next_window_when_unknown_and_never_at_once():
    now = NOW.timestamp()
    window = now + 1200
    assert comeback_at({"facebook": {"replies": {"sent": 3, "waiting": 0}}}, now, window) is None
    assert comeback_at({"facebook": {"replies": {"waiting": 2, "resumeAt": None}}}, now, window) == window
    assert comeback_at({"facebook": {"replies": {"waiting": 2, "resumeAt": now + 300}},
                        "youtube": {"replies": {"waiting": 1, "resumeAt": now + 9000}}}, now, window) == now + 300
    assert comeback_at({"x": {"replies": {"waiting": 1, "resumeAt": now}}}, now, window) == now + 60
    assert comeback_at({"x": {"error": "reading failed"}}, now, window) is None


def _run_now() -> dict:
    dispatch.arm([("comments.run", "all", time.time())], wake=False)
    return dispatch.tick()


def test_comments_held_by_the_reply_frequency_are_answered_when_it_lifts(quiet, comment_world, db):
    from shared import clock

    w = comment_world
    connect_for_comments(w, "facebook")
    post = publish_posts(w, ["facebook"], tag="wait")["facebook"]
    settings(**comment_settings(commentReplyFrequency="15min"))
    w.meta.add_fb_comment(post, "When is the release date?")
    _run_now()  # the first batch goes
    time.sleep(1.1)
    w.meta.add_fb_comment(post, "Is there a post-credits scene?")
    report = _run_now()  # found, but the next batch is due in 15 minutes
    assert report["comments"]["facebook"]["new"] == 1
    statuses = sorted(r["status"] for r in db.execute("SELECT status FROM comments"))
    assert statuses == ["pending", "replied"]
    at = dispatch.pending("comments.run")["comments.run|all"]
    assert clock.time() + 14 * 60 < at <= clock.time() + 15 * 60  # not 6 hours away at the next full poll
    clock.set_offset(at + 1 - time.time())
    dispatch.tick()
    assert sorted(r["status"] for r in db.execute("SELECT status FROM comments")) == ["replied", "replied"]
    assert not dispatch.pending("comments.run")  # nothing waits: no further run


def test_a_run_is_counted_once_per_look_not_again_for_the_full_poll_it_asks_for(quiet, comment_world,
                                                                                 redis_raw):
    from shared.usage import meter

    connect_for_comments(comment_world, "facebook")
    settings(**comment_settings())
    meter.take_batch()
    redis_raw.hset(dispatch.META_KEY, "comments.last_poll", f"{time.time() - 3600:.3f}")
    dispatch.arm([("comments.poll", "all", time.time())], wake=False)
    first = dispatch.tick()  # a look: no copy yet, so it asks for the full poll
    assert first.get("comments.peeked") == 1 and dispatch.pending("comments.run")
    _run_now()  # the full poll it asked for
    counts = meter.take_batch().counts
    assert sum(n for (_day, name), n in counts.items() if name == "comments.runs") == 1, counts


def test_comments_over_the_daily_cap_come_back_at_the_owners_midnight(quiet, comment_world, db):
    from shared import clock

    w = comment_world
    connect_for_comments(w, "facebook")
    post = publish_posts(w, ["facebook"], tag="cap")["facebook"]
    settings(**comment_settings(commentDailyReplyCaps={"facebook": 1}, timezone="UTC"))
    w.meta.add_fb_comment(post, "When is the release date?")
    w.meta.add_fb_comment(post, "Is there a post-credits scene?")
    _run_now()
    assert sorted(r["status"] for r in db.execute("SELECT status FROM comments")) == ["pending", "replied"]
    midnight = (int(clock.time() // 86400) + 1) * 86400.0  # the owner's (UTC) day ends: the cap lifts
    assert dispatch.pending("comments.run") == {"comments.run|all": midnight}
