"""A process for the carried-ahead kill -9 test (tests/test_carried_ahead_under_kill_9.py): forked by a zygote
that imported everything once, it runs one job and exits, or SIGKILLs itself at the carry's worst moments.

Jobs (one line on the zygote's stdin each: `<job> <seed> <kill probability> <forced kill point or ->`):
- carry: one pass of the staging window's carry step (`ahead.materialise()`) over every RSS and TMDb post; kill
  points right after `gateway.prepare` created (or found) the publication, right after it was staged, inside
  the hand-over transaction (before its commit) and after the commit (before the dispatcher item is disarmed);
- early: a delivery that runs while its post is being carried (a stale item, a carrier stalled past its lead, a
  delivery by hand): a few posts, picked at random, delivered long before their slot, next to the carriers;
- deliver: the at-slot deliveries of every post whose dispatcher item is armed (RSS `deliver_due`; TMDb
  `deliver` as its dispatcher handler calls it; a carried post whose disarm never happened included), in random
  order; kill point after the gateway answered, before the delivery records it (TMDb: after its last platform);
- send: every stage in a random order (one thread: a kill after a claim must not stop another thread's send
  midway); kill point right after a claim (a kill later in the send, which may end `unconfirmed`, is
  test_publishing_staged_under_kill_9.py's);
- writeback / settle: the write-back, then the engine's maintenance and the capabilities' safety nets, no kills.

A forced point kills the process the first time it is reached (whatever the probability), so every chosen
moment is hit in every run; the other points kill at random with the probability given.

What is not production here: platform hostnames resolve to the fake server (worker.install_transport), and the
dispatcher's wake-up (a QStash message) is not sent: the harness drives every step itself.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

P = "carried:"  # the harness's Redis keys (counters, errors)


def _killer(redis, p: float, seed: int, forced: str):
    rng = random.Random(seed)
    lock = threading.Lock()

    def maybe(kind: str) -> None:
        with lock:
            hit = kind == forced or (p > 0 and rng.random() < p)
        if hit:
            redis.hincrby(P + "kills", kind, 1)
            os.kill(os.getpid(), signal.SIGKILL)
    return maybe


def _error(redis) -> None:
    redis.rpush(P + "errors", traceback.format_exc()[-1500:])


def _carry(redis, maybe) -> None:
    from shared import activity
    from shared.publishing import gateway
    from shared.publishing.staging import ahead, stage

    real_prepare, real_stage, real_log, real_disarm = gateway.prepare, stage.stage_one, activity.log, ahead.disarm

    def prepare(*a, **kw):
        got = real_prepare(*a, **kw)
        if got is not None:
            maybe("carry_after_prepare")
        return got

    def stage_one(*a, **kw):
        why = real_stage(*a, **kw)
        if why is None:
            maybe("carry_after_stage")
        return why

    def log(source, level, message, *a, **kw):
        if message.startswith("pre-staged"):  # written inside the hand-over transaction, before its commit
            maybe("carry_before_handover_commit")
        return real_log(source, level, message, *a, **kw)

    def disarm(kind, ref):
        maybe("carry_after_handover_commit")
        return real_disarm(kind, ref)

    gateway.prepare, stage.stage_one, activity.log, ahead.disarm = prepare, stage_one, log, disarm  # type: ignore
    try:
        out = ahead.materialise()
        for name, counts in out.items():
            for k, v in counts.items():
                redis.hincrby(P + "carried", f"{name}:{k}", v)
    except Exception:
        _error(redis)


def _posts(within: str = "100 years"):
    from shared.db import connection

    with connection() as c:
        rss = [str(r["id"]) for r in c.execute("SELECT id FROM rss_planned_posts WHERE scheduled_at < now() + "
                                               "%s::interval ORDER BY id", (within,))]
        tmdb = [str(r["id"]) for r in c.execute("SELECT id FROM tmdb_posts WHERE scheduled_at < now() + "
                                                "%s::interval ORDER BY id", (within,))]
    return rss, tmdb


def _deliver_rss(post_id: str, *, at_slot: bool) -> dict:
    from datetime import datetime, timezone

    from shared.db import connection
    from shared.rss import queue

    if at_slot:
        return queue.deliver_due(post_id, datetime.now(timezone.utc))
    with connection() as c:
        post = c.execute("SELECT version FROM rss_planned_posts WHERE id = %s", (post_id,)).fetchone()
    return queue.deliver(post_id, post["version"])


def _deliver_tmdb(post_id: str, *, at_slot: bool) -> dict:
    """As the dispatcher's handler does (tmdb.dispatch.deliver_due): a scheduled post whose time has come."""
    from shared import clock
    from shared.db import connection
    from shared.tmdb import delivery

    with connection() as c:
        post = c.execute("SELECT version, status, scheduled_at FROM tmdb_posts WHERE id = %s", (post_id,)).fetchone()
    if post is None or post["status"] != "scheduled":
        return {"stale": True}
    if at_slot and post["scheduled_at"] > clock.now():
        return {"rearm": True}
    return delivery.deliver(post_id, int(post["version"]))


def _deliver(redis, maybe, seed: int, *, at_slot: bool) -> None:
    from shared.rss import queue
    from shared.tmdb import delivery

    real_rss, real_one = queue.publish_for_rss, delivery._publish_one

    def publish_for_rss(*a, **kw):
        out = real_rss(*a, **kw)
        maybe("delivery_after_publish")  # the planned post is `publishing`, its outcome not recorded
        return out

    def publish_one(post, platform, rehost):
        out = real_one(post, platform, rehost)
        if platform == post["platforms"][-1]:  # (a delivery stopped between platforms is not this test's)
            maybe("delivery_after_publish")
        return out

    queue.publish_for_rss, delivery._publish_one = publish_for_rss, publish_one  # type: ignore[assignment]
    rng = random.Random(seed)
    rss, tmdb = _posts() if at_slot else _posts("2 hours")  # (early: the posts being carried)
    if at_slot:  # as the dispatcher fires them: the posts whose item is still armed (a carried post's item is
        # disarmed after its hand-over; one left behind, by a carrier killed before the disarm, fires as usual)
        from shared.scheduling import dispatch

        armed = {dispatch.split(m)[1] for m in dispatch.pending()}
        rss, tmdb = [p for p in rss if p in armed], [p for p in tmdb if p in armed]
    work = [("rss", p) for p in rss] + [("tmdb", p) for p in tmdb]
    rng.shuffle(work)
    if not at_slot:
        work = work[:3]
    for kind, post_id in work:
        try:
            res = (_deliver_rss if kind == "rss" else _deliver_tmdb)(post_id, at_slot=at_slot)
            verdict = "stale" if res.get("stale") else str(res.get("status") or "other")
            redis.hincrby(P + ("delivered" if at_slot else "early"), verdict, 1)
        except Exception:
            _error(redis)


def _send(redis, maybe, seed: int) -> None:
    from shared.publishing.staging import record
    from shared.publishing.staging.send import send

    real_claim = record.claim

    def claim(*a, **kw):
        res = real_claim(*a, **kw)
        if res[0] == "ok":
            maybe("send_after_claim")
        return res

    record.claim = claim  # type: ignore[assignment]
    order = sorted(record.all_ids())
    random.Random(seed).shuffle(order)
    for pub_id in order:
        try:
            redis.hincrby(P + "verdicts", send(pub_id), 1)
        except Exception:
            _error(redis)


def _writeback(redis) -> None:
    from shared.publishing.staging.writeback import write_back

    try:
        for k, v in write_back().items():
            redis.hincrby(P + "written_back", k, v)
    except Exception:
        _error(redis)


def _settle(redis) -> None:
    """The engine's maintenance (claims run out, stuck ones checked, overdue planned rows run) and the
    capabilities' safety nets for a settle listener that was missed (a process killed in between)."""
    from datetime import timedelta

    from publishing_time import expire_leases

    from shared.publishing.engine.runner import run_overdue, sweep_stuck
    from shared.rss.queue import reconcile_waiting
    from shared.tmdb.delivery import reconcile_publishing

    try:
        expire_leases()
        sweep_stuck()
        run_overdue(grace_seconds=0)
        redis.hincrby(P + "safety_net", "rss", reconcile_waiting(limit=100, older_than=timedelta(0)))
        redis.hincrby(P + "safety_net", "tmdb", reconcile_publishing(limit=100))
    except Exception:
        _error(redis)


def job(line: str) -> None:
    import redis as redis_lib

    from publishing_mp.worker import install_transport
    from shared.scheduling import dispatch

    kind, seed, p, forced = line.split()
    env = os.environ
    r = redis_lib.Redis.from_url(env["HARNESS_REDIS_URL"], decode_responses=True)
    install_transport(set(env["HARNESS_FAKE_HOSTS"].split(",")), int(env["HARNESS_FAKE_PORT"]))
    dispatch._publish_wakeup = lambda at: None  # type: ignore[assignment]  (the harness drives every step)
    maybe = _killer(r, float(p), int(seed), forced)
    if kind == "carry":
        _carry(r, maybe)
    elif kind in ("early", "deliver"):
        _deliver(r, maybe, int(seed), at_slot=kind == "deliver")
    elif kind == "send":
        _send(r, maybe, int(seed))
    elif kind == "writeback":
        _writeback(r)
    else:
        _settle(r)
    from shared.db import close_pool

    close_pool()


def zygote() -> None:
    import httpx  # noqa: F401
    import psycopg  # noqa: F401
    import redis  # noqa: F401

    import shared.publishing.engine.runner
    import shared.publishing.staging.ahead
    import shared.publishing.staging.send
    import shared.publishing.staging.writeback
    import shared.rss
    import shared.rss.queue
    import shared.tmdb
    import shared.tmdb.delivery  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished and killed jobs
    for line in sys.stdin:
        if not line.strip():
            continue
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                job(line)
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    zygote()
