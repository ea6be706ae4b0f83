"""A tick takes up to 5000 due items at once (the pop's limit), and the scripts hand lists of that size to Redis
in slices: Lua's `unpack` fails near 8000 values, and leasing 5000 items is 10,000 (score, member pairs). Without
the slices such a tick failed every time, and the items stayed due for ever (every later tick popped them again)."""

from __future__ import annotations

import time

import pytest

from shared import clock
from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

RAN: list[str] = []
PAYLOAD = "test:many:payload"


def check(t, refs):
    RAN.extend(refs)
    for ref in refs:
        t.set_payload(PAYLOAD, ref, {"done": True}, unless_changed_from=t.payload_raw["test.many"][ref])
        t.arm("test.many", ref, t.now + 7200)


dispatch.register(Kind("test.many", f"{__name__}:check", needs_db=False, payload_key=PAYLOAD, order=1))


@pytest.fixture
def quiet(clean_state, redis_raw, monkeypatch):
    dispatch.kinds()
    RAN.clear()
    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    far = repr(time.time() + 86400)
    redis_raw.hset(dispatch.META_KEY, mapping={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                               "comments.next": far})
    yield redis_raw
    clock.set_offset(None)


def test_a_tick_with_more_items_due_than_it_takes_runs_its_five_thousand_and_leaves_the_rest(quiet):
    n = 5003
    now = time.time()
    quiet.hset(PAYLOAD, mapping={str(i): "{}" for i in range(n)})
    dispatch.arm([("test.many", str(i), now - 10 + i / 1000) for i in range(n)], wake=False)
    assert len(dispatch.pending("test.many")) == n
    dispatch.tick()
    assert [str(i) for i in range(5000)] == RAN, "the earliest 5000, once each"
    later = dispatch.pending("test.many")
    assert sum(1 for at in later.values() if at > now + 3600) == 5000
    assert quiet.hgetall(dispatch.LEASE_KEY) == {}
    assert quiet.hget(PAYLOAD, "4999") == '{"done":true}' and quiet.hget(PAYLOAD, "5000") == "{}"
    dispatch.tick()
    assert RAN[5000:] == ["5000", "5001", "5002"]
    assert all(at > now + 3600 for at in dispatch.pending("test.many").values())
