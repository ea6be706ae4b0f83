"""The comment poll on the dispatcher: idle costs no database and no QStash message (it looks again hourly, on the
safety net's tick); switched on, it polls on its grid at its interval (the owner's, or the governor's slower one),
in the window its due item opens; paused by the governor, it does not poll."""

from __future__ import annotations

import json
import time

import pytest
from budget_helpers import no_database

from publishing_fakes.comments_world import (  # noqa: F401  (fixtures)
    comment_settings, comment_world, connect_for_comments, openai_replies, publish_posts,
)
from publishing_fakes.world import world  # noqa: F401  (fixture)
from shared import clock
from shared.rss.feedstate import grid_at_or_after, next_on_grid
from shared.scheduling import dispatch


def settings(**values):
    from shared.settings.service import update_settings

    update_settings(values)


@pytest.fixture()
def quiet(clean_state):
    """The other kinds' bootstrap work is done (RSS mirror, housekeeping): only comments are in play."""
    from shared.redis_client import get_redis

    dispatch.kinds()
    far = repr(time.time() + 86400)
    get_redis().hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far})
    yield
    clock.set_offset(None)


def at(epoch: float) -> None:
    clock.set_offset(epoch - time.time())


def poll_item() -> float:
    return dispatch.pending("comments.poll")["comments.poll|all"]


def test_idle_poll_touches_no_database_sends_no_message_and_looks_again_hourly(quiet, backing, monkeypatch):
    settings(commentRepliesActive=False)  # the save rebuilds the switch and arms the poll hourly
    hour = next_on_grid(time.time(), 3600)
    assert poll_item() == hour
    published = backing.emulator.state.published_count
    no_database(monkeypatch)
    for k in range(24):  # a whole idle day, one hourly safety-net tick after another
        at(hour + k * 3600 + 0.5)
        report = dispatch.tick()
        assert report["window"] is False and report.get("ran.comments.poll") == 1
        assert poll_item() == hour + (k + 1) * 3600
    assert backing.emulator.state.published_count == published  # the hourly schedule reaches every look


def test_missing_switch_is_rebuilt_in_a_window_then_polls_on_the_grid(quiet, comment_world, redis_raw, db):
    w = comment_world
    connect_for_comments(w, "facebook")
    post = publish_posts(w, ["facebook"], tag="dispatch")["facebook"]
    w.meta.add_fb_comment(post, "When is the release date?")
    settings(**comment_settings())
    redis_raw.delete(dispatch.META_KEY)  # Redis lost everything the dispatcher kept
    redis_raw.delete(dispatch.DUE_KEY)
    from shared.redis_client import get_redis

    far = repr(time.time() + 86400)
    get_redis().hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far})
    report = dispatch.tick()  # no poll armed: the bootstrap hook looks, the switch is rebuilt in a window
    assert report["window"] is True and report.get("ran.comments.sync") == 1
    assert json.loads(redis_raw.hget(dispatch.META_KEY, "comments.switch"))["platforms"] == ["facebook"]
    nxt = poll_item()
    assert nxt == grid_at_or_after(clock.time() + 60, 600)
    at(nxt + 0.5)
    report = dispatch.tick()
    assert report.get("ran.comments.run") == 1 and report["comments"]["facebook"]["new"] == 1
    assert db.execute("SELECT count(*) AS n FROM comments").fetchone()["n"] == 1
    assert [p["reply_to"] for p in w.meta.posts if p.get("kind") == "fb_reply"]  # answered
    assert float(redis_raw.hget(dispatch.META_KEY, "comments.last_poll")) == pytest.approx(clock.time(), abs=60)
    assert poll_item() == nxt + 600


def test_enabled_poll_runs_at_its_interval_and_not_before(quiet, comment_world, db, monkeypatch):
    w = comment_world
    connect_for_comments(w, "instagram")
    settings(**comment_settings(commentPollInterval="20"))
    first = poll_item()
    assert first == grid_at_or_after(time.time() + 60, 1200)  # the save armed it on the 20-minute grid
    at(first + 0.5)
    report = dispatch.tick()
    assert report.get("ran.comments.run") == 1 and report["window"] is True
    assert poll_item() == first + 1200
    # a wake-up before the interval has passed (a redelivery, an item moved by hand): no poll, no database
    dispatch.arm([("comments.poll", "all", first + 600)], wake=False)
    at(first + 600.5)
    with monkeypatch.context() as m:
        no_database(m)
        report = dispatch.tick()
    assert report.get("ran.comments.poll") == 1 and report.get("comments.idle") == 1 and report["window"] is False
    assert poll_item() == first + 1200


def test_governor_slows_then_pauses_the_poll(quiet, comment_world, redis_raw, monkeypatch):
    from shared.usage.governor import Decisions

    connect_for_comments(comment_world, "instagram")
    settings(**comment_settings())
    first = poll_item()
    slow = Decisions(comments_poll_minutes=30).as_dict()
    redis_raw.hset(dispatch.META_KEY, "governor", json.dumps(slow))
    at(first + 0.5)
    report = dispatch.tick()
    assert report.get("ran.comments.run") == 1
    assert poll_item() == grid_at_or_after(first + 1800 - 60, 1800)  # the governor's 30 min, not the owner's 10
    paused = Decisions(comments_paused=True).as_dict()
    redis_raw.hset(dispatch.META_KEY, "governor", json.dumps(paused))
    nxt = poll_item()
    at(nxt + 0.5)
    with monkeypatch.context() as m:
        no_database(m)
        report = dispatch.tick()
    assert report.get("comments.paused") == 1 and report.get("ran.comments.run") is None
    assert poll_item() == next_on_grid(clock.time(), 3600)
