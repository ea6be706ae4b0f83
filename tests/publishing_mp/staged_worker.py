"""A process for the staged-post kill -9 test (tests/test_publishing_staged_under_kill_9.py): forked by a zygote
that imported everything once, it runs one job and exits, or SIGKILLs itself at the protocol's worst moments.

Jobs (one line on the zygote's stdin each: `<job> <seed> <kill probability>`):
- send: two threads send every stage in their own random order (so several processes and threads race for
  each stage); kill points right after a claim, right after `sending` (before the platform call), and after
  the platform answered but before the outcome is written. The fake server also kills a sender right after
  the platform accepted (before the answer reaches it).
- writeback: one write-back; kill points after the row left `staged`, before the engine's published settle,
  and before the record is forgotten.
- settle: the engine's maintenance without faults: expired claims to the checkers, planned rows run.

What is not production here: platform hostnames resolve to the fake server (worker.install_transport).
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


def _killer(redis, p: float, seed: int):
    rng = random.Random(seed)
    lock = threading.Lock()

    def maybe(kind: str) -> None:
        with lock:
            hit = p > 0 and rng.random() < p
        if hit:
            redis.hincrby("staged:kills", kind, 1)
            os.kill(os.getpid(), signal.SIGKILL)
    return maybe


def _send(redis, maybe, seed: int) -> None:
    from shared.publishing.staging import record
    from shared.publishing.staging.send import send

    real_claim, real_to_sending, real_finish = record.claim, record.to_sending, record.finish

    def claim(*a, **kw):
        res = real_claim(*a, **kw)
        if res[0] == "ok":
            maybe("after_claim")
        return res

    def to_sending(*a, **kw):
        ok = real_to_sending(*a, **kw)
        if ok:
            maybe("after_sending")
        return ok

    def finish(*a, **kw):
        maybe("before_outcome")
        return real_finish(*a, **kw)

    record.claim, record.to_sending, record.finish = claim, to_sending, finish  # type: ignore[assignment]
    ids = sorted(record.all_ids())

    def loop(n: int) -> None:
        order = list(ids)
        random.Random(seed * 10 + n).shuffle(order)
        for pub_id in order:
            try:
                redis.hincrby("staged:verdicts", send(pub_id), 1)
            except Exception:
                redis.rpush("staged:errors", traceback.format_exc()[-1500:])

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _writeback(redis, maybe) -> None:
    from shared.publishing.engine import outcomes
    from shared.publishing.engine import publications as pubs
    from shared.publishing.staging import record
    from shared.publishing.staging.writeback import write_back

    real_unstage, real_published, real_forget = pubs.unstage_to_publishing, outcomes.published, record.forget

    def unstage(*a, **kw):
        row = real_unstage(*a, **kw)
        if row is not None:
            maybe("writeback_after_unstage")
        return row

    def published(*a, **kw):
        maybe("writeback_before_settle")
        return real_published(*a, **kw)

    def forget(*a, **kw):
        maybe("writeback_before_forget")
        return real_forget(*a, **kw)

    pubs.unstage_to_publishing, outcomes.published, record.forget = unstage, published, forget  # type: ignore
    try:
        for k, v in write_back().items():
            redis.hincrby("staged:written_back", k, v)
    except Exception:
        redis.rpush("staged:errors", traceback.format_exc()[-1500:])


def _settle(redis) -> None:
    from publishing_time import expire_leases

    from shared.publishing.engine.runner import run_overdue, sweep_stuck

    try:
        expire_leases()
        sweep_stuck()
        run_overdue(grace_seconds=0)
    except Exception:
        redis.rpush("staged:errors", traceback.format_exc()[-1500:])


def job(line: str) -> None:
    import redis as redis_lib

    from publishing_mp.worker import install_transport

    kind, seed, p = line.split()
    env = os.environ
    r = redis_lib.Redis.from_url(env["HARNESS_REDIS_URL"], decode_responses=True)
    install_transport(set(env["HARNESS_FAKE_HOSTS"].split(",")), int(env["HARNESS_FAKE_PORT"]))
    maybe = _killer(r, float(p), int(seed))
    if kind == "send":
        _send(r, maybe, int(seed))
    elif kind == "writeback":
        _writeback(r, maybe)
    else:
        _settle(r)
    from shared.db import close_pool

    close_pool()


def zygote() -> None:
    import httpx  # noqa: F401
    import psycopg  # noqa: F401
    import redis  # noqa: F401

    import shared.publishing.engine.runner
    import shared.publishing.staging.send
    import shared.publishing.staging.writeback  # noqa: F401

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
