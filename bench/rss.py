"""RSS polling benchmark: one tick over 200 feeds × 50 items served locally, the same tick when every feed answers
304, and a naive sequential `feedparser.parse(url)` loop over the same feeds as the baseline.

Targets (issue 3): the 200-feed tick under 20 s and ≥ 5× faster than the naive loop; the 304 tick ≥ 10× cheaper
than the full one. Also prints Redis commands and QStash messages per tick.

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


def main() -> None:
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
        # a steady-state tick: every feed has one new item on top of 49 known ones (dedupe does the work)
        with connection() as conn:
            conn.execute("UPDATE rss_feeds SET url = replace(url, '?items=', '?v=1&items='), etag = NULL, "
                         "next_run_at = now() - interval '1 second'")
        steady, st_wall, st_cpu, st_redis = _tick(counter)
        urls = [f"{server.base}/gen/{n}.xml?items={ITEMS}" for n in range(1, FEEDS + 1)]
        naive_wall, naive_cpu, naive_entries = _naive(urls)
    finally:
        server.stop()

    rows = [
        ("naive sequential feedparser.parse(url)", naive_wall, naive_cpu, "-", "-", f"{naive_entries} entries, no DB"),
        ("tick: first fetch (seed)", full_wall, full_cpu, full_redis, 1 + full.messages,
         f"{full.processed} feeds, {stored} items stored"),
        ("tick: all 304 Not Modified", nm_wall, nm_cpu, nm_redis, 1 + nm.messages,
         f"{nm.not_modified} not modified"),
        ("tick: 1 new item per feed", st_wall, st_cpu, st_redis, 1 + steady.messages,
         f"{steady.new_items} new items processed (filters, dedupe, images, caption)"),
    ]
    print(f"\nRSS polling: {FEEDS} feeds × {ITEMS} items from a local server in another process answering after "
          f"{LATENCY_MS:g} ms (one invocation, concurrency {get_config().rss_fetch_concurrency})")
    print(f"{'run':44} {'wall s':>8} {'cpu s':>8} {'redis cmds':>10} {'qstash msgs':>11}  notes")
    for name, wall, cpu, redis, msgs, note in rows:
        print(f"{name:44} {wall:8.2f} {cpu:8.2f} {str(redis):>10} {str(msgs):>11}  {note}")
    speedup = naive_wall / full_wall if full_wall else float("inf")
    cheaper = full_cpu / nm_cpu if nm_cpu else float("inf")
    cheaper_wall = full_wall / nm_wall if nm_wall else float("inf")
    print(f"\nfull tick vs naive loop: {speedup:.1f}× faster (target ≥ 5×); full tick {full_wall:.1f} s "
          f"(target < 20 s); 304 tick {cheaper:.1f}× cheaper in CPU, {cheaper_wall:.1f}× in wall time "
          f"(target ≥ 10×)")
    print("qstash msgs = the schedule's own tick message + anything the tick published (fan-out, deliveries)")
    from shared.db import close_pool

    close_pool()
    backing.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
