"""The item kinds the worker processes register on the real dispatcher, and their handlers: each run is recorded
in Postgres (schema `dmp`) with the item, the version of its due time it ran for, the tick and the tick's lease.

Three kinds, one per way a tick takes an item:
- `dmp.item`: popped when due. Its payload (`P_ITEM`, written with its score in one transaction by whoever arms
  it, read by the pop atomically with the lease) names the version: `{"v": id, "due": epoch, "n": re-arms left,
  "sib": sibling ref or absent, "w": seconds the run lasts at least, or absent, "left": the run lasts until this
  many seconds before its tick's lease ends, or absent, "once": w and left apply to the version's first run only,
  or absent}`. A run with `n > 0` re-arms its item once more for `due + STEP` (a deterministic child version,
  `v + ".r"`, so two runs of one version propose the same child); a run with `sib` arms that sibling for now.
- `dmp.early`: joins any window up to `EARLY` seconds before its time (the early pick), a window that a due
  `dmp.item` opens. `EARLY` is longer than the test's lease: a running tick's leased score is within every other
  window's horizon, so only the lease record keeps a second window off it.
- `dmp.sib`: a handful of shared refs that handlers arm for now: the same tick claims them (`_CLAIM`) and runs
  them in its next round, unless another tick holds one.

A handler that reads a payload due later than now re-arms its item for that time instead of running it (the
real handlers re-check their state the same way: a TMDb post moved later is never published early).
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from typing import Any

from shared.scheduling import dispatch
from shared.scheduling.dispatch import Kind

KIND_ITEM, KIND_EARLY, KIND_SIB = "dmp.item", "dmp.early", "dmp.sib"
P_ITEM, P_EARLY = "dmp:p:item", "dmp:p:early"
PAYLOAD_KEYS = {KIND_ITEM: P_ITEM, KIND_EARLY: P_EARLY}
EARLY = 30.0
STEP = 0.6  # a child version is due this long after its parent
CALM = "harness:dmp:calm"
KILLS = "harness:dmp:kills"
ERRORS = "harness:dmp:errors"

SCHEMA = """
DROP SCHEMA IF EXISTS dmp CASCADE;
CREATE SCHEMA dmp;
CREATE TABLE dmp.runs (id bigserial PRIMARY KEY, member text NOT NULL, v text, due float8, tick text NOT NULL,
                       pid int NOT NULL, lease float8 NOT NULL, started float8 NOT NULL, ended float8);
CREATE TABLE dmp.events (id bigserial PRIMARY KEY, event text NOT NULL, member text NOT NULL, tick text NOT NULL,
                         at float8 NOT NULL, info text);
CREATE TABLE dmp.commits (tick text PRIMARY KEY, pid int NOT NULL, lease float8 NOT NULL, at float8 NOT NULL,
                          moved text[] NOT NULL);
"""


class _State:
    """One worker process's: the tick it is running, its kill-point odds, the harness's own Redis client."""

    tick = ""
    pid = 0
    redis: Any = None
    rng = random.Random()
    odds: dict[str, float] = {}  # noqa: RUF012  (one instance per process, set once by the worker)
    doomed = ""  # the kill point this process dies at, the first time it gets there (every point gets hit)
    work = (0.0, 0.2)  # seconds a handler call sleeps (uniform), to widen the races
    stall = (0.1, 0.8)  # odds and seconds of a longer stall inside a handler
    sibling_work = (0.3, 0.8)


STATE = _State()


def maybe_die(point: str) -> None:
    """SIGKILL this process at `point`: the first time if it was started doomed to die there, else with the
    configured odds (never once the settle phase began)."""
    p = 1.0 if STATE.doomed == point else STATE.odds.get(point, 0.0)
    if p > 0 and STATE.rng.random() < p and not STATE.redis.exists(CALM):
        STATE.redis.hincrby(KILLS, point, 1)
        _event("kill", "", point)
        os.kill(os.getpid(), signal.SIGKILL)


def _db():
    from shared.db import connection

    return connection()


def _payload(t: dispatch.Tick, kind: str, ref: str) -> tuple[str | None, dict | None]:
    """The version this run is for: a child this tick armed and claimed (its pending write), else what the pop
    read with the lease, else (an early pick or a claim, which read no payload) the hash now."""
    hkey = PAYLOAD_KEYS[kind]
    pending = t.payload_writes.get(hkey, {}).get(ref)
    if pending is not None:
        raw: str | None = pending
    elif ref in t.payload_raw.get(kind, {}):
        raw = t.payload_raw[kind][ref]
    else:
        raw = STATE.redis.hget(hkey, ref)
    if raw is None:
        return None, None
    return raw, json.loads(raw)


def _expected_raw(t: dispatch.Tick, kind: str, ref: str, raw: str) -> str:
    """What the payload hash holds now for this item as far as this tick knows (a child written earlier in this
    tick is not in Redis yet: the commit compares with what was there)."""
    return t.payload_expect.get(PAYLOAD_KEYS[kind], {}).get(ref) or t.payload_raw.get(kind, {}).get(ref) or raw


def _start(t: dispatch.Tick, rows: list[tuple[str, str | None, float | None]]) -> list[int]:
    if not rows:
        return []
    now = time.time()
    with _db() as c:
        cur = c.execute(
            "INSERT INTO dmp.runs (member, v, due, tick, pid, lease, started) "
            "SELECT m, v, d, %s, %s, %s, %s FROM unnest(%s::text[], %s::text[], %s::float8[]) AS x(m, v, d) "
            "RETURNING id",
            (STATE.tick, STATE.pid, t.lease, now, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))
        return [int(r["id"]) for r in cur.fetchall()]


def _event(event: str, member: str, info: str = "") -> None:
    with _db() as c:
        c.execute("INSERT INTO dmp.events (event, member, tick, at, info) VALUES (%s, %s, %s, %s, %s)",
                  (event, member, STATE.tick, time.time(), info))


def _work_and_end(ids: list[int], work: tuple[float, float] | None = None) -> None:
    maybe_die("in_handler")
    # The pauses widen the chaos's races. Once the settle began they only stretch a tick: on a loaded machine a
    # tick of many items would outlast the test's 2 s lease, its items would come back to the next tick, which
    # would outlast its lease too, and so on (each run recorded, no commit within a lease): nothing would settle.
    if not STATE.redis.exists(CALM):
        lo, hi = work or STATE.work
        pause = STATE.rng.uniform(lo, hi)
        if STATE.rng.random() < STATE.stall[0]:
            pause += STATE.stall[1]
        time.sleep(pause)
    if ids:
        with _db() as c:
            c.execute("UPDATE dmp.runs SET ended=%s WHERE id = ANY(%s)", (time.time(), ids))


def run_items(t: dispatch.Tick, refs: list[str]) -> None:
    rows: list[tuple[str, str | None, float | None]] = []
    least = 0.0  # a version may ask its run to last at least this long ("w": the orchestrator's sibling races)
    for ref in refs:
        m = dispatch.member(KIND_ITEM, ref)
        raw, p = _payload(t, KIND_ITEM, ref)
        if p is None or raw is None:
            _event("no_payload", m)
            continue
        if float(p["due"]) > time.time() + 0.05:  # a version moved later behind this tick's back: not yet
            t.arm(KIND_ITEM, ref, float(p["due"]))
            _event("not_yet", m, p["v"])
            continue
        rows.append((m, p["v"], float(p["due"])))
        # "once": only the version's first run is slow (a tick that takes it over after the lease runs it briefly;
        # else each run of a batch popped with it would outlive its lease again, and again)
        if not p.get("once") or STATE.redis.set(f"harness:dmp:once:{p['v']}", 1, nx=True):
            least = max(least, float(p.get("w") or 0))
            if p.get("left") is not None:  # until this long before the tick's lease ends (a late claim follows)
                least = max(least, t.lease - float(p["left"]) - time.time())
        if int(p.get("n") or 0) > 0:
            child = {"v": p["v"] + ".r", "due": float(p["due"]) + STEP, "n": int(p["n"]) - 1}
            if p.get("sib"):
                child["sib"] = p["sib"]
            t.arm(KIND_ITEM, ref, child["due"])
            t.set_payload(P_ITEM, ref, child, unless_changed_from=_expected_raw(t, KIND_ITEM, ref, raw))
        if p.get("sib"):
            t.arm(KIND_SIB, str(p["sib"]), time.time())
            _event("sib_arm", dispatch.member(KIND_SIB, str(p["sib"])), p["v"])
    _work_and_end(_start(t, rows), (least, least + 0.05) if least else None)


def run_early(t: dispatch.Tick, refs: list[str]) -> None:
    rows: list[tuple[str, str | None, float | None]] = []
    for ref in refs:
        _raw, p = _payload(t, KIND_EARLY, ref)
        if p is None:
            _event("no_payload", dispatch.member(KIND_EARLY, ref))
            continue
        rows.append((dispatch.member(KIND_EARLY, ref), p["v"], float(p["due"])))
    _work_and_end(_start(t, rows))


def run_siblings(t: dispatch.Tick, refs: list[str]) -> None:
    # longer than the others: another tick's handler arms the sibling for now while this one runs it
    _work_and_end(_start(t, [(dispatch.member(KIND_SIB, ref), None, None) for ref in refs]), STATE.sibling_work)


def _events(rows: list[tuple[str, str, str]]) -> None:
    if rows:
        with _db() as c:
            c.execute("INSERT INTO dmp.events (event, member, tick, at, info) "
                      "SELECT e, m, %s, %s, i FROM unnest(%s::text[], %s::text[], %s::text[]) AS x(e, m, i)",
                      (STATE.tick, time.time(), [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))


def _after_lease(t: dispatch.Tick) -> None:
    # hooks run right after the pop: the tick holds its leases and has run nothing yet
    if t.leased:
        # the timeline of a failure: what this tick leased, for when, and which live leases the pop saw
        info = json.dumps({"now": t.now, "lease": t.lease, "held_elsewhere": sorted(t.held_elsewhere)})
        _events([("pop", m, info) for m in sorted(t.leased)])
        _check_lease_hash("pop")
        maybe_die("after_lease")


def _check_lease_hash(script: str) -> None:
    """Right after a script wrote leases: no live lease may outlive the lease hash (its expiry would take the record
    with it, and a pop would take the item from under its holder). Read atomically; the hash's real expiry is no
    later than the time after the read plus its PTTL."""
    pipe = STATE.redis.pipeline(transaction=True)
    pipe.pttl(dispatch.LEASE_KEY)
    pipe.hgetall(dispatch.LEASE_KEY)
    pttl, held = pipe.execute()
    now = time.time()
    if pttl > 0:
        gone = now + pttl / 1000
        cut = [(m, float(u)) for m, u in held.items() if float(u) > gone + 0.01]
        _events([("lease_cut", m, f"after a {script}: leased until {u:.3f}, the hash expires at {gone:.3f}")
                 for m, u in cut])


class _TracedRedis:
    """The app's Redis client, recording what the two mid-tick lease-taking scripts (claim, early pick) took and
    the lease they wrote (with it, the lease hash's expiry), and checking the lease hash after them: the timeline
    of a failure."""

    def __init__(self, inner: Any):
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def eval(self, script: str, *args: Any, **kw: Any) -> Any:
        res = self._inner.eval(script, *args, **kw)
        name = {dispatch._CLAIM: "claim", dispatch._EARLY: "early"}.get(script)
        if name and res:
            argv = kw.get("args") or []
            now, lease = float(argv[0]), float(argv[1])
            info = json.dumps({"now": now, "lease": lease, "expire": math.ceil(2 * (lease - now))})
            _events([(name, str(m), info) for m in res])
            _check_lease_hash(name)
        return res


def _install_commit_wrapper() -> None:
    real = dispatch._commit

    def commit(redis, t: dispatch.Tick, pkeys):
        if t.leased:
            maybe_die("before_commit")
        moved = real(redis, t, pkeys)
        with _db() as c:  # after the commit script returned: the commit happened no later than `at`
            c.execute("INSERT INTO dmp.commits (tick, pid, lease, at, moved) VALUES (%s, %s, %s, %s, %s)",
                      (STATE.tick, STATE.pid, t.lease, time.time(), sorted(moved)))
        if t.leased:
            maybe_die("after_commit")
        return moved

    dispatch._commit = commit  # type: ignore[assignment]


def install() -> None:
    """Register the kinds, the after-lease kill point and the commit wrapper (in the zygote, before any fork)."""
    me = __name__
    dispatch.register(Kind(KIND_ITEM, f"{me}:run_items", needs_db=True, payload_key=P_ITEM, order=1))
    dispatch.register(Kind(KIND_EARLY, f"{me}:run_early", needs_db=True, payload_key=P_EARLY, early=EARLY,
                           order=2))
    dispatch.register(Kind(KIND_SIB, f"{me}:run_siblings", needs_db=True, order=3))
    dispatch.hook(_after_lease)
    _install_commit_wrapper()
    # QStash wake-ups are not under test (the workers tick on their own); none leave this process
    dispatch._publish_wakeup = lambda at: None  # type: ignore[assignment]
    real_redis = dispatch._redis
    dispatch._redis = lambda: _TracedRedis(real_redis())  # type: ignore[assignment]
