"""What the owner (or another tick) changes while a dispatcher tick holds an item survives that tick's commit,
and an item a running tick holds is never run by a second tick at the same time."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from rss_helpers import set_settings
from test_tmdb_api import _post_body

from shared import clock
from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

SEEN: list[str] = []


def rearms_itself(t, refs):
    """A handler that decides, from what it read before, that its item comes back in an hour; meanwhile the
    owner drops the item (outside the tick)."""
    for ref in refs:
        dispatch.disarm("test.rearming", [ref])  # the owner's disarm, while the tick holds the item
        t.arm("test.rearming", ref, t.now + 3600)


def records(t, refs):
    SEEN.extend(refs)


def arms_a_sibling_now_after_another_tick_took_it(t, refs):
    """While this tick runs, a second tick (another invocation) pops and leases test.sibling|1; then this tick's
    handler decides the sibling runs now."""
    other_now = t.now + 10
    dispatch._redis().eval(dispatch._POP, keys=[dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY],
                           args=[repr(other_now), repr(other_now + dispatch.LEASE_SECONDS), "100"])
    t.arm("test.sibling", "1", t.now)


def sibling(t, refs):
    SEEN.extend(f"sibling {r}" for r in refs)


dispatch.register(Kind("test.rearming", f"{__name__}:rearms_itself", needs_db=False))
dispatch.register(Kind("test.arms_sibling", f"{__name__}:arms_a_sibling_now_after_another_tick_took_it",
                       needs_db=True, order=1))
dispatch.register(Kind("test.sibling", f"{__name__}:sibling", needs_db=True, order=2))
dispatch.register(Kind("test.window", f"{__name__}:records", needs_db=True, order=1))


@pytest.fixture
def quiet(clean_state, redis_raw):
    dispatch.kinds()
    SEEN.clear()
    far = repr(time.time() + 86400)
    redis_raw.hset(dispatch.META_KEY, mapping={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                               "comments.next": far})
    return redis_raw


@pytest.fixture(autouse=True)
def real_clock_after():
    yield
    clock.set_offset(None)


def _post_due_in_two_seconds(client, auth) -> dict:
    set_settings()
    when = datetime.now(timezone.utc) + timedelta(seconds=2)
    post = client.post("/api/tmdb/posts", json=_post_body(scheduledTime=when.isoformat()), headers=auth).json()["data"]
    client.put(f"/api/tmdb/posts/{post['id']}", json={"status": "scheduled"}, headers=auth)
    return post


def test_moving_a_tmdb_post_while_its_item_fires_keeps_the_post_armed_at_its_new_time(
        backing, live_api, client, auth, clean_state, monkeypatch):
    from shared.db import connection
    from shared.tmdb import delivery, service

    post = _post_due_in_two_seconds(client, auth)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    real = delivery.deliver

    def racing(pid, version):  # the owner moves the post while the tick holds its item
        service.update_post(pid, {"scheduledTime": later.isoformat()})
        return real(pid, version)

    monkeypatch.setattr(delivery, "deliver", racing)
    clock.set_offset(5)  # the post is due (the handler never publishes before the real clock says so)
    dispatch.tick()
    with connection() as conn:
        row = conn.execute("SELECT status, scheduled_at FROM tmdb_posts WHERE id=%s", (post["id"],)).fetchone()
    assert row["status"] == "scheduled"
    assert dispatch.pending("tmdb.post") == {f"tmdb.post|{post['id']}": row["scheduled_at"].timestamp()}


def test_a_tmdb_post_moved_while_its_item_fires_is_armed_even_if_the_owners_arm_failed(
        backing, live_api, client, auth, clean_state, monkeypatch):
    """The handler reads the post again after the version changed and arms it itself."""
    from shared.tmdb import delivery, service
    from shared.tmdb import dispatch as tmdb_dispatch

    post = _post_due_in_two_seconds(client, auth)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    real = delivery.deliver

    def racing(pid, version):
        monkeypatch.setattr(tmdb_dispatch, "arm", lambda posts, now=None: 0)  # Redis refused the owner's arm
        service.update_post(pid, {"scheduledTime": later.isoformat()})
        return real(pid, version)

    monkeypatch.setattr(delivery, "deliver", racing)
    clock.set_offset(5)
    report = dispatch.tick()
    assert report.get("tmdb.rearmed") == 1 and report.get("tmdb.delivered") is None
    at = dispatch.pending("tmdb.post")[f"tmdb.post|{post['id']}"]
    assert abs(at - later.timestamp()) < 1


def test_a_disarm_during_the_tick_is_not_undone_by_a_handler_that_re_arms(quiet):
    dispatch.arm([("test.rearming", "x", time.time() - 1)], wake=False)
    report = dispatch.tick()
    assert report["ran.test.rearming"] == 1
    assert dispatch.pending("test.rearming") == {}


def test_an_item_moved_from_outside_keeps_its_new_time_and_gets_a_wake_up(quiet, backing):
    """A handler's `done` does not delete an item the owner re-armed meanwhile."""
    mid_hour = (int(time.time() // 3600) + 1) * 3600 + 1200  # the new time comes before the hourly schedule fires
    clock.set_offset(mid_hour - time.time())
    now = clock.time()
    dispatch.arm([("test.window", "a", now - 1)], wake=False)

    import shared.scheduling.dispatch as d

    real = d._commit

    def moved_first(redis, t, pkeys):
        dispatch.arm([("test.window", "a", now + 600)], wake=False)  # the owner's arm, just before the commit
        return real(redis, t, pkeys)

    d._commit = moved_first
    try:
        report = dispatch.tick(now)
    finally:
        d._commit = real
    assert SEEN == ["a"]
    assert dispatch.pending("test.window") == {"test.window|a": pytest.approx(now + 600)}
    assert report["moved"] == ["test.window|a"]
    wakeups = [m.not_before for m in backing.emulator.state.messages.values()
               if m.url.endswith(dispatch.DISPATCH_PATH)]
    assert int(now + 600 + 0.999) in wakeups


def test_a_window_does_not_take_a_comments_run_another_tick_is_running(quiet, monkeypatch):
    """Tick A popped comments.run (a full poll: up to 200 s); tick B opens a window before A commits."""
    import shared.comments.timing as timing

    now = time.time()
    ran: list[list[str]] = []
    monkeypatch.setattr(timing, "run", lambda t, refs: ran.append(refs))
    dispatch.arm([("comments.run", "all", now - 1)], wake=False)
    quiet.eval(dispatch._POP, 3, dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY,
               repr(now), repr(now + dispatch.LEASE_SECONDS), "100")  # tick A, still running
    dispatch.arm([("test.window", "b", now)], wake=False)
    report = dispatch.tick(now + 150)  # B: past the old 120 s lease, inside A's poll budget
    assert report["window"] is True and SEEN == ["b"]
    assert ran == [], "a second full poll ran while the first one's lease was live"
    assert dispatch.pending("comments.run") == {"comments.run|all": pytest.approx(now + dispatch.LEASE_SECONDS)}


def test_the_lease_outlasts_the_longest_invocation_and_the_comment_poll_budget():
    from shared.comments.service import POLL_TIME_BUDGET_S

    assert dispatch.LEASE_SECONDS >= 300 > POLL_TIME_BUDGET_S


def test_a_running_ticks_item_is_not_run_by_a_window_that_a_handler_arms_it_into(quiet, monkeypatch):
    """B's handler arms comments.run for now while A still runs it: B leaves it armed instead of running it."""
    import shared.comments.timing as timing

    now = time.time()
    ran: list[list[str]] = []
    monkeypatch.setattr(timing, "run", lambda t, refs: ran.append(refs))
    dispatch.arm([("comments.run", "all", now - 1)], wake=False)
    quiet.eval(dispatch._POP, 3, dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY,
               repr(now), repr(now + dispatch.LEASE_SECONDS), "100")

    def arms_run(t, refs):
        SEEN.extend(refs)
        t.arm("comments.run", "all", t.now)

    monkeypatch.setattr(sys.modules[__name__], "records", arms_run)
    dispatch.arm([("test.window", "c", now)], wake=False)
    dispatch.tick(now + 10)
    assert SEEN == ["c"] and ran == []
    assert "comments.run|all" in dispatch.pending("comments.run")


def test_a_failing_hook_is_logged_and_the_tick_still_runs_its_items(quiet, monkeypatch):
    """The comment bootstrap hook raising (a bug, a bad switch value) must not stop RSS and TMDb items."""
    import shared.comments.timing as timing

    def broken(t, refs):
        raise RuntimeError("switch unreadable")

    monkeypatch.setattr(timing, "poll", broken)
    quiet.hdel(dispatch.META_KEY, "comments.next")  # the bootstrap hook runs the poll in this tick
    dispatch.arm([("test.window", "d", time.time() - 1)], wake=False)
    report = dispatch.tick()
    assert SEEN == ["d"]
    assert any("hook" in e and "switch unreadable" in e for e in report["errors"])


def test_an_item_a_handler_arms_for_now_is_not_run_while_another_tick_holds_it(quiet):
    """The other tick's lease is taken after this tick's pop (its snapshot cannot know it): the item is leased
    before it runs, so this tick leaves it to the holder, and its commit does not remove the holder's item."""
    now = time.time()
    dispatch.arm([("test.arms_sibling", "a", now - 1), ("test.sibling", "1", now + 5)], wake=False)
    dispatch.tick(now)
    assert "sibling 1" not in SEEN  # the other tick holds it: not run here too
    leases = quiet.hgetall(dispatch.LEASE_KEY)
    held_until = float(leases["test.sibling|1"])
    assert held_until > now + 10  # still the other tick's lease
    assert dispatch.pending().get("test.sibling|1") == pytest.approx(held_until)  # not removed by this commit
