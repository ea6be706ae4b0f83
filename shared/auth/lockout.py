"""Failed-login limits: a per-client lockout, and a global slow-down that never locks the owner out.

Per client: at most N password checks per window, counted in Redis BEFORE the password is checked, atomically
in one Lua script, so parallel requests cannot squeeze in more than N argon2 checks; a success deletes the
client's counter. A fixed window (the first attempt starts it) is enough here: one owner, a 15-minute lock.

Globally: a cap on all clients together would let anyone with a few dozen addresses lock the owner out (it did:
about 20 addresses sufficed). No rule can both cap guesses from an unlimited supply of fresh addresses and
always admit the owner from a fresh address, so we choose the owner: a client that has not failed is never
refused. Instead, once the checks of all clients together pass GLOBAL_FREE in a window, every check first
waits `slowdown()` seconds (growing to MAX_DELAY): a serial guesser gets at most one guess per MAX_DELAY, the
owner waits a few seconds at worst, and the owner is told once per window that login is under attack. What
bounds a distributed guesser is the per-client limit (IPv6 clients count per /64, shared/auth/client_ip.py),
argon2's cost per check, and a password of at least 12 characters (`python -m shared.security.passwords`).

Redis cost: one EVAL per attempt (billed with the few commands it runs), plus one DEL on success.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

GLOBAL_FREE = 20  # checks per window from all clients together before the slow-down starts
DELAY_STEP = 0.1  # seconds added per check past GLOBAL_FREE
MAX_DELAY = 3.0  # seconds; below Vercel's function limits and the SPA's patience
_PREFIX = "login:attempts:"
_GLOBAL = "login:attempts:*all*"


@dataclass(frozen=True)
class Gate:
    allowed: bool
    remaining: int  # attempts left in the window after this one (when it fails)
    retry_after: int  # seconds until the window ends (meaningful when not allowed)
    delay: float = 0.0  # seconds to wait before checking the password (the global slow-down)
    attack_started: bool = False  # this attempt is the first one past GLOBAL_FREE in the window


def slowdown(global_count: int) -> float:
    """Pure: seconds every password check waits when `global_count` checks were made in this window."""
    return min(MAX_DELAY, max(0, global_count - GLOBAL_FREE) * DELAY_STEP)


def decide(client_count: int, client_ttl: int, global_count: int, *, max_attempts: int,
           window_seconds: int) -> Gate:
    """Pure: given the counters after counting this attempt, may the password be checked, and after how long?
    The global count never refuses anyone; only the client's own failures do."""
    if client_count > max_attempts:
        return Gate(False, 0, client_ttl if client_ttl > 0 else window_seconds)
    return Gate(True, max(0, max_attempts - client_count), 0, slowdown(global_count),
                global_count == GLOBAL_FREE + 1)


# KEYS: client counter, global counter. ARGV: window seconds, the client limit.
# Returns {client count, client ttl, global count}; the global counter only counts checks the client was still
# allowed (a locked-out address hammering the endpoint slows nobody down).
_COUNT_SCRIPT = """
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local g
if c <= tonumber(ARGV[2]) then
  g = redis.call('INCR', KEYS[2])
  if g == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
else
  g = tonumber(redis.call('GET', KEYS[2]) or '0')
end
return {c, redis.call('TTL', KEYS[1]), g}
"""


def count_attempt(client: str, *, max_attempts: int, window_seconds: int) -> Gate:
    from shared.redis_client import get_redis

    c_count, c_ttl, g_count = get_redis().eval(
        _COUNT_SCRIPT, keys=[_PREFIX + client, _GLOBAL], args=[str(window_seconds), str(max_attempts)])
    return decide(int(c_count), int(c_ttl), int(g_count), max_attempts=max_attempts, window_seconds=window_seconds)


def wait(seconds: float) -> None:
    """The slow-down's sleep (tests replace it to keep the suite fast)."""
    if seconds > 0:
        time.sleep(seconds)


def clear(client: str) -> None:
    from shared.redis_client import get_redis

    get_redis().delete(_PREFIX + client)
