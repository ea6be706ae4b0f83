"""A tick that outlived its lease (a stalled process: production's lease outlasts any invocation, but a VM can
freeze) holds nothing any more: another tick may have taken its items over. It runs no further handler and
leases nothing new; its items come back as a dead tick's do. Found by the multi-process harness
(tests/test_dispatch_under_kill_9.py), pinned here in one process against the real Redis."""

from __future__ import annotations

import time

import pytest

from shared import clock
from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

RAN: list[str] = []


def records(t, refs):
    RAN.extend(refs)


def arms_two_for_now(t, refs):
    RAN.extend(refs)
    t.arm("test.stalls", "x", clock.time())
    t.arm("test.lapsing", "claimed", clock.time())


def stalls(t, refs):
    """The process stalls (a frozen VM) until past the tick's lease."""
    RAN.extend(f"stalled {r}" for r in refs)
    clock.set_offset(t.lease - time.time() + 1)


dispatch.register(Kind("test.lapsing", f"{__name__}:records", needs_db=True, order=3))
dispatch.register(Kind("test.arms_two", f"{__name__}:arms_two_for_now", needs_db=True, order=1))
dispatch.register(Kind("test.stalls", f"{__name__}:stalls", needs_db=True, order=2))


@pytest.fixture
def quiet(clean_state, redis_raw):
    dispatch.kinds()
    RAN.clear()
    far = repr(time.time() + 86400)
    redis_raw.hset(dispatch.META_KEY, mapping={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                               "comments.next": far})
    yield redis_raw
    clock.set_offset(None)


def _stale() -> float:
    """A tick start so long ago that its lease has run out."""
    return time.time() - dispatch.LEASE_SECONDS - 5


def test_a_tick_past_its_lease_runs_no_more_handlers_and_its_items_come_back(quiet):
    stale = _stale()
    dispatch.arm([("test.lapsing", "x", stale - 1)], wake=False)
    report = dispatch.tick(stale)
    assert RAN == [], "a tick past its lease ran a handler for an item another tick may hold"
    assert report.get("lapsed.test.lapsing") == 1
    assert "test.lapsing|x" in dispatch.pending("test.lapsing") and not quiet.hexists(dispatch.LEASE_KEY,
                                                                                         "test.lapsing|x")
    dispatch.tick()
    assert RAN == ["x"]
    assert dispatch.pending("test.lapsing") == {}


@pytest.mark.parametrize("script", ["claim", "early"])
def test_a_lease_taking_script_past_the_lease_takes_nothing_and_leaves_other_ticks_leases_alone(quiet, script):
    """Written with a lease in the past, the items would be free for anyone at once, and the hash's EXPIRE
    (twice the lease left, negative) would delete every other tick's live leases."""
    now = time.time()
    dispatch.arm([("test.lapsing", "held", now - 2), ("test.lapsing", "free", now - 1)], wake=False)
    quiet.eval(dispatch._POP, 3, dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY,
               repr(now), repr(now + 300), "1")  # another tick, running, holds "held"
    lapsed = repr(_stale() + dispatch.LEASE_SECONDS)
    if script == "claim":
        taken = quiet.eval(dispatch._CLAIM, 2, dispatch.DUE_KEY, dispatch.LEASE_KEY, repr(now), lapsed,
                           "test.lapsing|free")
    else:
        taken = quiet.eval(dispatch._EARLY, 2, dispatch.DUE_KEY, dispatch.LEASE_KEY, repr(now), lapsed,
                           "test.lapsing|", repr(now + 3600))
    assert taken == []
    assert quiet.hget(dispatch.LEASE_KEY, "test.lapsing|held") == repr(now + 300), "another tick's lease vanished"
    assert dispatch.pending("test.lapsing")["test.lapsing|free"] == pytest.approx(now - 1)


def test_an_item_claimed_before_the_lease_ran_out_but_not_run_is_not_removed(quiet):
    """Claimed (leased, and marked done in advance) at the end of a round, then the process stalls past the lease
    before the item's handler: the item is neither run nor removed; it comes back."""
    dispatch.arm([("test.arms_two", "a", time.time() - 1)], wake=False)
    report = dispatch.tick()
    assert RAN == ["a", "stalled x"] and report.get("lapsed.test.lapsing") == 1
    assert "test.lapsing|claimed" in dispatch.pending("test.lapsing"), "a claimed item was removed unrun"
    dispatch.tick()  # still on the stalled process's clock: past the lease, the item is due again
    assert RAN[-1] == "claimed"


@pytest.mark.parametrize("script", ["claim", "early"])
def test_a_lease_taken_near_the_end_of_a_tick_keeps_every_longer_lease_alive(quiet, script):
    """A tick with little of its lease left (a long window) claims or picks an item early. The lease hash's EXPIRE
    (twice the lease left: one second here) must not cut short the hash while another tick's lease (300 s)
    lives: its record would vanish with it, and a pop would take that tick's item, moved to now by the owner,
    from under it. Found by the multi-process harness under load (an overlap of two live holders)."""
    now = time.time()
    dispatch.arm([("test.lapsing", "held", now - 2), ("test.lapsing", "late", now - 1)], wake=False)
    quiet.eval(dispatch._POP, 3, dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY,
               repr(now), repr(now + 300), "1")  # tick A holds "held" for 300 s
    nearly_out = repr(time.time() + 0.4)  # tick B: 0.4 s of its lease left
    if script == "claim":
        taken = quiet.eval(dispatch._CLAIM, 2, dispatch.DUE_KEY, dispatch.LEASE_KEY, repr(time.time()), nearly_out,
                           "test.lapsing|late")
    else:
        taken = quiet.eval(dispatch._EARLY, 2, dispatch.DUE_KEY, dispatch.LEASE_KEY, repr(time.time()), nearly_out,
                           "test.lapsing|", repr(now + 3600))
    assert taken == ["test.lapsing|late"]
    time.sleep(1.1)  # past the EXPIRE that twice 0.4 s would set
    dispatch.arm([("test.lapsing", "held", time.time() - 0.1)], wake=False)  # the owner moves it to now
    popped = quiet.eval(dispatch._POP, 3, dispatch.DUE_KEY, dispatch.META_KEY, dispatch.LEASE_KEY,
                        repr(time.time()), repr(time.time() + 300), "10")[0]
    assert "test.lapsing|held" not in popped, "a pop took an item another tick holds (its lease record expired)"
    assert quiet.hget(dispatch.LEASE_KEY, "test.lapsing|held") == repr(now + 300)


PAYLOAD_KEY = "test:stale-payload"


def probes_then_stalls_while_another_tick_takes_over(t, refs):
    """Reads its payload, stalls past its lease, and meanwhile another tick takes the item over and writes newer
    state (as its pop and commit would: its own lease record, then its payload); then this tick writes its own."""
    for ref in refs:
        RAN.append(f"probe {ref} saw {t.payloads['test.stale_probe'][ref]}")
        t.set_payload(PAYLOAD_KEY, ref, {"v": "stale"})
    from shared.redis_client import get_redis

    r = get_redis()
    for ref in refs:
        r.hset(dispatch.LEASE_KEY, values={f"test.stale_probe|{ref}": repr(time.time() + 300)})
        r.hset(PAYLOAD_KEY, values={ref: '{"v":"newer"}'})


def probes(t, refs):
    RAN.extend(f"fresh {r}" for r in refs)
    for ref in refs:
        t.set_payload(PAYLOAD_KEY + ":2", ref, {"v": f"probed {ref}"})


dispatch.register(Kind("test.stale_probe", f"{__name__}:probes_then_stalls_while_another_tick_takes_over",
                       needs_db=False, payload_key=PAYLOAD_KEY, order=4))
dispatch.register(Kind("test.fresh_probe", f"{__name__}:probes", needs_db=False, payload_key=PAYLOAD_KEY + ":2",
                       order=5))


def test_a_tick_that_lost_its_item_does_not_overwrite_the_newer_payload_the_new_holder_wrote(quiet):
    quiet.hset(PAYLOAD_KEY, "a", '{"v":"old"}')
    quiet.hset(PAYLOAD_KEY + ":2", "b", '{"v":"old"}')
    now = time.time()
    dispatch.arm([("test.stale_probe", "a", now - 1), ("test.fresh_probe", "b", now - 1)], wake=False)
    report = dispatch.tick(now)
    assert RAN == ["probe a saw {'v': 'old'}", "fresh b"], report
    assert quiet.hget(PAYLOAD_KEY, "a") == '{"v":"newer"}'  # the new holder's state stands
    assert quiet.hget(PAYLOAD_KEY + ":2", "b") == '{"v":"probed b"}'  # a tick that still holds its item writes
