"""The comment poll on the dispatcher: idle costs no database and no QStash message (it looks again hourly, on the
safety net's tick); switched on, it polls on its grid at its interval (the owner's, or the governor's slower one),
in the window its due item opens; paused by the governor, it does not poll."""

from __future__ import annotations

import json
import time

import pytest
from budget_helpers import no_database
from publishing_fakes.comments_world import (  # noqa: F401  (fixtures)
    comment_settings,
    comment_world,
    connect_for_comments,
    openai_replies,
    publish_posts,
)
from publishing_fakes.comments_world import save_settings as settings
from publishing_fakes.world import world  # noqa: F401  (fixture)

from shared import clock
from shared.rss.feedstate import grid_at_or_after, next_on_grid
from shared.scheduling import dispatch


@pytest.fixture
def quiet(clean_state):
    """The other kinds' bootstrap work is done (RSS mirror, housekeeping): only comments are in play."""
    from shared.redis_client import get_redis

    dispatch.kinds()
    far = repr(time.time() + 86400)
    get_redis().hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far})
    yield
    clock.set_offset(None)
    from shared.usage import meter

    meter.take_batch()  # the polls' run counts stay in this test


def at(epoch: float) -> None:
    clock.set_offset(epoch - time.time())


def poll_item() -> float:
    return dispatch.pending("comments.poll")["comments.poll|all"]


def mid_interval(period: float) -> None:
    """Put the clock in the middle of a grid interval before a save arms the poll: the grid point expected from
    the clock after the save is the one the save used (no boundary between them)."""
    at(next_on_grid(time.time(), period) + period / 2)


def test_idle_poll_touches_no_database_sends_no_message_and_looks_again_hourly(quiet, backing, monkeypatch):
    mid_interval(3600)
    settings(commentRepliesActive=False)  # the save rebuilds the switch and arms the poll hourly
    hour = next_on_grid(clock.time(), 3600)
    assert poll_item() == hour
    published = backing.emulator.state.published_count
    no_database(monkeypatch)
    for k in range(24):  # a whole idle day, one hourly safety-net tick after another
        at(hour + k * 3600 + 0.5)
        report = dispatch.tick()
        assert report["window"] is False and report.get("ran.comments.poll") == 1
        assert poll_item() == hour + (k + 1) * 3600
    assert backing.emulator.state.published_count == published  # the hourly schedule reaches every look


def test_missing_switch_is_rebuilt_in_the_next_window_then_polls_on_the_grid(quiet, comment_world, redis_raw,
                                                                              monkeypatch):
    connect_for_comments(comment_world, "facebook")
    settings(**comment_settings())
    redis_raw.hdel(dispatch.META_KEY, "comments.switch", "comments.next")  # Redis lost the switch
    redis_raw.delete(dispatch.DUE_KEY)
    with monkeypatch.context() as m:
        no_database(m)
        report = dispatch.tick()  # no poll armed: the bootstrap hook looks; no database for it now
    assert report["window"] is False
    hour = next_on_grid(clock.time(), 3600)
    assert dispatch.pending("comments.sync") == {"comments.sync|all": hour}  # joins any window before
    at(hour + 0.5)
    report = dispatch.tick()
    assert report.get("ran.comments.sync") == 1
    assert json.loads(redis_raw.hget(dispatch.META_KEY, "comments.switch"))["platforms"] == ["facebook"]
    assert poll_item() == grid_at_or_after(clock.time() + 60, 600)  # ready: back on the 10-minute grid


def test_peeks_without_the_database_and_runs_the_full_poll_only_for_something_new(quiet, comment_world, redis_raw,
                                                                                 db, monkeypatch):
    w = comment_world
    connect_for_comments(w, "facebook")
    post = publish_posts(w, ["facebook"], tag="peek")["facebook"]
    w.meta.add_fb_comment(post, "When is the release date?")
    settings(**comment_settings())

    def due_now() -> None:  # the poll's grid point has come, the interval since the last poll has passed
        redis_raw.hset(dispatch.META_KEY, "comments.last_poll", f"{time.time() - 3600:.3f}")
        dispatch.arm([("comments.poll", "all", time.time())], wake=False)

    def no_db_tick() -> dict:
        with monkeypatch.context() as m:
            no_database(m)
            return dispatch.tick()

    due_now()
    report = no_db_tick()  # no copy of the poll's state yet: the full poll is armed for the next window
    assert report["window"] is False and "no copy" in report["comments"]
    assert dispatch.pending("comments.run")
    dispatch.arm([("comments.run", "all", time.time())], wake=False)  # the window comes
    report = dispatch.tick()
    assert report.get("ran.comments.run") == 1 and report["comments"]["facebook"]["new"] == 1
    assert db.execute("SELECT count(*) AS n FROM comments").fetchone()["n"] == 1
    copy = json.loads(redis_raw.hget("comments:mirror", "all"))
    assert [p for p, _ in copy["platforms"]["facebook"]["posts"]] == [post]
    row = db.execute("SELECT access_token_enc FROM platform_connections WHERE platform='facebook'").fetchone()
    from shared.publishing.connections import store

    assert copy["platforms"]["facebook"]["token"] == row["access_token_enc"]  # the encrypted blob, as stored
    assert store.get("facebook").access_token not in json.dumps(copy)  # never the token itself
    spent = db.execute("SELECT coalesce(sum(used), 0) AS n FROM comment_usage WHERE platform='facebook'").fetchone()
    # nothing new: the peek reads the platform with the copy and the database stays asleep
    due_now()
    report = no_db_tick()
    assert report["window"] is False and report.get("comments.peeked") == 1 and "comments" not in report
    assert not dispatch.pending("comments.run")
    # a new comment: the peek sees it (still no database) and arms the full poll; that stores and answers it
    time.sleep(1.1)
    w.meta.add_fb_comment(post, "Is there a post-credits scene?")
    due_now()
    report = no_db_tick()
    assert report["window"] is False and "1 new comment(s) on facebook" in report["comments"]
    dispatch.arm([("comments.run", "all", time.time())], wake=False)
    report = dispatch.tick()
    assert report["comments"]["facebook"]["new"] == 1
    assert sorted(r["status"] for r in db.execute("SELECT status FROM comments")) == ["replied", "replied"]
    # what the peeks read was charged to the read ledger by the full poll's window
    after = db.execute("SELECT coalesce(sum(used), 0) AS n FROM comment_usage WHERE platform='facebook'").fetchone()
    assert after["n"] >= spent["n"] + 2


def test_enabled_poll_runs_at_its_interval_and_not_before(quiet, comment_world, db, monkeypatch):
    connect_for_comments(comment_world, "instagram")
    mid_interval(1200)
    settings(**comment_settings(commentPollInterval="20"))
    first = poll_item()
    assert first == grid_at_or_after(clock.time() + 60, 1200)  # the save armed it on the 20-minute grid
    at(first + 0.5)
    report = dispatch.tick()
    assert report.get("comments.peeked") == 1
    assert poll_item() == first + 1200
    dispatch.disarm("comments.run", ["all"])  # (no copy yet: the full poll waits for a window; not this test's)
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
    assert report.get("comments.peeked") == 1
    assert poll_item() == grid_at_or_after(first + 1800 - 60, 1800)  # the governor's 30 min, not the owner's 10
    paused = Decisions(comments_paused=True).as_dict()
    redis_raw.hset(dispatch.META_KEY, "governor", json.dumps(paused))
    nxt = poll_item()
    at(nxt + 0.5)
    with monkeypatch.context() as m:
        no_database(m)
        report = dispatch.tick()
    assert report.get("comments.paused") == 1 and report.get("comments.peeked") is None
    assert poll_item() == next_on_grid(clock.time(), 3600)
