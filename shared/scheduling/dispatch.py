"""Timed work without one QStash message per item and without a database wake-up per check.

Capabilities register *kinds* of work ("rss.post": publish a planned post; "rss.probe": check a feed) and
arm items — `(kind, ref, at)` — in one Redis sorted set. One route, `/api/internal/dispatch` (and the hourly
safety-net schedule), runs whatever is due:

    arm([("rss.post", post_id, at)])      # one ZADD; a QStash wake-up only if it is due before the next one
    disarm("rss.post", [post_id])
    tick()                                # the route: pop due items, run their handlers, arm the next wake-up

Costs, by design:
- QStash: at most one delayed message per distinct wake-up time, and none for items the hourly schedule
  (`SAFETY_CRON`) reaches anyway: a post placed for tomorrow costs nothing until then.
- Redis: a tick is a pop script and a commit script (plus run_once), whatever the number of items, and each
  script makes a fixed number of calls inside it (Upstash bills those too): a few per section, none per item.
- Postgres: only kinds marked `needs_db` touch it. They run together (a "window"), and kinds that may run early
  (`early`: e.g. processing a changed feed) join any window that opens before their time, so the database wakes
  once for a group instead of once per item.

Crash safety: a pop leases the items it returns (their score moves `LEASE_SECONDS` ahead, and the lease is recorded
in `LEASE_KEY`); the commit re-arms or removes them. An invocation that dies leaves its items to come back after the
lease: handlers must be idempotent (a planned post checks its state in Postgres; the publishing engine never posts
twice).

Leases and changes from outside: while a tick holds an item, the owner may move it (`arm`) or drop it (`disarm`),
and another tick's handler may arm it. The commit only changes an item whose score is still the lease this tick
set (compare-and-set in the script): a moved item keeps its new time, a dropped one stays dropped, whatever the
tick's handler decided from what it read before. And a leased item is never taken by another tick while the lease
lives (`LEASE_KEY`, checked by the pop and the early join), so no two ticks run the same item at once. A tick
that outlived its lease (a stalled process) holds nothing: it runs no further handler and leases nothing new.
tests/test_dispatch_under_kill_9.py proves this with worker processes under SIGKILL and SIGSTOP.
"""

from __future__ import annotations

import importlib
import json
import logging
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared import clock
from shared.redis_lua import BULK

log = logging.getLogger("screndly.dispatch")

DUE_KEY = "dispatch:due"
META_KEY = "dispatch:meta"
DISPATCH_PATH = "/api/internal/dispatch"
LEASE_KEY = "dispatch:leases"  # member -> the lease's end (the leased score) while a tick holds the item
# A tick commits all its items at its end, so every lease must outlast the longest invocation: Vercel stops a
# function at 300 s (a full comment poll alone may take 200 s). One lease for every kind, with a margin. The
# default of `DISPATCH_LEASE_SECONDS` (config): the multi-process test shortens it to seconds.
LEASE_SECONDS = 360
RETRY_SECONDS = 300  # a handler that raised: its items come back after this
SAFETY_PERIOD = 3600  # the safety-net schedule fires at every full hour (shared/messaging/schedules.py)
MAX_ROUNDS = 4  # items armed due-now by a handler run in the same tick, this many rounds at most

# modules that register kinds and hooks (imported when a tick or an arm needs them, never at cold start)
KIND_MODULES: list[str] = ["shared.rss.timing", "shared.usage.housekeeping", "shared.comments.timing",
                            "shared.tmdb.dispatch", "shared.channels.timing", "shared.publishing.staging.timing",
                            "shared.compose.scheduler"]


@dataclass(frozen=True)
class Kind:
    name: str
    handler: str  # "module:function", called as fn(ctx: Tick, refs: list[str])
    needs_db: bool
    payload_key: str | None = None  # a Redis hash holding each item's payload under its ref (given to the handler)
    early: float = 0.0  # seconds before its time an item may join a window that opens anyway
    order: int = 100  # handlers of a tick run in this order (lower first)


_KINDS: dict[str, Kind] = {}
_HOOKS: list[Callable[[Tick], None]] = []
_loaded = False


def register(kind: Kind) -> Kind:
    _KINDS[kind.name] = kind
    return kind


def hook(fn: Callable[[Tick], None]) -> Callable[[Tick], None]:
    """Run `fn(tick)` at the start of every tick (cheap, no I/O: it reads tick.meta and may arm items)."""
    if fn not in _HOOKS:
        _HOOKS.append(fn)
    return fn


def kinds() -> dict[str, Kind]:
    global _loaded
    if not _loaded:
        for mod in KIND_MODULES:
            importlib.import_module(mod)
        _loaded = True
    return _KINDS


def member(kind: str, ref: str) -> str:
    return f"{kind}|{ref}"


def split(m: str) -> tuple[str, str]:
    kind, _, ref = m.partition("|")
    return kind, ref


# --- scripts -------------------------------------------------------------------------------------------------
# Cost: Upstash bills every call a script makes, not one per EVAL (its rate-limit SDK counts a fixed-window
# `limit()` as "EVAL, INCR, PEXPIRE": https://upstash.com/docs/redis/sdks/ratelimit-ts/costs). So each script
# makes a fixed number of calls whatever the number of items: one variadic call (or one ZMSCORE / HMGET look-up)
# per section, never one per item. tests/test_dispatch_scripts_cost_constant_calls.py counts them.

# Shared by the scripts: `bulk` (shared/redis_lua.py: one variadic call per 4000 values; a pop of 5000 due items
# leases 10,000 values, past Lua's `unpack` limit), and
# `lengthen`: the leases hash's expiry, only ever lengthened (see _WRITE_LEASES), in one call: a hash this script
# created has no expiry yet; one that existed has one (every script that writes a lease record sets it), so
# `PEXPIRE ... GT` lengthens it only. `GT` is Redis 7.0 (Upstash documents it:
# https://upstash.com/docs/redis/commands/generic/pexpire); the embedded Redis of a laptop without one is 6.2, whose
# scripts have no REDIS_VERSION_NUM: there, PTTL first (one call more).
_LIB = BULK + """
local function lengthen(key, existed, ttl)
  if not existed then redis.call('PEXPIRE', key, ttl)
  elseif redis.REDIS_VERSION_NUM and redis.REDIS_VERSION_NUM >= 0x00070000 then redis.call('PEXPIRE', key, ttl, 'GT')
  elseif redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
"""

# pop: KEYS = due zset, meta hash, leases hash, payload hashes...; ARGV = now, lease until, max, then for each
# payload hash the kind prefix it serves. Leases the due members (score and lease record) and returns
# {members, meta, payloads per hash..., the first later item, the live leases of other ticks}.
# The due members and the first later item come from one range of the first 128 rows: the first row past `now` is
# that item. Only when all 128 are due do two more calls fetch the rest of the due ones and the first later one.
# (One range of max + 1 rows would do it in one call always, but reads up to 5000 later rows each tick: ~3 ms.)
_POP = _LIB + """
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[3])
local peek = math.min(max + 1, 128)
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '+inf', 'WITHSCORES', 'LIMIT', 0, peek)
local cand, first = {}, nil
for j = 1, #rows, 2 do
  if tonumber(rows[j + 1]) > now then first = {rows[j], rows[j + 1]}; break end
  if #cand < max then table.insert(cand, rows[j]) end
end
if first == nil then
  if #rows < 2 * peek then first = {}  -- the whole set, all due
  else
    if #cand < max then
      local more = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', #cand, max - #cand)
      for _, m in ipairs(more) do table.insert(cand, m) end
    end
    first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  end
end
local held = redis.call('HGETALL', KEYS[3])
local live = {}
for j = 1, #held, 2 do
  if tonumber(held[j + 1]) > now then live[held[j]] = true end
end
local due, lease, rec = {}, {}, {}
for _, m in ipairs(cand) do
  -- held by a running tick (moved to now from outside meanwhile): it comes back when that tick commits
  if not live[m] then
    table.insert(due, m)
    table.insert(lease, ARGV[2]); table.insert(lease, m)
    table.insert(rec, m); table.insert(rec, ARGV[2])
  end
end
if #due > 0 then
  bulk('ZADD', KEYS[1], lease)
  bulk('HSET', KEYS[3], rec)
  lengthen(KEYS[3], #held > 0, math.ceil(2000 * (tonumber(ARGV[2]) - now)))
end
local out = {due, redis.call('HGETALL', KEYS[2])}
for i = 4, #KEYS do
  local prefix = ARGV[i]
  local refs = {}
  for _, m in ipairs(due) do
    if string.sub(m, 1, #prefix) == prefix then table.insert(refs, string.sub(m, #prefix + 1)) end
  end
  if #refs > 0 then table.insert(out, bulk('HMGET', KEYS[i], refs)) else table.insert(out, {}) end
end
table.insert(out, first)
table.insert(out, held)
return out
"""

# the tail both lease-taking scripts share: KEYS[1] due zset, KEYS[2] leases hash, ARGV[2] the lease's end; the
# members to lease are in `lease` (score, member pairs) and `rec` (member, lease pairs), `held` is the leases
# hash as the script read it first (HGETALL); returns `out`.
# The hash's expiry (twice the lease left, as the pop sets it) is only ever lengthened: a tick near the end of its
# lease (a long window) would otherwise cut it short while other ticks' fresh leases live, and the hash would take
# their records with it: a pop would then take their items (moved to now by the owner) from under them.
_WRITE_LEASES = """
if #lease > 0 then
  bulk('ZADD', KEYS[1], lease)
  bulk('HSET', KEYS[2], rec)
  lengthen(KEYS[2], #held > 0, math.ceil(2000 * (tonumber(ARGV[2]) - now)))
end
return out
"""

# early: KEYS = due zset, leases hash; ARGV = now, lease until, then (member prefix, horizon) pairs. Leases and
# returns the members of those kinds due before their horizon (a window is opening: they join it), except those
# another tick holds (a live lease: e.g. a full comment poll still running). Nothing once this tick's lease ran out.
# One range up to the latest horizon for all pairs (the longest reach, a changed feed's 30 days, covers about the
# whole set anyway), sorted into the pairs in their order; the lease records in one HGETALL.
_EARLY = _LIB + """
local now = tonumber(ARGV[1])
local out, lease, rec = {}, {}, {}
if tonumber(ARGV[2]) <= now or #ARGV < 4 then return out end
local top = ARGV[4]
for i = 5, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > tonumber(top) then top = ARGV[i + 1] end
end
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', top, 'WITHSCORES')
local held = redis.call('HGETALL', KEYS[2])
local leases = {}
for j = 1, #held, 2 do leases[held[j]] = held[j + 1] end
for i = 3, #ARGV, 2 do
  local prefix, horizon = ARGV[i], tonumber(ARGV[i + 1])
  for j = 1, #rows, 2 do
    local m = rows[j]
    if tonumber(rows[j + 1]) <= horizon and string.sub(m, 1, #prefix) == prefix then
      local l = leases[m]
      if not (l and tonumber(l) > now) then
        table.insert(out, m)
        table.insert(lease, ARGV[2]); table.insert(lease, m)
        table.insert(rec, m); table.insert(rec, ARGV[2])
      end
    end
  end
end
""" + _WRITE_LEASES

# claim: KEYS = due zset, leases hash; ARGV = now, lease until, member*. Leases the given members (a handler of
# this tick armed them for now: they run in this tick) unless another tick holds one (a live lease that is not
# ours); returns those leased. The leased score makes the commit's compare-and-set apply to them as to popped ones.
# One this tick holds already is taken again only while its score is still the lease (the commit's test): one the
# owner moved or dropped meanwhile keeps that change. A tick whose lease ran out (a stalled process) takes
# nothing: its lease would free the item at once, and a lease in the past would expire the whole hash.
_CLAIM = _LIB + """
local now = tonumber(ARGV[1])
local out, lease, rec = {}, {}, {}
if tonumber(ARGV[2]) <= now then return out end
local held = redis.call('HGETALL', KEYS[2])
local leases = {}
for j = 1, #held, 2 do leases[held[j]] = held[j + 1] end
local ours, still = {}, {}
for i = 3, #ARGV do
  if leases[ARGV[i]] == ARGV[2] then table.insert(ours, ARGV[i]) end
end
if #ours > 0 then
  local scores = bulk('ZMSCORE', KEYS[1], ours)
  for j, m in ipairs(ours) do still[m] = (scores[j] and tonumber(scores[j]) == tonumber(ARGV[2])) or false end
end
for i = 3, #ARGV do
  local m = ARGV[i]
  local l = leases[m]
  local free
  if l == ARGV[2] then
    free = still[m]
  else
    free = not (l and tonumber(l) > now)
  end
  if free then
    table.insert(out, m)
    table.insert(lease, ARGV[2]); table.insert(lease, m)
    table.insert(rec, m); table.insert(rec, ARGV[2])
  end
end
""" + _WRITE_LEASES

# commit: KEYS = due zset, meta hash, leases hash, payload hashes...; ARGV = lease until, n_leased, member*,
# n_add, (score, member)*, n_rem, member*, n_meta_set, (field, value)*, n_meta_del, field*, then per payload hash:
# member prefix ("kind|", "" for none), ttl (seconds, 0: keep the key's own), n_set, (field, value)*, n_del,
# field*, n_cas, (field, expected, value)*. A payload hash's fields are distinct across its three lists (the
# caller builds them from one dict).
# A payload field whose item this tick leased is written only while the tick still holds that item (its lease
# record still ours): a tick that stalled past its lease, whose item another tick took over and wrote newer state
# for, leaves it. (An owner's move of the item does not fence it: a window's rebuild deletes and rewrites the
# whole hash in the same tick, and must not leave a field out.)
# A compare-and-set field is written only if it still holds what the pop read (a window may have rebuilt it
# meanwhile: the rebuild wins). The ttl is applied when the hash's plain fields are written.
# A member this tick leased is only changed while its score is still that lease: one moved (`arm`) or dropped
# (`disarm`) from outside, or taken over after the lease ran out, is left as it is now. Returns those left alone
# that are still armed, as (member, score) pairs: the tick arms a wake-up for them.
# At most 7 calls plus 4 per payload hash written, whatever the number of items: the leased items' scores and
# lease records are one ZMSCORE and one HMGET, a hash's compare-and-set fields one HMGET, and their writes join
# the hash's one HSET.
_COMMIT = _LIB + """
local i = 1
local function take(count)  -- the next `count` arguments, as one table (one variadic call each)
  local t = {}
  for j = 0, count - 1 do t[j + 1] = ARGV[i + j] end
  i = i + count
  return t
end
local lease = tonumber(ARGV[1]); i = 2
local n = tonumber(ARGV[i]); i = i + 1
local changed, moved, ours, lost = {}, {}, {}, {}
local leased = take(n)
if #leased > 0 then
  local scores = bulk('ZMSCORE', KEYS[1], leased)
  local records = bulk('HMGET', KEYS[3], leased)
  for j, m in ipairs(leased) do
    local s = scores[j]
    if not (s and tonumber(s) == lease) then
      changed[m] = true
      if s then table.insert(moved, m); table.insert(moved, s) end
    end
    local l = records[j]
    if l and tonumber(l) == lease then table.insert(ours, m) else lost[m] = true end
  end
end
if #ours > 0 then bulk('HDEL', KEYS[3], ours) end
n = tonumber(ARGV[i]); i = i + 1
local adds = take(2 * n)
local keep = {}
for j = 1, #adds, 2 do
  if not changed[adds[j + 1]] then table.insert(keep, adds[j]); table.insert(keep, adds[j + 1]) end
end
if #keep > 0 then bulk('ZADD', KEYS[1], keep) end
n = tonumber(ARGV[i]); i = i + 1
local rem = {}
for _, m in ipairs(take(n)) do if not changed[m] then table.insert(rem, m) end end
if #rem > 0 then bulk('ZREM', KEYS[1], rem) end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then bulk('HSET', KEYS[2], take(2 * n)) end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then bulk('HDEL', KEYS[2], take(n)) end
for k = 4, #KEYS do
  local prefix = ARGV[i]; i = i + 1
  local function held(f) return prefix == '' or not lost[prefix .. f] end
  local ttl = tonumber(ARGV[i]); i = i + 1
  n = tonumber(ARGV[i]); i = i + 1
  local sets = {}
  local pairs_ = take(2 * n)
  for j = 1, #pairs_, 2 do
    if held(pairs_[j]) then table.insert(sets, pairs_[j]); table.insert(sets, pairs_[j + 1]) end
  end
  local plain = #sets
  n = tonumber(ARGV[i]); i = i + 1
  local dels = {}
  for _, f in ipairs(take(n)) do if held(f) then table.insert(dels, f) end end
  n = tonumber(ARGV[i]); i = i + 1
  local cf, expected, cv = {}, {}, {}
  local triples = take(3 * n)
  for j = 1, #triples, 3 do
    if held(triples[j]) then
      table.insert(cf, triples[j]); table.insert(expected, triples[j + 1]); table.insert(cv, triples[j + 2])
    end
  end
  if #cf > 0 then
    local current = bulk('HMGET', KEYS[k], cf)
    for j, f in ipairs(cf) do
      if current[j] == expected[j] then table.insert(sets, f); table.insert(sets, cv[j]) end
    end
  end
  if #sets > 0 then bulk('HSET', KEYS[k], sets) end
  if plain > 0 and ttl > 0 then redis.call('EXPIRE', KEYS[k], ttl) end
  if #dels > 0 then bulk('HDEL', KEYS[k], dels) end
end
return moved
"""

# arm (outside a tick): KEYS = due zset, meta; ARGV = wake-before, n, (score, member)*, now. Adds the items (one
# variadic ZADD) and says whether a wake-up must be armed: returns the earliest new score if it is earlier than the
# armed one.
_ARM = _LIB + """
local n = tonumber(ARGV[2])
local earliest = nil
local items = {}
for i = 0, n - 1 do
  local s = tonumber(ARGV[3 + 2 * i])
  items[2 * i + 1] = ARGV[3 + 2 * i]; items[2 * i + 2] = ARGV[4 + 2 * i]
  if earliest == nil or s < earliest then earliest = s end
end
if n > 0 then bulk('ZADD', KEYS[1], items) end
if earliest == nil or earliest >= tonumber(ARGV[1]) then return false end
local armed = tonumber(redis.call('HGET', KEYS[2], 'armed') or '0')
local now = tonumber(ARGV[3 + 2 * n])
if armed > now and armed <= earliest + 1 then return false end
redis.call('HSET', KEYS[2], 'armed', tostring(math.max(earliest, now)))
return tostring(math.max(earliest, now))
"""


def _redis():
    from shared.redis_client import get_redis

    return get_redis()


def _lease_seconds() -> float:
    from shared.config import get_config

    return float(get_config().dispatch_lease_seconds)


def next_safety_fire(now: float) -> float:
    return (int(now // SAFETY_PERIOD) + 1) * SAFETY_PERIOD


# --- the tick ------------------------------------------------------------------------------------------------
@dataclass
class Tick:
    now: float
    meta: dict[str, str]
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> ref -> payload (decoded JSON)
    adds: dict[str, float] = field(default_factory=dict)  # member -> score
    removes: set[str] = field(default_factory=set)
    meta_writes: dict[str, str] = field(default_factory=dict)
    payload_writes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # hash -> field -> value|None
    payload_raw: dict[str, dict[str, str | None]] = field(default_factory=dict)  # kind -> ref -> the JSON popped
    payload_expect: dict[str, dict[str, str]] = field(default_factory=dict)  # hash -> field -> value it must hold
    payload_ttl: dict[str, int] = field(default_factory=dict)  # hash -> seconds it lives after this tick writes it
    window_requested: list[str] = field(default_factory=list)
    window_open: bool = False
    report: dict[str, Any] = field(default_factory=dict)
    lease: float = 0.0  # the score this tick's leased items carry until its commit
    leased: set[str] = field(default_factory=set)  # members this tick leased (the commit changes them only if
    # their score is still `lease`)
    held_elsewhere: set[str] = field(default_factory=set)  # members another running tick holds (a live lease)

    # --- for handlers ---------------------------------------------------------------------------
    def arm(self, kind: str, ref: str, at: float) -> None:
        m = member(kind, ref)
        self.removes.discard(m)
        self.adds[m] = float(at)

    def done(self, kind: str, ref: str) -> None:
        m = member(kind, ref)
        self.adds.pop(m, None)
        self.removes.add(m)

    def set_payload(self, hash_key: str, ref: str, value: Any | None, *, unless_changed_from: str | None = None,
                    ttl: int | None = None) -> None:
        """Write (None: delete) a payload at the commit. `unless_changed_from`: only if the field still holds that
        raw value (what this tick read: a write-back must not overwrite a concurrent rebuild). `ttl`: the hash
        expires that long after this write."""
        self.payload_writes.setdefault(hash_key, {})[ref] = None if value is None else json.dumps(
            value, separators=(",", ":"))
        expect = self.payload_expect.setdefault(hash_key, {})
        if unless_changed_from is not None and value is not None:
            expect[ref] = unless_changed_from
        else:
            expect.pop(ref, None)
        if ttl:
            self.payload_ttl[hash_key] = int(ttl)

    def set_meta(self, key: str, value: Any | None) -> None:
        self.meta_writes[key] = "" if value is None else (value if isinstance(value, str) else json.dumps(value))

    def meta_json(self, key: str, default: Any = None) -> Any:
        raw = self.meta_writes.get(key, self.meta.get(key))
        if not raw:
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return default

    def next_window(self, minutes: int) -> float:
        """When deferrable database work should run: the next multiple of `minutes` (anchored at midnight UTC),
        but not sooner than `minutes` after the last window (one that opened early already did the work), on
        the 10-minute grid the feed checks share."""
        import math

        period = max(600, int(minutes) * 60)
        try:
            last = float(self.meta.get("last_window") or 0)
        except ValueError:
            last = 0.0
        return max(math.ceil(self.now / period) * period, math.ceil((last + period) / 600) * 600)

    def request_window(self, reason: str) -> None:
        """A Redis-only handler found work for the database that should not wait (it runs in this tick)."""
        self.window_requested.append(reason)

    def count(self, key: str, n: int = 1) -> None:
        self.report[key] = self.report.get(key, 0) + n

    @property
    def governor(self):
        from shared.usage.governor import Decisions

        return Decisions.from_dict(self.meta_json("governor"))


def _payload_keys(ks: dict[str, Kind]) -> list[tuple[str, str]]:
    return [(k.payload_key, k.name + "|") for k in ks.values() if k.payload_key]


def _decode(raw: Any) -> Any:
    if raw is None or raw is False:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def _flat_meta(flat: list) -> dict[str, str]:
    return {str(k): str(v) for k, v in zip(flat[0::2], flat[1::2])}


def _float(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return 0.0


def tick(now: float | None = None, *, budget: float = 45.0) -> dict[str, Any]:
    """Run what is due; open a database window when a due item needs one; arm the next wake-up."""
    now = clock.time() if now is None else now
    started = _time.monotonic()
    ks = kinds()
    pkeys = _payload_keys(ks)
    redis = _redis()
    lease = now + _lease_seconds()
    res = redis.eval(_POP, keys=[DUE_KEY, META_KEY, LEASE_KEY, *[k for k, _ in pkeys]],
                     args=[repr(now), repr(lease), "5000", *[p for _, p in pkeys]])
    due_members = [str(m) for m in res[0] or []]
    t = Tick(now=now, meta=_flat_meta(res[1] or []), lease=lease, leased=set(due_members))
    after = res[2 + len(pkeys)] if len(res) > 2 + len(pkeys) else []
    first_after = (str(after[0]), float(after[1])) if after else None
    held = _flat_meta(res[3 + len(pkeys)] if len(res) > 3 + len(pkeys) else [])
    t.held_elsewhere = {m for m, until in held.items() if _float(until) > now}
    for (_hkey, prefix), values in zip(pkeys, res[2:2 + len(pkeys)]):
        refs = [split(m)[1] for m in due_members if m.startswith(prefix)]
        t.payload_raw[prefix[:-1]] = {r: (None if v in (None, False) else str(v)) for r, v in zip(refs, values or [])}
        t.payloads[prefix[:-1]] = {r: _decode(v) for r, v in zip(refs, values or [])}
    for fn in list(_HOOKS):
        try:  # one capability's bug must not stop the others' items (RSS, TMDb) on every tick
            fn(t)
        except Exception as exc:
            log.exception("dispatch hook %s failed", getattr(fn, "__qualname__", fn))
            t.report.setdefault("errors", []).append(f"hook {getattr(fn, '__name__', fn)}: "
                                                     f"{type(exc).__name__}: {exc}"[:300])
    groups = _group(due_members)
    # Redis-only kinds first: they decide whether a window is worth opening now
    for kind in sorted((k for k in groups if k in ks and not ks[k].needs_db), key=lambda k: ks[k].order):
        _run(t, ks[kind], groups.pop(kind))
    for k in [k for k in groups if k not in ks]:  # a kind nobody registers any more: drop its items
        for ref in groups.pop(k):
            t.done(k, ref)
    db_due = {k: v for k, v in groups.items() if ks[k].needs_db}
    new_due = _newly_due(t, ks, now)
    if db_due or t.window_requested or new_due:
        t.window_open = True
        # why the database wakes: what was due (or asked for it), for the logs and the budget analysis
        t.report["window_cause"] = ("requested: " + t.window_requested[0][:120] if t.window_requested else
                                    "due: " + ", ".join(sorted({*db_due, *new_due})))
        early = [(k.name + "|", now + k.early) for k in ks.values() if k.needs_db and k.early > 0]
        if early:
            args = [repr(max(now, clock.time())), repr(lease)]  # the lease checks at the time of the pick
            for prefix, horizon in early:
                args += [prefix, repr(horizon)]
            for m in redis.eval(_EARLY, keys=[DUE_KEY, LEASE_KEY], args=args) or []:
                t.leased.add(str(m))
                kind, ref = split(str(m))
                # already due, or re-armed by a handler of this tick (that decision stands): not twice
                if member(kind, ref) not in t.adds and ref not in db_due.get(kind, []):
                    db_due.setdefault(kind, []).append(ref)
        for kind, refs in new_due.items():
            db_due.setdefault(kind, []).extend(r for r in refs if r not in db_due.get(kind, []))
        rounds = 0
        while db_due and rounds < MAX_ROUNDS:
            rounds += 1
            for kind in sorted(db_due, key=lambda k: ks[k].order):
                if _time.monotonic() - started > budget:  # out of time: the rest runs in a minute
                    for ref in db_due[kind]:
                        t.arm(kind, ref, now + 60)
                    continue
                _run(t, ks[kind], db_due[kind])
            # items armed for now in the last round are not claimed: they would never run (the commit would
            # remove them); they stay armed and the next tick runs them
            db_due = _newly_due(t, ks, now, only_db=True) if rounds < MAX_ROUNDS else {}
        t.set_meta("last_window", repr(now))
    # the next wake-up: the earliest item that the hourly schedule would not reach in time
    later = [first_after[1]] if first_after and first_after[0] not in t.removes | set(t.adds) else []
    nxt = min(list(t.adds.values()) + later, default=None)
    t.report["next"] = nxt
    t.report["armed"] = _arm_wakeup(t, now, nxt)
    moved = _commit(redis, t, pkeys)
    if moved:  # changed from outside while this tick held them: they keep their new time, and need a wake-up
        t.report["moved"] = sorted(moved)
        _wake_for(t, now, min(moved.values()))
    t.report["due"] = len(due_members)
    t.report["window"] = t.window_open
    t.report["seconds"] = round(_time.monotonic() - started, 3)
    if t.window_open:
        log.info("dispatch window @%.3f %s", now, t.report.get("window_cause"))
    return t.report


def _group(members: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in members:
        kind, ref = split(m)
        out.setdefault(kind, []).append(ref)
    return out


def _newly_due(t: Tick, ks: dict[str, Kind], now: float, only_db: bool = False) -> dict[str, list[str]]:
    """Items a handler of this tick armed for now or earlier (by the clock, which moved on while handlers ran),
    of kinds that need a window: they run now (taken out of `adds`, so they are not armed again). Each is leased
    first, as a popped item is: one another tick took meanwhile stays armed and comes back after that tick
    commits, so no two ticks run it at once and this tick's commit cannot remove what the other holds."""
    clock_now = max(now, clock.time())
    due_by = clock_now + 1.0
    wanted = []
    for m, at in t.adds.items():
        kind, _ref = split(m)
        k = ks.get(kind)
        if k is not None and k.needs_db and at <= due_by and m not in t.held_elsewhere:
            wanted.append(m)
    if not wanted:
        return {}
    claimed = {str(m) for m in _redis().eval(_CLAIM, keys=[DUE_KEY, LEASE_KEY],
                                             args=[repr(clock_now), repr(t.lease), *wanted]) or []}
    out: dict[str, list[str]] = {}
    for m in wanted:
        if m not in claimed:
            t.held_elsewhere.add(m)
            continue
        kind, ref = split(m)
        out.setdefault(kind, []).append(ref)
        del t.adds[m]
        t.removes.add(m)
        t.leased.add(m)
    return out


def _run(t: Tick, kind: Kind, refs: list[str]) -> None:
    if clock.time() >= t.lease:  # stalled past its lease: another tick may hold these now; they come back
        for ref in refs:  # a claimed one was marked done in advance: the commit leaves it as it is instead
            t.removes.discard(member(kind.name, ref))
        t.count(f"lapsed.{kind.name}", len(refs))
        return
    mod, _, fn = kind.handler.partition(":")
    for ref in refs:  # done unless the handler re-arms it
        t.done(kind.name, ref)
    try:
        getattr(importlib.import_module(mod), fn)(t, refs)
        t.count(f"ran.{kind.name}", len(refs))
    except Exception as exc:
        log.exception("dispatch handler %s failed for %d item(s)", kind.name, len(refs))
        t.count(f"failed.{kind.name}", len(refs))
        for ref in refs:
            if member(kind.name, ref) in t.removes:
                t.arm(kind.name, ref, t.now + RETRY_SECONDS)
        t.report.setdefault("errors", []).append(f"{kind.name}: {type(exc).__name__}: {exc}"[:300])


def _commit(redis, t: Tick, pkeys: list[tuple[str, str]]) -> dict[str, float]:
    """Write the tick's decisions in one script; returns the leased items changed from outside meanwhile that
    are still armed (member -> score)."""
    leased = sorted(t.leased)
    args: list[str] = [repr(t.lease), str(len(leased)), *leased, str(len(t.adds))]
    for m, s in t.adds.items():
        args += [repr(float(s)), m]
    rem = [m for m in t.removes if m not in t.adds]
    args += [str(len(rem)), *rem]
    meta_sets = [(k, v) for k, v in t.meta_writes.items() if v != ""]
    meta_dels = [k for k, v in t.meta_writes.items() if v == ""]
    args += [str(len(meta_sets))]
    for k, v in meta_sets:
        args += [k, v]
    args += [str(len(meta_dels)), *meta_dels]
    hashes = [k for k, _ in pkeys]
    prefixes = dict(pkeys)
    extra = [h for h in t.payload_writes if h not in hashes]
    for h in hashes + extra:
        writes = t.payload_writes.get(h, {})
        expect = t.payload_expect.get(h, {})
        sets = [(f, v) for f, v in writes.items() if v is not None and f not in expect]
        dels = [f for f, v in writes.items() if v is None]
        cas = [(f, expect[f], v) for f, v in writes.items() if v is not None and f in expect]
        args += [prefixes.get(h, ""), str(t.payload_ttl.get(h, 0)), str(len(sets))]
        for f, v in sets:
            args += [f, v]
        args += [str(len(dels)), *dels, str(len(cas))]
        for f, e, v in cas:
            args += [f, e, v]
    moved = redis.eval(_COMMIT, keys=[DUE_KEY, META_KEY, LEASE_KEY, *hashes, *extra], args=args) or []
    return {str(m): float(s) for m, s in zip(moved[0::2], moved[1::2])}


def _wake_for(t: Tick, now: float, at: float) -> None:
    """A wake-up for an item moved from outside during the tick (its own arm's wake-up may have come while the
    item was held and found it leased). Rare: one QStash message, none when the hourly schedule reaches it."""
    if at >= next_safety_fire(now):
        return
    try:
        _publish_wakeup(max(at, clock.time() + 1))
    except Exception:
        log.exception("could not arm the dispatch wake-up for %s", at)


def _arm_wakeup(t: Tick, now: float, nxt: float | None) -> float | None:
    """Publish one delayed QStash message for `nxt` unless the safety-net schedule fires by then or a message
    for that time (or earlier) is already armed. The armed time is remembered in the meta hash (commit)."""
    if nxt is None or nxt >= next_safety_fire(now):
        return None
    at = max(nxt, now + 1)
    try:
        armed = float(t.meta_writes.get("armed") or t.meta.get("armed") or 0)
    except ValueError:
        armed = 0.0
    if now < armed <= at + 1:
        return None
    try:
        _publish_wakeup(at)
    except Exception:  # QStash unreachable: the safety-net schedule runs the items within the hour
        log.exception("could not arm the dispatch wake-up for %s", at)
        return None
    t.set_meta("armed", repr(at))
    return at


def _publish_wakeup(at: float) -> None:
    from shared.messaging.publisher import OutgoingMessage, publish

    epoch = int(at + 0.999)
    publish(OutgoingMessage(path=DISPATCH_PATH, body={"at": epoch}, not_before=epoch,
                            deduplication_id=f"dispatch-{epoch}", retries=3))


# --- arming from anywhere ------------------------------------------------------------------------------------
def arm(items: Iterable[tuple[str, str, float]], *, wake: bool = True) -> float | None:
    """Add timed items (kind, ref, epoch seconds). One Redis script (one ZADD for all, at most 3 calls); one QStash
    message only when an item is due before both the armed wake-up and the safety-net schedule. Returns the wake-up
    time armed, if any."""
    items = list(items)
    if not items:
        return None
    now = clock.time()
    args = [repr(next_safety_fire(now) if wake else float("-inf")), str(len(items))]
    for kind, ref, at in items:
        args += [repr(float(at)), member(kind, ref)]
    args.append(repr(now))
    at = _redis().eval(_ARM, keys=[DUE_KEY, META_KEY], args=args)
    if at:
        _publish_wakeup(float(at))
        return float(at)
    return None


def set_meta(key: str, value: Any) -> None:
    """Write one shared value outside a tick (one HSET), as `Tick.set_meta` does at a tick's commit."""
    _redis().hset(META_KEY, key, value if isinstance(value, str) else json.dumps(value))


def disarm(kind: str, refs: Iterable[str]) -> None:
    members = [member(kind, r) for r in refs]
    if members:
        _redis().zrem(DUE_KEY, *members)


# next: KEYS = due zset, meta; ARGV = n prefixes, prefix*, meta field*. The earliest score of each prefix's
# items (the set is ordered by score: the first match is the earliest) and the meta fields: one command.
_NEXT = """
local n = tonumber(ARGV[1])
local found, left = {}, n
local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #rows, 2 do
  for k = 1, n do
    local p = ARGV[1 + k]
    if found[k] == nil and string.sub(rows[i], 1, #p) == p then found[k] = rows[i + 1]; left = left - 1 end
  end
  if left == 0 then break end
end
local out = {}
for k = 1, n do out[k] = found[k] or false end
local fields = {}
for i = n + 2, #ARGV do table.insert(fields, ARGV[i]) end
if #fields > 0 then table.insert(out, redis.call('HMGET', KEYS[2], unpack(fields))) else table.insert(out, {}) end
return out
"""


def next_armed(kind_names: list[str], meta_fields: Sequence[str] = ()) -> tuple[dict[str, float | None], dict]:
    """When each kind's earliest item is armed for (None: no item), and some meta fields: one Redis command."""
    res = _redis().eval(_NEXT, keys=[DUE_KEY, META_KEY],
                        args=[str(len(kind_names)), *[k + "|" for k in kind_names], *meta_fields])
    res = list(res or [])
    times = {k: (float(v) if v not in (None, False) else None) for k, v in zip(kind_names, res[:len(kind_names)])}
    values = res[len(kind_names)] if len(res) > len(kind_names) else []
    return times, {f: v for f, v in zip(meta_fields, values or []) if v not in (None, False)}


def pending(kind: str | None = None) -> dict[str, float]:
    """Every armed item (tests, the dashboard): member -> epoch."""
    rows = _redis().zrange(DUE_KEY, 0, -1, withscores=True)
    return {str(m): float(s) for m, s in rows if kind is None or str(m).startswith(kind + "|")}
