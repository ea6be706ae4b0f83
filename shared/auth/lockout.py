"""Failed-login lockout: at most N password checks per client per window, counted in Redis.

Each attempt is counted BEFORE the password is checked, atomically in one Lua script, so parallel requests
cannot squeeze in more than N argon2 checks; a success deletes the client's counter. A fixed window (the first
attempt starts it) is enough here: one owner, a 15-minute lock.

A global counter caps attempts from all clients together, so an attacker rotating addresses (where the proxy
lets them) still gets at most GLOBAL_FACTOR x N guesses per window. Only attempts a client was still allowed
to make count towards it: a single locked-out address hammering the endpoint cannot lock the owner out.

Redis cost: one EVAL per attempt, plus one DEL on success.
"""

from __future__ import annotations

from dataclasses import dataclass

GLOBAL_FACTOR = 20
_PREFIX = "login:attempts:"
_GLOBAL = "login:attempts:*all*"


@dataclass(frozen=True)
class Gate:
    allowed: bool
    remaining: int  # attempts left in the window after this one (when it fails)
    retry_after: int  # seconds until the window ends (meaningful when not allowed)


def decide(client_count: int, client_ttl: int, global_count: int, global_ttl: int, *, max_attempts: int,
           window_seconds: int) -> Gate:
    """Pure: given the counters after counting this attempt, may the password be checked?"""
    def _ttl(t: int) -> int:
        return t if t > 0 else window_seconds

    if client_count > max_attempts:
        return Gate(False, 0, _ttl(client_ttl))
    if global_count > max_attempts * GLOBAL_FACTOR:
        return Gate(False, 0, _ttl(global_ttl))
    return Gate(True, max(0, max_attempts - client_count), 0)


# KEYS: client counter, global counter. ARGV: window seconds, the client limit.
# Returns {client count, client ttl, global count, global ttl}; the global counter only grows for attempts the
# client was still allowed.
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
return {c, redis.call('TTL', KEYS[1]), g, redis.call('TTL', KEYS[2])}
"""


def count_attempt(client: str, *, max_attempts: int, window_seconds: int) -> Gate:
    from shared.redis_client import get_redis

    c_count, c_ttl, g_count, g_ttl = get_redis().eval(
        _COUNT_SCRIPT, keys=[_PREFIX + client, _GLOBAL], args=[window_seconds, max_attempts])
    return decide(int(c_count), int(c_ttl), int(g_count), int(g_ttl), max_attempts=max_attempts,
                  window_seconds=window_seconds)


def clear(client: str) -> None:
    from shared.redis_client import get_redis

    get_redis().delete(_PREFIX + client)
