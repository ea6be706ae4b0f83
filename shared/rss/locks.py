"""Per-feed locks in Redis so overlapping ticks (or a tick and a manual refresh) never fetch a feed twice.

The locks of one kind are the fields of one hash (`lock:<kind>`: id -> "token|expires at, ms"). All locks of a
tick are taken by ONE script call and released by another: 2 commands per tick whatever the number of feeds,
and each script makes a fixed number of calls (acquire: HMGET, HSET, PEXPIRE; release: HMGET, HDEL), since
Upstash bills the calls a script makes too: a SET NX per feed cost ~1,500 calls a day
(tests/test_rss_lock_calls_do_not_grow_with_the_feeds.py). A lock whose holder crashed frees itself after
`seconds`: its expiry is in its field (the caller's clock, passed in: scripts stay deterministic, as Upstash
asks), and the hash expires once the longest lock in it has.
"""

from __future__ import annotations

import time

from shared.redis_lua import BULK

# KEYS: the kind's hash; ARGV: token, seconds, now (ms), id, ... -> the positions (1-based) of the ids taken.
# The field '*until*' holds the latest expiry of any lock in the hash: the hash's TTL is only ever lengthened
# to it, so a later caller's shorter lock never cuts a longer one short.
_ACQUIRE = BULK + """
local now = tonumber(ARGV[3])
local untl = now + math.floor(tonumber(ARGV[2]) * 1000)
local ids = {}
for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
ids[#ids + 1] = '*until*'
local cur = bulk('HMGET', KEYS[1], ids)
local got, set, seen = {}, {}, {}
local mine = ARGV[1] .. '|' .. untl
for i = 1, #ids - 1 do
  local held = cur[i]
  if not seen[ids[i]] and (not held or (tonumber(string.match(held, '|(%d+)$')) or 0) <= now) then
    seen[ids[i]] = true
    got[#got + 1] = i
    set[#set + 1] = ids[i]
    set[#set + 1] = mine
  end
end
if #got == 0 then return got end
local last = tonumber(cur[#ids] or '0') or 0
if untl > last then
  set[#set + 1] = '*until*'
  set[#set + 1] = tostring(untl)
end
bulk('HSET', KEYS[1], set)
if untl > last then redis.call('PEXPIRE', KEYS[1], untl - now) end
return got
"""

# KEYS: the kind's hash; ARGV: token, id, ... -> how many of the ids' locks this token held (now released)
_RELEASE = BULK + """
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local cur = bulk('HMGET', KEYS[1], ids)
local mine = ARGV[1] .. '|'
local drop = {}
for i, v in ipairs(ids) do
  if cur[i] and string.sub(cur[i], 1, #mine) == mine then drop[#drop + 1] = v end
end
if #drop == 0 then return 0 end
return bulk('HDEL', KEYS[1], drop)
"""


def _now_ms() -> int:
    """Real time, as the hash's TTL counts it (not shared.clock: a simulation's jumps would free held locks)."""
    return int(time.time() * 1000)


def lock_key(kind: str) -> str:
    """The hash holding every lock of `kind`, one field per id."""
    return f"lock:{kind}"


def acquire(kind: str, ids: list[str], token: str, seconds: int) -> list[str]:
    """The subset of `ids` whose locks this caller now holds."""
    if not ids:
        return []
    from shared.redis_client import get_redis

    got = get_redis().eval(_ACQUIRE, keys=[lock_key(kind)], args=[token, str(seconds), str(_now_ms()), *ids]) or []
    return [ids[int(i) - 1] for i in got]


def release(kind: str, ids: list[str], token: str) -> int:
    if not ids:
        return 0
    from shared.redis_client import get_redis

    return int(get_redis().eval(_RELEASE, keys=[lock_key(kind)], args=[token, *ids]) or 0)
