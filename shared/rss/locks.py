"""Per-feed locks in Redis so overlapping ticks (or a tick and a manual refresh) never fetch a feed twice.

All locks of a tick are taken by ONE script call and released by another: 2 commands per tick whatever the
number of feeds (a pipeline of SET NX would cost one command per feed). Each lock expires by itself, so a crashed
invocation never blocks a feed for longer than `rss_feed_lock_seconds`.
"""

from __future__ import annotations

_ACQUIRE = """
local got = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'EX', tonumber(ARGV[2])) then
    table.insert(got, i)
  end
end
return got
"""

_RELEASE = """
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    n = n + 1
  end
end
return n
"""


def lock_key(kind: str, ident: str) -> str:
    return f"lock:{kind}:{ident}"


def acquire(kind: str, ids: list[str], token: str, seconds: int) -> list[str]:
    """The subset of `ids` whose locks this caller now holds."""
    if not ids:
        return []
    from shared.redis_client import get_redis

    got = get_redis().eval(_ACQUIRE, keys=[lock_key(kind, i) for i in ids], args=[token, str(seconds)]) or []
    return [ids[int(i) - 1] for i in got]


def release(kind: str, ids: list[str], token: str) -> int:
    if not ids:
        return 0
    from shared.redis_client import get_redis

    return int(get_redis().eval(_RELEASE, keys=[lock_key(kind, i) for i in ids], args=[token]) or 0)
