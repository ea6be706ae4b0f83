"""TMDb's request budget, shared by every process through one Redis key (a sliding-window log in one Lua script).

TMDb asks clients to stay under its limit and respect the 429 it answers otherwise
(https://developer.themoviedb.org/docs/rate-limiting: the legacy 40 requests / 10 s, now "around 40 per
second"). We keep the legacy 40 per 10 s by default (TMDB_RATE_LIMIT / TMDB_RATE_WINDOW_SECONDS): the key holds
the grant times of the last window (a sorted set of at most `limit` members), so no window of that length ever
sees more than `limit` requests, whichever functions or workers are calling, and a cold refresh may use the whole
budget at once instead of trickling.

One script call takes n grants at once (a refresh asks for a whole batch), so a batch costs one Redis command, not
one per request, and the script makes at most 4 calls whatever n is (one variadic ZADD: Upstash bills a script's
calls too). When the window is full the script says how long until enough grants leave it; nothing is taken
until all n can be. The script uses the caller's clock (like upstash-ratelimit); processes on one host or NTP-synced
hosts agree to milliseconds. Why not `upstash-ratelimit`: its SlidingWindow consumes tokens even when it refuses a
multi-token request, and its TokenBucket script starts with a `#!lua` flags line that Redis 6.2 (the embedded
local fallback) rejects.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass

log = logging.getLogger("screndly.tmdb.ratelimit")

KEY = "tmdb:ratelimit"

# KEYS[1] the log; ARGV: limit, window (ms), now (ms), n, nonce. Returns 0 (granted at `now`) or the ms to wait.
SCRIPT = """
local limit = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
local count = redis.call('ZCARD', KEYS[1])
if count + n <= limit then
  local members = {}
  for i = 1, n do
    members[#members + 1] = now
    members[#members + 1] = ARGV[5] .. ':' .. i
  end
  redis.call('ZADD', KEYS[1], unpack(members))
  redis.call('PEXPIRE', KEYS[1], win + 1000)
  return 0
end
local idx = count + n - limit - 1
local e = redis.call('ZRANGE', KEYS[1], idx, idx, 'WITHSCORES')
return math.max(1, tonumber(e[2]) + win - now + 1)
"""


@dataclass(frozen=True)
class Budget:
    limit: int = 40
    window_seconds: float = 10.0

    @property
    def capacity(self) -> int:
        """The most grants one call may ask for."""
        return max(1, self.limit)


class SharedLimiter:
    """`await acquire(n)` returns once n requests may go out. Redis trouble never stops TMDb work: the limiter
    then paces this process alone (logged)."""

    def __init__(self, budget: Budget, redis_factory=None, key: str = KEY):
        self.budget = budget
        self.key = key
        self._redis_factory = redis_factory
        self.commands = 0
        self.last_grant = 0.0  # unix seconds of the latest grant (the script's clock)
        self._local_next = 0.0

    def _redis(self):
        if self._redis_factory is not None:
            return self._redis_factory()
        from shared.redis_client import get_redis

        return get_redis()

    def _try(self, n: int) -> int:
        now_ms = int(time.time() * 1000)
        self.commands += 1
        wait = int(self._redis().eval(SCRIPT, [self.key], [self.budget.limit,
                                                           int(self.budget.window_seconds * 1000), now_ms, n,
                                                           secrets.token_hex(6)]))
        if wait <= 0:
            self.last_grant = now_ms / 1000.0
        return wait

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
        gap = self.budget.window_seconds / self.budget.limit
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
