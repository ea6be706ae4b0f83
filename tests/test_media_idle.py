"""The idle worker's cost, with timers scaled down 60x (0.5 s BLPOP timeout stands for 30 s, a 2 s safety
poll for 2 min): Redis commands counted by the Redis server itself, Postgres connections seen from
pg_stat_activity."""

from __future__ import annotations

import re
import time

from media_support import WorkerProcess, worker_env


def _blpop_calls(redis_raw) -> int:
    stats = redis_raw.info("commandstats")
    return int(stats.get("cmdstat_blpop", {}).get("calls", 0))


def test_idle_worker_is_cheap_and_holds_no_connection(backing, db, redis_raw, clean_state, tmp_path):
    before = _blpop_calls(redis_raw)
    w = WorkerProcess(worker_env(backing, tmp_path / "scratch", MEDIA_WORKER_IDLE_WAIT_SECONDS="0.5",
                                 MEDIA_WORKER_SWEEP_SECONDS="2"), tmp_path / "w.log").wait_ready()
    started = time.monotonic()
    held = []
    try:
        # sampled through the idle stretch: a sample may land on a sweep's query (a loaded machine makes them
        # slower), a connection kept open between polls would be in every sample
        for _ in range(10):
            time.sleep(0.5)
            # this database only: a parallel test session's workers connect to the same server
            held.append(db.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = "
                                   "'media_worker' AND datname = current_database()").fetchone()["n"])
    finally:
        w.stop()
    idle = time.monotonic() - started  # a loaded machine stretches the sleeps: bounds follow the time that passed
    blpops = _blpop_calls(redis_raw) - before
    m = re.search(r"postgres_queries=(\d+) redis_commands=(\d+)", w.log())
    queries, commands = int(m.group(1)), int(m.group(2))
    assert held.count(0) >= len(held) - 3, held  # closed between polls: Neon can scale to zero
    # one BLPOP per idle_wait (0.5 s) at most, nothing else; a BLPOP can only end early if a job arrives
    assert 4 <= blpops <= idle / 0.5 + 3 and commands == blpops
    assert 2 <= queries <= idle / 2 + 2  # the first claim plus one per sweep interval (2 s)
