"""Failed-login lockout: at most N password checks per client per window, counted in Redis.

Each attempt is counted BEFORE the password is checked (INCR + EXPIRE NX + TTL in one pipeline), so parallel
requests cannot squeeze in more than N argon2 checks; a success deletes the client's counter. A fixed window
(the first attempt starts it) is enough here: one owner, a 15-minute lock.

A global counter caps attempts from all clients together, so an attacker rotating addresses (where the proxy
lets them) still gets at most GLOBAL_FACTOR x N guesses per window.

Redis cost: one pipeline of 6 commands per attempt, plus one DEL on success.
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


def count_attempt(client: str, *, max_attempts: int, window_seconds: int) -> Gate:
    from shared.redis_client import get_redis

    key = _PREFIX + client
    p = get_redis().pipeline()
    for k in (key, _GLOBAL):
        p.incr(k)
        p.expire(k, window_seconds, nx=True)
        p.ttl(k)
    c_count, _, c_ttl, g_count, _, g_ttl = p.exec()
    return decide(int(c_count), int(c_ttl), int(g_count), int(g_ttl), max_attempts=max_attempts,
                  window_seconds=window_seconds)


def clear(client: str) -> None:
    from shared.redis_client import get_redis

    get_redis().delete(_PREFIX + client)
