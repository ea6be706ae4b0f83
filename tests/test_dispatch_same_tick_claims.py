"""Items a handler arms for "now" run in the same tick (the claim script) without losing anything and without
undoing the owner's changes: found by the multi-process harness (tests/test_dispatch_under_kill_9.py), pinned
here deterministically in one process against the real Redis."""

from __future__ import annotations

import time

import pytest

from shared import clock
from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

RAN: list[str] = []
CHAIN = 6  # longer than MAX_ROUNDS: its tail has to wait for the next tick


def chain(t, refs):
    """Each link arms the next one for now (rss.probe -> rss.process -> rss.post is such a chain)."""
    for ref in refs:
        RAN.append(ref)
        if int(ref) + 1 < CHAIN:
            t.arm("test.chain", str(int(ref) + 1), clock.time())


def again_after_a_move(t, refs):
    """The owner moves the item far ahead while this handler runs; the handler, from what it read before,
    wants it to run again now."""
    for ref in refs:
        RAN.append(ref)
        if ref == "moved" and RAN.count(ref) == 1:
            dispatch.arm([("test.again", ref, time.time() + 7200)], wake=False)
        t.arm("test.again", ref, clock.time())


dispatch.register(Kind("test.chain", f"{__name__}:chain", needs_db=True, order=1))
dispatch.register(Kind("test.again", f"{__name__}:again_after_a_move", needs_db=True, order=1))


@pytest.fixture
def quiet(clean_state, redis_raw):
    dispatch.kinds()
    RAN.clear()
    far = repr(time.time() + 86400)
    redis_raw.hset(dispatch.META_KEY, mapping={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                               "comments.next": far})
    yield redis_raw
    clock.set_offset(None)


def test_an_item_armed_for_now_in_the_last_round_is_left_for_the_next_tick_not_dropped(quiet):
    dispatch.arm([("test.chain", "0", time.time() - 1)], wake=False)
    dispatch.tick()
    first_rounds = [str(i) for i in range(dispatch.MAX_ROUNDS)]
    assert first_rounds == RAN
    left = dispatch.pending("test.chain")
    assert list(left) == [f"test.chain|{dispatch.MAX_ROUNDS}"], "the link armed in the last round was lost"
    assert left[f"test.chain|{dispatch.MAX_ROUNDS}"] <= time.time()
    dispatch.tick()
    whole = [str(i) for i in range(CHAIN)]
    assert whole == RAN
    assert dispatch.pending("test.chain") == {}


def test_a_handler_arming_its_own_item_for_now_does_not_undo_the_owners_move(quiet):
    """The claim re-leases an item this tick holds only while its score is still this tick's lease."""
    dispatch.arm([("test.again", "moved", time.time() - 1)], wake=False)
    dispatch.tick()
    assert RAN == ["moved"], "ran again in this tick although the owner had moved it"
    at = dispatch.pending("test.again").get("test.again|moved")
    assert at is not None and at > time.time() + 7000, f"the owner's move was undone: armed at {at}"
