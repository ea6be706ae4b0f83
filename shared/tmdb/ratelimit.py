"""TMDb's request budget, shared by every process through one Redis key (a token bucket in one Lua script).

TMDb asks clients to stay under its limit and respect the 429 it answers otherwise
(https://developer.themoviedb.org/docs/rate-limiting: the legacy 40 requests / 10 s, now "around 40 per
second"). We keep the legacy 40 per 10 s by default (TMDB_RATE_LIMIT / TMDB_RATE_WINDOW_SECONDS): the bucket
holds limit/2 tokens and refills limit/2 per window, so no window of that length ever sees more than `limit`
requests, whichever functions or workers are calling.

One script call takes n tokens at once (a refresh asks for a whole batch), so a batch costs one Redis command, not
one per request. When the bucket is short the script says how long to wait; nothing is taken until it can all be
taken. Why not `upstash-ratelimit`: its SlidingWindow consumes tokens even when it refuses a multi-token request,
and its TokenBucket script starts with a `#!lua` flags line that Redis 6.2 (the embedded local fallback) rejects.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

log = logging.getLogger("screndly.tmdb.ratelimit")

KEY = "tmdb:ratelimit"

# KEYS[1] bucket; ARGV: capacity, refill tokens per ms, now (ms), n. Returns 0 (taken) or the ms to wait.
SCRIPT = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = cap
  ts = now
end
if now > ts then
  tokens = math.min(cap, tokens + (now - ts) * rate)
  ts = now
end
local ttl = math.ceil(cap / rate) + 1000
if tokens >= n then
  redis.call('HSET', KEYS[1], 't', tostring(tokens - n), 'ts', tostring(ts))
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], ttl)
return math.ceil((n - tokens) / rate)
"""


@dataclass(frozen=True)
class Budget:
    limit: int = 40
    window_seconds: float = 10.0

    @property
    def capacity(self) -> int:
        return max(1, self.limit // 2)

    @property
    def per_ms(self) -> float:
        return (self.limit - self.capacity) / (self.window_seconds * 1000.0)


class SharedLimiter:
    """`await acquire(n)` returns once n requests may go out. Redis trouble never stops TMDb work: the limiter
    then paces this process alone (logged)."""

    def __init__(self, budget: Budget, redis_factory=None, key: str = KEY):
        self.budget = budget
        self.key = key
        self._redis_factory = redis_factory
        self.commands = 0
        self._local_next = 0.0

    def _redis(self):
        if self._redis_factory is not None:
            return self._redis_factory()
        from shared.redis_client import get_redis

        return get_redis()

    def _try(self, n: int) -> int:
        now_ms = int(time.time() * 1000)
        self.commands += 1
        return int(self._redis().eval(SCRIPT, [self.key], [self.budget.capacity, repr(self.budget.per_ms),
                                                           now_ms, n]))

    async def acquire(self, n: int = 1) -> None:
        remaining = n
        while remaining > 0:
            take = min(remaining, self.budget.capacity)
            while True:
                try:
                    wait_ms = await asyncio.to_thread(self._try, take)
                except Exception as exc:  # Redis down: pace locally at the same average rate
                    log.warning("shared TMDb limiter unavailable (%s); pacing this process alone", type(exc).__name__)
                    await self._local(take)
                    break
                if wait_ms <= 0:
                    break
                await asyncio.sleep(min(wait_ms, 30_000) / 1000.0)
            remaining -= take

    async def _local(self, n: int) -> None:
        gap = 1.0 / (self.budget.per_ms * 1000.0)
        now = time.monotonic()
        start = max(now, self._local_next)
        self._local_next = start + gap * n
        if start > now:
            await asyncio.sleep(start - now)


def max_in_window(grants: list[float], window: float) -> int:
    """The most grant timestamps inside any window of `window` seconds (for tests and the bench)."""
    g = sorted(grants)
    best, j = 0, 0
    for i, t in enumerate(g):
        while g[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def wait_bound(n: int, budget: Budget) -> float:
    """Longest wait for n tokens from an empty bucket (seconds)."""
    return math.ceil(n / (budget.per_ms * 1000.0))
