"""The dispatcher's scripts make as many Redis calls for 50 items as for one. Upstash bills every call a script
makes, not one per EVAL (its rate-limit SDK's costs page counts a fixed-window `limit()` as "EVAL, INCR, PEXPIRE"):
a call per item made a simulated day's inner calls 17,201 against 2,052 top-level commands, past the free tier.

Counted against the real Redis from its MONITOR stream (each call a script makes is a line marked `lua`), through
the product's own `arm` and `tick`: an arm, then a tick that pops, opens a window that picks items early, claims
items its handlers armed for now (fresh ones and ones it holds), and commits re-arms, removals, payload sets,
deletes and compare-and-sets. Every script's number of calls must not depend on the number of items."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from shared import clock
from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

PAYLOAD = "test:cost:payload"  # the probes' payload hash: popped with them, written back compare-and-set
NOTES = "test:cost:notes"  # a hash the handlers write plainly (with a ttl) and delete from
RAN: list[str] = []


def probe(t, refs):
    """A Redis-only check: writes its state back unless it changed meanwhile, notes something, comes back in an
    hour, and asks for a database window."""
    for ref in refs:
        RAN.append(f"probe {ref}")
        t.set_payload(PAYLOAD, ref, {"v": 1}, unless_changed_from=t.payload_raw["test.cost_probe"][ref])
        t.set_payload(NOTES, f"seen {ref}", {"at": t.now}, ttl=3600)
        t.arm("test.cost_probe", ref, t.now + 3600)
    t.request_window("the cost test")


def window_work(t, refs):
    """Joins the window early; the first time it arms itself and a follow-up for now (both claimed: one this tick
    holds already, one fresh)."""
    for ref in refs:
        RAN.append(f"db {ref}")
        if RAN.count(f"db {ref}") == 1:
            t.arm("test.cost_db", ref, clock.time())
            t.arm("test.cost_chain", ref, clock.time())


def follow_up(t, refs):
    for ref in refs:
        RAN.append(f"chain {ref}")
        t.set_payload(NOTES, f"old {ref}", None)


dispatch.register(Kind("test.cost_probe", f"{__name__}:probe", needs_db=False, payload_key=PAYLOAD, order=1))
dispatch.register(Kind("test.cost_db", f"{__name__}:window_work", needs_db=True, early=3600.0, order=2))
dispatch.register(Kind("test.cost_chain", f"{__name__}:follow_up", needs_db=True, order=3))


@pytest.fixture
def quiet(clean_state, redis_raw, monkeypatch):
    dispatch.kinds()
    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    yield redis_raw
    clock.set_offset(None)


def _reset(r: redis.Redis) -> None:
    r.flushdb()
    RAN.clear()
    far = repr(time.time() + 86400)  # the real kinds' hooks arm nothing
    r.hset(dispatch.META_KEY, mapping={"rss.mirror": far, "rss.hk": far, "usage.hk": far, "comments.next": far})


@contextmanager
def script_calls(r: redis.Redis) -> Iterator[list[list[str]]]:
    """The calls each script made meanwhile (one list per EVAL, in order), as "COMMAND key", from MONITOR; only
    calls on the dispatcher's and this test's keys."""
    scripts: list[list[str]] = []
    end = f"cost-probe-end-{uuid.uuid4().hex}"
    ready = threading.Event()
    failed: list[BaseException] = []
    pool = r.connection_pool.connection_kwargs

    def watch() -> None:
        try:
            mon = redis.Redis(host=pool.get("host", "127.0.0.1"), port=pool.get("port", 6379), db=pool.get("db", 0),
                              decode_responses=True)
            with mon.monitor() as m:
                ready.set()
                for cmd in m.listen():
                    line = str(cmd["command"])
                    if end in line:
                        return
                    words = line.split(" ")
                    name = words[0].strip('"').upper()
                    if cmd.get("client_type") != "lua":
                        if name.startswith("EVAL"):
                            scripts.append([])
                        continue
                    key = words[1].strip('"') if len(words) > 1 else ""
                    if scripts and key.startswith(("dispatch:", "test:cost")):
                        scripts[-1].append(f"{name} {key}")
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            failed.append(exc)
            ready.set()

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    assert ready.wait(10), "MONITOR did not start"
    try:
        yield scripts
    finally:
        r.echo(end)
        th.join(10)
    assert not failed, failed
    assert not th.is_alive(), "the MONITOR stream never showed the end marker"


def _run(r: redis.Redis, n: int) -> tuple[list[list[str]], list[list[str]]]:
    _reset(r)
    now = time.time()
    r.hset(PAYLOAD, mapping={f"p{i}": '{"v":0}' for i in range(n)})
    r.hset(NOTES, mapping={f"old d{i}": "x" for i in range(n)})
    items = [("test.cost_probe", f"p{i}", now - 1) for i in range(n)]
    items += [("test.cost_db", f"d{i}", now + 600) for i in range(n)]  # not due: a window picks them early
    with script_calls(r) as arm_calls:
        dispatch.arm(items, wake=False)
    with script_calls(r) as tick_calls:
        report = dispatch.tick()
    # the scenario ran as meant, whatever its size
    assert report.get("window") is True, report
    assert sorted(RAN) == sorted([f"probe p{i}" for i in range(n)] + [f"db d{i}" for i in range(n)] * 2
                                 + [f"chain d{i}" for i in range(n)]), RAN
    assert {m for m in dispatch.pending() if m.startswith("test.")} == {f"test.cost_probe|p{i}" for i in range(n)}
    assert {k: json.loads(v) for k, v in r.hgetall(PAYLOAD).items()} == {f"p{i}": {"v": 1} for i in range(n)}
    assert set(r.hkeys(NOTES)) == {f"seen p{i}" for i in range(n)}
    assert 0 < r.ttl(NOTES) <= 3600
    assert r.hgetall(dispatch.LEASE_KEY) == {}
    return arm_calls, tick_calls


def test_each_dispatcher_script_makes_as_many_redis_calls_for_fifty_items_as_for_one(quiet):
    arm_one, tick_one = _run(quiet, 1)
    arm_many, tick_many = _run(quiet, 50)
    # the arm; then the tick's pop, early pick, claim, commit (and whatever else it ran): the same scripts either way
    one, many = arm_one + tick_one, arm_many + tick_many
    assert len(one) == len(many) and len(tick_one) >= 4, (one, many)
    # Redis 6.2 (the embedded one) has no PEXPIRE GT: the lease hash's expiry is a PTTL and, when it is longer, a
    # PEXPIRE (shared/scheduling/dispatch.py `lengthen`): one call either way that is not about the items
    slack = 0 if int(quiet.info("server")["redis_version"].split(".")[0]) >= 7 else 1
    grown = [f"{a[0] if a else '?'}...: {len(a)} calls for 1 item, {len(b)} for 50"
             for a, b in zip(one, many) if abs(len(a) - len(b)) > slack]
    assert not grown, "scripts whose calls grew with their items:\n" + "\n".join(grown)
    assert max(len(s) for s in many) <= 16, many  # and each stays a fixed few per section
