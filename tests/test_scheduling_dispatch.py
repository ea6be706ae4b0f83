"""The dispatcher: timed items in Redis, one QStash wake-up per distinct time (none the hourly schedule reaches), a
database window only when a due item needs one, leases so a crashed tick loses nothing."""

import time

import pytest
from budget_helpers import no_database

from shared import clock
from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

RAN: list[tuple[str, list[str]]] = []


def redis_only(t, refs):
    RAN.append(("redis", list(refs)))


def needs_db(t, refs):
    from shared.db import connection

    with connection() as conn:
        conn.execute("SELECT 1")
    RAN.append(("db", list(refs)))


def explodes(t, refs):
    RAN.append(("boom", list(refs)))
    raise RuntimeError("handler failed")


dispatch.register(Kind("test.redis", f"{__name__}:redis_only", needs_db=False))
dispatch.register(Kind("test.db", f"{__name__}:needs_db", needs_db=True, order=1))
dispatch.register(Kind("test.early", f"{__name__}:needs_db", needs_db=True, early=86400.0, order=2))
dispatch.register(Kind("test.boom", f"{__name__}:explodes", needs_db=False))


@pytest.fixture
def quiet_dispatcher(clean_state):
    """The other kinds' bootstrap hooks see their work done (the RSS mirror built, housekeeping armed)."""
    from shared.redis_client import get_redis

    dispatch.kinds()
    RAN.clear()
    far = repr(time.time() + 86400)
    get_redis().hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                                     "comments.next": far})
    yield
    clock.set_offset(None)




def test_a_tick_with_nothing_due_costs_two_commands_and_no_database(quiet_dispatcher, backing, monkeypatch):
    dispatch.arm([("test.redis", "later", time.time() + 5 * 3600)], wake=False)
    no_database(monkeypatch)
    before, published = backing.redis_counter.total, backing.emulator.state.published_count
    report = dispatch.tick()
    assert report["due"] == 0 and report["window"] is False
    assert backing.redis_counter.total - before == 2  # the pop script and the commit script
    assert backing.emulator.state.published_count == published  # the hourly schedule will get there


def test_due_items_run_once_and_a_window_opens_only_for_database_kinds(quiet_dispatcher, monkeypatch):
    now = time.time()
    dispatch.arm([("test.redis", "a", now - 1), ("test.redis", "b", now - 1)], wake=False)
    assert dispatch.tick()["window"] is False
    assert RAN == [("redis", ["a", "b"])]
    assert dispatch.tick()["due"] == 0  # done: not run again
    dispatch.arm([("test.db", "p", now - 1), ("test.early", "later", now + 3 * 3600)], wake=False)
    report = dispatch.tick()
    assert report["window"] is True
    # the early kind joined the window the due item opened, three hours before its time
    assert ("db", ["p"]) in RAN and ("db", ["later"]) in RAN
    assert "test.early|later" not in dispatch.pending()


def test_a_failing_handler_gets_its_items_back_later(quiet_dispatcher):
    dispatch.arm([("test.boom", "x", time.time() - 1)], wake=False)
    report = dispatch.tick()
    assert report["failed.test.boom"] == 1 and report["errors"]
    at = dispatch.pending()["test.boom|x"]
    assert at >= time.time() + dispatch.RETRY_SECONDS - 5


def test_a_tick_that_dies_loses_nothing(quiet_dispatcher, backing):
    """The pop leases the due items; a tick that dies before its commit leaves them to come back after the
    lease, and the next tick runs them."""
    from shared.redis_client import get_redis

    now = time.time()
    dispatch.arm([("test.redis", "survivor", now - 1)], wake=False)
    get_redis().eval(dispatch._POP, keys=[dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY],
                     args=[repr(now), repr(now + dispatch.LEASE_SECONDS), "100"])  # ... and the process dies
    assert dispatch.tick()["due"] == 0  # leased: another tick does not take it meanwhile
    clock.set_offset(dispatch.LEASE_SECONDS + 1)
    dispatch.tick()
    assert RAN == [("redis", ["survivor"])]


def test_wake_ups_are_armed_once_per_time_and_never_for_what_the_hourly_schedule_reaches(quiet_dispatcher, backing):
    hour = (int(time.time() // 3600) + 2) * 3600
    clock.set_offset(hour + 60 - time.time())  # a minute past a full hour: the next firing is an hour away
    now = clock.time()
    msgs = backing.emulator.state.messages

    def wakeups():
        return sorted(m.not_before for m in msgs.values() if m.url.endswith(dispatch.DISPATCH_PATH)
                      and m.state == "pending")
    before = wakeups()
    safety = dispatch.next_safety_fire(now)
    soon = now + 900
    assert dispatch.arm([("test.redis", "a", soon)]) is not None
    assert dispatch.arm([("test.redis", "b", soon)]) is None  # that wake-up is armed already
    assert dispatch.arm([("test.redis", "c", soon + 30)]) is None  # an earlier one will re-arm for it
    earlier = soon - 20
    assert dispatch.arm([("test.redis", "d", earlier)]) is not None
    assert dispatch.arm([("test.redis", "e", safety + 10)]) is None  # the schedule fires before that
    new = [w for w in wakeups() if w not in before]
    assert [round(w) for w in new] == [int(earlier + 0.999), int(soon + 0.999)]
