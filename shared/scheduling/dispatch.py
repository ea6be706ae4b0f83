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
- Redis: a tick is a pop script and a commit script (plus run_once), whatever the number of items.
- Postgres: only kinds marked `needs_db` touch it. They run together (a "window"), and kinds that may run early
  (`early`: e.g. processing a changed feed) join any window that opens before their time, so the database wakes
  once for a group instead of once per item.

Crash safety: a pop leases the items it returns (their score moves `LEASE_SECONDS` ahead); the commit re-arms or
removes them. An invocation that dies leaves its items to come back after the lease: handlers must be
idempotent (a planned post checks its state in Postgres; the publishing engine never posts twice).
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

log = logging.getLogger("screndly.dispatch")

DUE_KEY = "dispatch:due"
META_KEY = "dispatch:meta"
DISPATCH_PATH = "/api/internal/dispatch"
LEASE_SECONDS = 120
RETRY_SECONDS = 300  # a handler that raised: its items come back after this
SAFETY_PERIOD = 3600  # the safety-net schedule fires at every full hour (shared/messaging/schedules.py)
MAX_ROUNDS = 4  # items armed due-now by a handler run in the same tick, this many rounds at most

# modules that register kinds and hooks (imported when a tick or an arm needs them, never at cold start)
KIND_MODULES: list[str] = ["shared.rss.timing", "shared.usage.housekeeping", "shared.comments.timing",
                            "shared.tmdb.dispatch"]


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
# pop: KEYS = due zset, meta hash, payload hashes...; ARGV = now, lease until, max, then for each payload hash
# the kind prefix it serves. Leases the due members and returns {members, meta, payloads per hash}.
_POP = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
if #due > 0 then
  local lease = {}
  for _, m in ipairs(due) do table.insert(lease, ARGV[2]); table.insert(lease, m) end
  redis.call('ZADD', KEYS[1], unpack(lease))
end
local out = {due, redis.call('HGETALL', KEYS[2])}
for i = 3, #KEYS do
  local prefix = ARGV[i + 1]
  local refs = {}
  for _, m in ipairs(due) do
    if string.sub(m, 1, #prefix) == prefix then table.insert(refs, string.sub(m, #prefix + 1)) end
  end
  if #refs > 0 then table.insert(out, redis.call('HMGET', KEYS[i], unpack(refs))) else table.insert(out, {}) end
end
table.insert(out, first)
return out
"""

# early: KEYS = due zset; ARGV = lease until, then (member prefix, horizon) pairs. Leases and returns the
# members of those kinds due before their horizon (a window is opening: they join it).
_EARLY = """
local out, lease = {}, {}
for i = 2, #ARGV, 2 do
  local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[i + 1])
  for _, m in ipairs(items) do
    if string.sub(m, 1, #ARGV[i]) == ARGV[i] then
      table.insert(out, m)
      table.insert(lease, ARGV[1])
      table.insert(lease, m)
    end
  end
end
if #lease > 0 then redis.call('ZADD', KEYS[1], unpack(lease)) end
return out
"""

# commit: KEYS = due zset, meta hash, payload hashes...; ARGV = n_add, (score, member)*, n_rem, member*,
# n_meta_set, (field, value)*, n_meta_del, field*, then per payload hash: n_set, (field, value)*, n_del, field*.
# Each section is one variadic call: should a provider ever bill a script's inner calls, a commit stays ~6.
_COMMIT = """
local i = 1
local function take(count)  -- the next `count` arguments, as one table (one variadic call each)
  local t = {}
  for j = 0, count - 1 do t[j + 1] = ARGV[i + j] end
  i = i + count
  return t
end
local n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('ZADD', KEYS[1], unpack(take(2 * n))) end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('ZREM', KEYS[1], unpack(take(n))) end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('HSET', KEYS[2], unpack(take(2 * n))) end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('HDEL', KEYS[2], unpack(take(n))) end
for k = 3, #KEYS do
  n = tonumber(ARGV[i]); i = i + 1
  if n > 0 then redis.call('HSET', KEYS[k], unpack(take(2 * n))) end
  n = tonumber(ARGV[i]); i = i + 1
  if n > 0 then redis.call('HDEL', KEYS[k], unpack(take(n))) end
end
return 1
"""

# arm (outside a tick): KEYS = due zset, meta; ARGV = wake-before, n, (score, member)*. Adds the items and says
# whether a wake-up must be armed: returns the earliest new score if it is earlier than the armed one.
_ARM = """
local n = tonumber(ARGV[2])
local earliest = nil
for i = 0, n - 1 do
  local s = tonumber(ARGV[3 + 2 * i])
  redis.call('ZADD', KEYS[1], s, ARGV[4 + 2 * i])
  if earliest == nil or s < earliest then earliest = s end
end
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
    window_requested: list[str] = field(default_factory=list)
    window_open: bool = False
    report: dict[str, Any] = field(default_factory=dict)

    # --- for handlers ---------------------------------------------------------------------------
    def arm(self, kind: str, ref: str, at: float) -> None:
        m = member(kind, ref)
        self.removes.discard(m)
        self.adds[m] = float(at)

    def done(self, kind: str, ref: str) -> None:
        m = member(kind, ref)
        self.adds.pop(m, None)
        self.removes.add(m)

    def set_payload(self, hash_key: str, ref: str, value: Any | None) -> None:
        self.payload_writes.setdefault(hash_key, {})[ref] = None if value is None else json.dumps(
            value, separators=(",", ":"))

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


def tick(now: float | None = None, *, budget: float = 45.0) -> dict[str, Any]:
    """Run what is due; open a database window when a due item needs one; arm the next wake-up."""
    now = clock.time() if now is None else now
    started = _time.monotonic()
    ks = kinds()
    pkeys = _payload_keys(ks)
    redis = _redis()
    res = redis.eval(_POP, keys=[DUE_KEY, META_KEY, *[k for k, _ in pkeys]],
                     args=[repr(now), repr(now + LEASE_SECONDS), "5000", *[p for _, p in pkeys]])
    due_members = [str(m) for m in res[0] or []]
    t = Tick(now=now, meta=_flat_meta(res[1] or []))
    after = res[2 + len(pkeys)] if len(res) > 2 + len(pkeys) else []
    first_after = (str(after[0]), float(after[1])) if after else None
    for (_hkey, prefix), values in zip(pkeys, res[2:2 + len(pkeys)]):
        refs = [split(m)[1] for m in due_members if m.startswith(prefix)]
        t.payloads[prefix[:-1]] = {r: _decode(v) for r, v in zip(refs, values or [])}
    for fn in list(_HOOKS):
        fn(t)
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
            args = [repr(now + LEASE_SECONDS)]
            for prefix, horizon in early:
                args += [prefix, repr(horizon)]
            for m in redis.eval(_EARLY, keys=[DUE_KEY], args=args) or []:
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
            db_due = _newly_due(t, ks, now, only_db=True)
        t.set_meta("last_window", repr(now))
    # the next wake-up: the earliest item that the hourly schedule would not reach in time
    later = [first_after[1]] if first_after and first_after[0] not in t.removes | set(t.adds) else []
    nxt = min(list(t.adds.values()) + later, default=None)
    t.report["next"] = nxt
    t.report["armed"] = _arm_wakeup(t, now, nxt)
    _commit(redis, t, pkeys)
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
    of kinds that need a window: they run now (taken out of `adds`, so they are not armed again)."""
    out: dict[str, list[str]] = {}
    now = max(now, clock.time()) + 1.0
    for m, at in list(t.adds.items()):
        kind, ref = split(m)
        k = ks.get(kind)
        if k is not None and k.needs_db and at <= now:
            out.setdefault(kind, []).append(ref)
            del t.adds[m]
            t.removes.add(m)
    return out


def _run(t: Tick, kind: Kind, refs: list[str]) -> None:
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


def _commit(redis, t: Tick, pkeys: list[tuple[str, str]]) -> None:
    args: list[str] = [str(len(t.adds))]
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
    extra = [h for h in t.payload_writes if h not in hashes]
    for h in hashes + extra:
        writes = t.payload_writes.get(h, {})
        sets = [(f, v) for f, v in writes.items() if v is not None]
        dels = [f for f, v in writes.items() if v is None]
        args.append(str(len(sets)))
        for f, v in sets:
            args += [f, v]
        args += [str(len(dels)), *dels]
    redis.eval(_COMMIT, keys=[DUE_KEY, META_KEY, *hashes, *extra], args=args)


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
    """Add timed items (kind, ref, epoch seconds). One Redis command; one QStash message only when an item is
    due before both the armed wake-up and the safety-net schedule. Returns the wake-up time armed, if any."""
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
