"""RSS polling benchmark: one tick over 200 feeds × 50 items served locally, the same tick when every feed answers
304, and a naive sequential `feedparser.parse(url)` loop over the same feeds as the baseline.

Targets (issue 3): the 200-feed tick under 20 s and ≥ 5× faster than the naive loop; the 304 tick ≥ 10× cheaper
than the full one. Issue 15: the steady tick (one new item per feed) ≥ 8× faster than the naive loop in wall
time and ≤ 0.5× its CPU, measured as the median of interleaved rounds (tick, naive, naive, tick, ...); and the
tick's CPU per month at the default 20 feeds beside Vercel Hobby's 4 h of active CPU a month. Also prints Redis
commands and QStash messages per tick.

Run: `python -m bench.rss` (boots a private local stack; never touches the configured services).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

FEEDS = int(os.environ.get("BENCH_RSS_FEEDS", "200"))
ROUNDS = int(os.environ.get("BENCH_RSS_ROUNDS", "3"))
HOBBY_CPU_HOURS = 4.0  # Vercel Hobby: active CPU included per month (https://vercel.com/docs/functions/usage-and-pricing)
DEFAULT_FEEDS, DEFAULT_INTERVAL_MIN, TICK_EVERY_MIN = 20, 10, 5
ITEMS = int(os.environ.get("BENCH_RSS_ITEMS", "50"))
# Each answer is delayed to model a remote HTTPS feed: a new connection costs DNS + TCP + TLS (3 round trips) plus
# the request and the origin's time to first byte; 200 ms is a typical total from a cloud region (50 ms RTT).
# With BENCH_RSS_LATENCY_MS=0 the comparison is pure CPU (feedparser dominates both sides).
LATENCY_MS = float(os.environ.get("BENCH_RSS_LATENCY_MS", "200"))


class _ChildServer:
    """The feed server in a child process: its CPU and GIL are not the tick's."""

    def __init__(self, latency_ms: float):
        import subprocess

        from shared.local import services

        self.port = services.free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.local.feed_server", str(self.port),
                                      str(latency_ms)], cwd=str(Path(__file__).resolve().parents[1]))
        services.wait_for_port("127.0.0.1", self.port, 20)
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _boot():
    """Always a private stack (a fresh database, its own Redis and QStash emulator), like the tests: the bench
    truncates its tables, so it must never run against the configured (dev or production) services."""
    from shared.local import services
    from shared.local.stack import start_backing

    tmp = services.tempdir("screndly-bench-rss-")
    backing = start_backing(mode="test", data_dir=tmp, public_base_url=f"http://127.0.0.1:{services.free_port()}")
    os.environ.update(backing.env)
    os.environ["APP_ENV"] = "test"
    # every bench feed lives on one local host; real feeds are spread over many hosts, so the per-host
    # politeness limit is lifted here (it is covered by tests/test_rss_poller.py)
    os.environ.setdefault("RSS_PER_HOST_CONCURRENCY", "0")
    return backing, tmp


def _seed_feeds(base: str) -> None:
    from shared.db import connection

    with connection() as conn:
        conn.execute("TRUNCATE rss_feeds CASCADE")
        conn.execute(
            "INSERT INTO rss_feeds (name, url, interval_minutes, next_run_at) "
            "SELECT 'bench ' || n, %s || '/gen/' || n || '.xml?items=' || %s, 5, now() - interval '1 second' "
            "FROM generate_series(1, %s) AS n", (base, ITEMS, FEEDS))


def _make_due() -> None:
    from shared.db import connection

    with connection() as conn:
        conn.execute("UPDATE rss_feeds SET next_run_at = now() - interval '1 second'")


def _tick(counter):
    from shared.rss import poller

    if counter is not None:
        counter.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    report = asyncio.run(poller.tick(with_channels=False))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return report, wall, cpu, (counter.total if counter is not None else None)


def _naive(urls: list[str]):
    import feedparser

    t0, c0 = time.perf_counter(), time.process_time()
    entries = 0
    for u in urls:
        entries += len(feedparser.parse(u).entries)
    return time.perf_counter() - t0, time.process_time() - c0, entries


def _set_generation(base: str, n: int) -> None:
    import httpx

    httpx.get(f"{base}/_generation?set={n}", timeout=10).raise_for_status()


def main() -> None:
    import statistics

    backing, tmp = _boot()
    from shared.config import get_config

    get_config.cache_clear()
    os.environ.setdefault("ALLOW_PRIVATE_NETWORK_FETCH", "true")
    get_config.cache_clear()
    from shared.db.migrate import apply_migrations

    apply_migrations()
    server = _ChildServer(LATENCY_MS)
    try:
        _seed_feeds(server.base)
        counter = backing.redis_counter
        from shared.db import connection

        full, full_wall, full_cpu, full_redis = _tick(counter)
        with connection() as conn:
            stored = conn.execute("SELECT count(*) AS n FROM rss_items").fetchone()["n"]
        _make_due()
        nm, nm_wall, nm_cpu, nm_redis = _tick(counter)
        idle, idle_wall, idle_cpu, _ = _tick(counter)  # nothing due: the fixed cost of every tick
        urls = [f"{server.base}/gen/{n}.xml?items={ITEMS}" for n in range(1, FEEDS + 1)]
        # steady state: each round every feed publishes one new item (same URLs, new ETag); the naive loop reads
        # the same documents. Interleaved, alternating who goes first, so load drifts hit both sides.
        ticks, naives = [], []
        for r in range(1, ROUNDS + 1):
            _set_generation(server.base, r)
            _make_due()
            if r % 2:
                ticks.append(_tick(counter))
                naives.append(_naive(urls))
            else:
                naives.append(_naive(urls))
                ticks.append(_tick(counter))
        steady, _, _, st_redis = ticks[-1]
        st_wall = statistics.median(t[1] for t in ticks)
        st_cpu = statistics.median(t[2] for t in ticks)
        naive_wall = statistics.median(n[0] for n in naives)
        naive_cpu = statistics.median(n[1] for n in naives)
        naive_entries = naives[-1][2]
    finally:
        server.stop()

    rows = [
        ("naive sequential feedparser.parse(url)", naive_wall, naive_cpu, "-", "-",
         f"{naive_entries} entries, no DB (median of {ROUNDS})"),
        ("tick: first fetch (seed)", full_wall, full_cpu, full_redis, 1 + full.messages,
         f"{full.processed} feeds, {stored} items stored"),
        ("tick: all 304 Not Modified", nm_wall, nm_cpu, nm_redis, 1 + nm.messages,
         f"{nm.not_modified} not modified"),
        ("tick: nothing due", idle_wall, idle_cpu, "-", 1 + idle.messages, "the fixed cost of a tick"),
        ("tick: 1 new item per feed", st_wall, st_cpu, st_redis, 1 + steady.messages,
         f"{steady.new_items} new items processed (filters, dedupe, images, caption); median of {ROUNDS}"),
    ]
    print(f"\nRSS polling: {FEEDS} feeds × {ITEMS} items from a local server in another process answering after "
          f"{LATENCY_MS:g} ms (one invocation, concurrency {get_config().rss_fetch_concurrency}, "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"{'run':44} {'wall s':>8} {'cpu s':>8} {'redis cmds':>10} {'qstash msgs':>11}  notes")
    for name, wall, cpu, redis, msgs, note in rows:
        print(f"{name:44} {wall:8.2f} {cpu:8.2f} {redis!s:>10} {msgs!s:>11}  {note}")
    speedup = naive_wall / full_wall if full_wall else float("inf")
    cheaper = full_cpu / nm_cpu if nm_cpu else float("inf")
    cheaper_wall = full_wall / nm_wall if nm_wall else float("inf")
    print(f"\nfull tick vs naive loop: {speedup:.1f}× faster (target ≥ 5×); full tick {full_wall:.1f} s "
          f"(target < 20 s); 304 tick {cheaper:.1f}× cheaper in CPU, {cheaper_wall:.1f}× in wall time "
          f"(target ≥ 10×)")
    steady_speed, steady_cpu = naive_wall / st_wall, st_cpu / naive_cpu
    print(f"steady tick (1 new item per feed) vs naive loop: wall {steady_speed:.1f}× faster "
          f"({'PASS' if steady_speed >= 8 else 'FAIL'}, target ≥ 8×); CPU {steady_cpu:.2f}× the naive loop's "
          f"({'PASS' if steady_cpu <= 0.5 else 'FAIL'}, target ≤ 0.5×)")
    # a month at the default setup: a tick every 5 min, 20 feeds each fetched every 10 min
    ticks_month = 30 * 24 * 60 / TICK_EVERY_MIN
    fetches_month = DEFAULT_FEEDS * 30 * 24 * 60 / DEFAULT_INTERVAL_MIN
    per_new = max(0.0, st_cpu - idle_cpu) / FEEDS
    per_304 = max(0.0, nm_cpu - idle_cpu) / FEEDS
    worst = (ticks_month * idle_cpu + fetches_month * per_new) / 3600
    quiet = (ticks_month * idle_cpu + fetches_month * per_304) / 3600
    print(f"tick CPU per month at {DEFAULT_FEEDS} feeds (every {DEFAULT_INTERVAL_MIN} min, a tick every "
          f"{TICK_EVERY_MIN} min): {worst:.2f} h if every fetch brings a new item, {quiet:.2f} h if all answer 304 "
          f"— Vercel Hobby includes {HOBBY_CPU_HOURS:g} h of active CPU a month "
          f"({'PASS' if worst <= HOBBY_CPU_HOURS else 'FAIL'}; cold starts and API requests not included)")
    print("qstash msgs = the schedule's own tick message + anything the tick published (fan-out, deliveries)")
    from shared.db import close_pool

    close_pool()
    backing.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
