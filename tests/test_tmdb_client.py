"""The TMDb client against the validating fake over real HTTP, real Redis (through the Upstash bridge) for the
response cache and the shared limiter: auth styles, cache economy, 429 back-off, usage counting; and the limiter
shared by real OS processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from tmdb_support import fake_world, start_fake, tmdb_config

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 5, 20)


@pytest.fixture
def fake(backing, clean_state):
    with fake_world(TODAY) as world:
        yield world


def _client(credential, **kw):
    from shared.tmdb.client import TMDbClient

    return TMDbClient(credential, **kw)


def test_v3_key_and_v4_token_both_work_and_a_bad_key_is_final(fake):
    from shared.local.tmdb_fake import FAKE_KEY, FAKE_TOKEN
    from shared.tmdb.client import TMDbClient, TMDbError

    f, _ = fake

    async def run():
        for cred in (FAKE_KEY, FAKE_TOKEN):
            c = _client(cred)
            got = await c.get(TMDbClient.search("skyline"))
            assert got["results"][0]["title"] == "Skyline Protocol"
            await c.aclose()
        c = _client("0123456789abcdef0123456789abcdef")
        with pytest.raises(TMDbError) as err:
            await c.get(TMDbClient.search("harbor"))  # not cached: the cache is keyed by request, not credential
        assert err.value.status == 401 and c.stats.calls == 1  # not retried
        await c.aclose()

    asyncio.run(run())
    assert f.refusals[-1]["status"] == 401
    assert not any("api_key" in r["query"] for r in f.requests)  # the key never lands in what we record


def test_a_batch_costs_three_redis_commands_and_the_second_is_all_cache(fake, backing):
    from shared.local.tmdb_fake import FAKE_KEY
    from shared.tmdb.client import TMDbClient
    from shared.usage import meter

    f, _ = fake
    ids = [t.id for t in f.catalogue if t.media_type == "movie"][:8]
    reqs = [TMDbClient.details("movie", i) for i in ids]

    async def run():
        c = _client(FAKE_KEY)
        first = await c.get_many(reqs)
        second = await c.get_many(reqs)
        await c.aclose()
        return c, first, second

    meter.take()
    backing.redis_counter.reset()
    c, first, second = asyncio.run(run())
    assert first == second and all(r["credits"]["cast"] is not None for r in first)
    assert c.stats.calls == 8 and c.stats.cache_hits == 8 and f.count("movie-details") == 8
    # MGET + limiter EVAL + store EVAL for the first batch, one MGET for the second
    assert backing.redis_counter.total == 4, backing.redis_counter.by_command
    assert meter.take().get("tmdb.calls") == 8


def test_429_is_waited_out_and_retried(backing, clean_state):
    from shared.local.tmdb_fake import FAKE_KEY
    from shared.tmdb.cache import ResponseCache
    from shared.tmdb.client import TMDbClient
    from shared.tmdb.ratelimit import Budget, SharedLimiter

    f, server = start_fake(TODAY, rate_limit=4, rate_window=1.0)
    try:
        with tmdb_config(server.url):
            async def run():
                # a limiter far looser than the fake: the fake's 429 is what paces us here
                c = _client(FAKE_KEY, limiter=SharedLimiter(Budget(200, 1.0)), cache=ResponseCache(),
                            ttl={"metadata": 0, "images": 0})
                got = await c.get_many([TMDbClient.search(f"q{i}") for i in range(7)])
                await c.aclose()
                return c, got

            c, got = asyncio.run(run())
    finally:
        server.stop()
    assert all(isinstance(g, dict) for g in got), got
    assert c.stats.rate_limited >= 1 and c.stats.calls == 7 + c.stats.rate_limited
    assert any(r["status"] == 429 for r in f.refusals)


_WORKER = r"""
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
from shared.tmdb.ratelimit import Budget, SharedLimiter
start = {start!r}
while time.time() < start:
    time.sleep(0.005)
lim = SharedLimiter(Budget({limit}, {window}), key={key!r})
grants = []
async def main():
    for _ in range({n}):
        await lim.acquire(1)
        grants.append(lim.last_grant)
asyncio.run(main())
print(json.dumps(grants))
"""


def test_the_limiter_is_shared_by_separate_processes(backing):
    from shared.tmdb.ratelimit import max_in_window

    limit, window, n, procs = 20, 1.0, 12, 3
    key = f"tmdb:ratelimit:test:{time.time()}"
    code = _WORKER.format(root=str(ROOT), start=time.time() + 1.0, limit=limit, window=window, key=key, n=n)
    env = dict(os.environ)
    ps = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env) for _ in range(procs)]
    grants = []
    for p in ps:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        grants += json.loads(out)
    assert len(grants) == n * procs
    # 36 grants at 20 per second: never more than 20 in any second, whatever process asked (no claim on how
    # fast: a loaded machine may start the processes seconds apart)
    assert max_in_window(grants, window) <= limit
    assert max(grants) - min(grants) >= window * (n * procs // limit - 1)


def test_a_batch_takes_the_whole_window_at_once_and_waits_exactly_for_the_oldest(backing, clean_state):
    from shared.tmdb.ratelimit import Budget, SharedLimiter

    lim = SharedLimiter(Budget(40, 10.0), key="tmdb:ratelimit:unit")
    assert lim._try(40) == 0  # a cold refresh may spend the whole budget in one burst
    wait = lim._try(1)
    assert 9_000 < wait <= 10_001  # the next grant waits until the first batch leaves the 10 s window
    again = lim._try(1)
    assert 0 < again <= wait  # refusing took nothing: the wait did not grow
