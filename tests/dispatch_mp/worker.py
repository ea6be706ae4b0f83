"""One worker process: real dispatcher ticks (`shared.scheduling.dispatch.tick`, the real scripts against the real
Redis through the app's client, handlers on the real Postgres pool), one after another, each woken by a short
timer or by the orchestrator's burst (which wakes every worker at once: overlapping ticks).

What is not production here, and why:
- the test kinds of dispatch_mp/kinds.py (they record every run) and the kill points: with the odds the
  orchestrator passes, this process SIGKILLs itself right after the pop leased items, inside a handler, right
  before the commit and right after it. Random-moment kills and freezes come from the orchestrator;
- no QStash wake-ups (the ticks come from the loop below).

    python tests/dispatch_mp/worker.py --zygote   (configuration in HARNESS_* and DISPATCH_LEASE_SECONDS;
    then one line per worker on stdin: `spawn [kill point it dies at]`)
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

GO = "harness:dmp:go"
READY = "harness:dmp:ready"
BUSY = "harness:dmp:busy"  # pid -> the tick it is running


def main(doomed: str = "") -> None:
    import redis as redis_lib

    from dispatch_mp import kinds
    from shared.scheduling import dispatch

    env = os.environ
    r = redis_lib.Redis.from_url(env["HARNESS_REDIS_URL"], decode_responses=True)
    st = kinds.STATE
    st.pid, st.redis, st.rng = os.getpid(), r, random.Random(os.getpid() ^ int(env.get("HARNESS_SEED", "0")))
    st.odds = {p: float(env.get(f"HARNESS_KILL_{p.upper()}", "0"))
               for p in ("after_lease", "in_handler", "before_commit", "after_commit")}
    st.doomed = doomed
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    r.sadd(READY, st.pid)
    seq = 0
    while not stop.is_set():
        r.blpop([GO], timeout=st.rng.uniform(0.05, 0.25))
        if stop.is_set():
            break
        seq += 1
        st.tick = f"{st.pid}.{seq}"
        # the orchestrator's freezes and kills aim at ticks in flight; the settle waits for the ticks in flight to end
        r.hset(BUSY, str(st.pid), st.tick)
        try:
            dispatch.tick()
        except Exception:
            r.hincrby(kinds.ERRORS, "tick", 1)
            r.rpush(kinds.ERRORS + ":log", traceback.format_exc()[-1500:])
        r.hdel(BUSY, str(st.pid))
    from shared.db import close_pool

    close_pool()


def zygote() -> None:
    """Import everything once, then fork a fresh worker per line on stdin (its pid back on stdout). A worker
    killed with SIGKILL is replaced in milliseconds; each is still its own OS process, with its own Redis and
    Postgres connections (none exist before the fork)."""
    import psycopg  # noqa: F401
    import redis  # noqa: F401
    import upstash_redis  # noqa: F401

    import shared.db  # noqa: F401
    from dispatch_mp import kinds
    from shared.scheduling import dispatch

    dispatch.kinds()  # the real kinds and their hooks, as a tick imports them
    kinds.install()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps dead workers
    for line in sys.stdin:  # "spawn [kill point]"
        words = line.split()
        if not words or words[0] != "spawn":
            continue
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                main(words[1] if len(words) > 1 else "")
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    zygote()
