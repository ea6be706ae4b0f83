"""The stage record in Redis and every transition of it, each one Lua script (atomic; timed by the caller's
clock, passed in) that reads the fields it decides on with one HMGET: Upstash bills every call a script makes.

    pending ──(the row is staged in Postgres)──▶ ready
    ready | claimed with an expired lease ──claim──▶ claimed (claimant, lease_until)     [slot-1 s .. slot+grace]
    claimed ──to_sending (same claimant, lease outlasts the HTTP timeout)──▶ sending    nothing re-sends it now
    claimed | sending ──finish (same claimant)──▶ done (outcome; id pushed to the outcomes list)
    pending | ready | claimed with an expired lease ──cancel──▶ cancelled             (owner change, disconnect)
    write-back's freeze: pending | ready past slot+grace, claimed with an expired lease ──▶ expired (never sent)
                         sending with an expired lease ──▶ settling (a look-up decides; never re-sent)

`done`, `cancelled`, `expired` and `settling` are final for senders: only the write-back reads them, settles
the publication in Postgres (fenced by the stage token) and then deletes the record. An answer that reaches a
sender after its stage was frozen is kept in `late` (evidence for the write-back's look-up).
"""

from __future__ import annotations

import json
from typing import Any

from shared import clock

PREFIX = "pub:stage:"
INDEX_KEY = "pub:stages"  # pub id -> slot, every live stage record
OUTCOMES_KEY = "pub:stage:outcomes"  # pub ids whose sender finished, oldest first
RECORD_TTL = 14 * 86400  # a record nobody wrote back (Redis keeps it; a lost one is settled by look-up)

# the caller's clock (shared.clock, the dispatcher's), always the last argument: scripts stay deterministic
# (Upstash asks for that, and the dispatcher's scripts do the same). Clocks only decide when a take-over may
# happen; safety rests on the claimant fencing every write, whatever the clocks say.
_NOW = """
local now = tonumber(ARGV[#ARGV])
"""

# create: KEYS = record, index; ARGV = slot, ttl, field, value, ... Only when no record exists (a stage of this
# publication not yet written back stays until it is).
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 3, #ARGV do table.insert(fields, ARGV[i]) end
redis.call('HSET', KEYS[1], 'state', 'pending', unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]), ARGV[4])  -- ARGV[3], ARGV[4] = 'id', pub id
return 1
"""

# ready: KEYS = record; ARGV = stage token
_READY = """
local r = redis.call('HMGET', KEYS[1], 'state', 'token')
if r[1] == 'pending' and r[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'ready')
  return 1
end
return 0
"""

# drop an unused pending record (the row was not planned any more): KEYS = record, index; ARGV = token, pub id
_DROP_PENDING = """
local r = redis.call('HMGET', KEYS[1], 'state', 'token')
if r[1] == 'pending' and r[2] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

# claim: KEYS = record; ARGV = claimant, lease seconds. -> {verdict, lease_until or state}
_CLAIM = _NOW + """
local r = redis.call('HMGET', KEYS[1], 'state', 'slot', 'grace_until', 'lease_until', 'claims')
local st = r[1]
if not st then return {'missing', ''} end
local slot = tonumber(r[2])
local grace = tonumber(r[3])
local lease = tonumber(r[4] or '0')
if st == 'ready' or (st == 'claimed' and lease < now) then
  if now < slot - 1 then return {'early', tostring(slot)} end
  if now > grace then return {'late', st} end
  local untl = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimant', ARGV[1], 'lease_until', tostring(untl),
             'claims', tostring((tonumber(r[5] or '0') or 0) + 1))
  return {'ok', tostring(untl)}
end
return {'busy', st}
"""

# extend: KEYS = record; ARGV = claimant, lease seconds. -> the new lease end, or '' when the stage is not ours
_EXTEND = _NOW + """
local r = redis.call('HMGET', KEYS[1], 'state', 'claimant')
local st = r[1]
if (st == 'claimed' or st == 'sending') and r[2] == ARGV[1] then
  local untl = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'lease_until', tostring(untl))
  return tostring(untl)
end
return ''
"""

# progress: KEYS = record; ARGV = claimant, progress JSON (before the commit: upload ids and the like)
_PROGRESS = """
local r = redis.call('HMGET', KEYS[1], 'state', 'claimant')
local st = r[1]
if (st == 'claimed' or st == 'sending') and r[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'progress', ARGV[2])
  return 1
end
return 0
"""

# to_sending: KEYS = record; ARGV = claimant, margin seconds, progress JSON (with commit_sent). The last step
# before the publishing request: only the live holder, only while its lease outlasts the request's timeout.
_TO_SENDING = _NOW + """
local r = redis.call('HMGET', KEYS[1], 'state', 'claimant', 'lease_until')
if r[1] ~= 'claimed' or r[2] ~= ARGV[1] then return 0 end
local lease = tonumber(r[3] or '0')
if lease - now < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'sending', 'sending_at', tostring(now), 'progress', ARGV[3])
return 1
"""

# finish: KEYS = record, outcomes list; ARGV = claimant, outcome JSON, progress JSON, pub id. -> 1 recorded,
# 0 the stage is no longer ours (the outcome is kept as `late` evidence if the record still exists)
_FINISH = """
local r = redis.call('HMGET', KEYS[1], 'state', 'claimant')
local st = r[1]
if not st then return 0 end
if (st == 'claimed' or st == 'sending') and r[2] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[2], 'progress', ARGV[3])
  redis.call('HDEL', KEYS[1], 'secret')  -- the sealed token is not needed any more
  redis.call('RPUSH', KEYS[2], ARGV[4])
  return 1
end
redis.call('HSET', KEYS[1], 'late', ARGV[2])
return 0
"""

# cancel: KEYS = record. -> 'cancelled' | 'busy' (claimed or sending: it is being published) | the final state |
# 'missing'
_CANCEL = _NOW + """
local r = redis.call('HMGET', KEYS[1], 'state', 'lease_until')
local st = r[1]
if not st then return 'missing' end
local lease = tonumber(r[2] or '0')
if st == 'pending' or st == 'ready' or (st == 'claimed' and lease < now) then
  redis.call('HSET', KEYS[1], 'state', 'cancelled')
  redis.call('HDEL', KEYS[1], 'secret')
  return 'cancelled'
end
if st == 'claimed' or st == 'sending' then return 'busy' end
return st
"""

# freeze (the write-back): KEYS = record. -> {verdict, flat record}; verdict 'wait' (a sender may still act:
# leave it), or the record's final state after the freeze (done / cancelled / expired / settling), or 'missing'.
# One HGETALL reads the record it returns; a record already final (done, cancelled) is not written again.
_FREEZE = _NOW + """
local flat = redis.call('HGETALL', KEYS[1])
local rec = {}
for i = 1, #flat, 2 do rec[flat[i]] = flat[i + 1] end
local st = rec['state']
if not st then return {'missing', {}} end
local was = st
local grace = tonumber(rec['grace_until'])
local lease = tonumber(rec['lease_until'] or '0')
if st == 'pending' or st == 'ready' then
  if now <= grace then return {'wait', {}} end
  st = 'expired'
elseif st == 'claimed' then
  if lease >= now then return {'wait', {}} end
  st = 'expired'
elseif st == 'sending' then
  if lease >= now then return {'wait', {}} end
  st = 'settling'
end
if st ~= was then redis.call('HSET', KEYS[1], 'state', st) end
if rec['secret'] then redis.call('HDEL', KEYS[1], 'secret') end
local out = {}
for i = 1, #flat, 2 do
  if flat[i] ~= 'secret' then
    out[#out + 1] = flat[i]
    if flat[i] == 'state' then out[#out + 1] = st else out[#out + 1] = flat[i + 1] end
  end
end
return {st, out}
"""

# forget (after the write-back settled the row): KEYS = record, index, outcomes; ARGV = pub id, stage token
_FORGET = """
local tok = redis.call('HGET', KEYS[1], 'token')
if tok and tok ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LREM', KEYS[3], 0, ARGV[1])
return 1
"""


def key(pub_id: str) -> str:
    return PREFIX + pub_id


def _redis():
    from shared.redis_client import get_redis

    return get_redis()


def _now() -> str:
    return repr(clock.time())  # the dispatcher's clock: slots are armed and due by it


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def create(pub_id: str, slot: float, fields: dict[str, Any]) -> bool:
    flat: list[str] = ["id", pub_id]
    for k, v in fields.items():
        if k == "id":
            continue
        flat += [k, v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))]
    return bool(_redis().eval(_CREATE, keys=[key(pub_id), INDEX_KEY], args=[repr(slot), str(RECORD_TTL), *flat]))


def ready(pub_id: str, token: str) -> bool:
    return bool(_redis().eval(_READY, keys=[key(pub_id)], args=[token]))


def drop_pending(pub_id: str, token: str) -> bool:
    return bool(_redis().eval(_DROP_PENDING, keys=[key(pub_id), INDEX_KEY], args=[token, pub_id]))


def claim(pub_id: str, claimant: str, lease_seconds: float) -> tuple[str, str]:
    res = _redis().eval(_CLAIM, keys=[key(pub_id)], args=[claimant, repr(float(lease_seconds)), _now()])
    return _s(res[0]), _s(res[1])


def extend(pub_id: str, claimant: str, lease_seconds: float) -> float | None:
    res = _redis().eval(_EXTEND, keys=[key(pub_id)], args=[claimant, repr(float(lease_seconds)), _now()])
    return float(_s(res)) if res not in (None, b"", "") else None


def save_progress(pub_id: str, claimant: str, progress: dict[str, Any]) -> bool:
    return bool(_redis().eval(_PROGRESS, keys=[key(pub_id)], args=[claimant, json.dumps(progress)]))


def to_sending(pub_id: str, claimant: str, margin_seconds: float, progress: dict[str, Any]) -> bool:
    return bool(_redis().eval(_TO_SENDING, keys=[key(pub_id)],
                              args=[claimant, repr(float(margin_seconds)), json.dumps(progress), _now()]))


def finish(pub_id: str, claimant: str, outcome: dict[str, Any], progress: dict[str, Any]) -> bool:
    return bool(_redis().eval(_FINISH, keys=[key(pub_id), OUTCOMES_KEY],
                              args=[claimant, json.dumps(outcome), json.dumps(progress), pub_id]))


def cancel(pub_id: str) -> str:
    return _s(_redis().eval(_CANCEL, keys=[key(pub_id)], args=[_now()]))


def freeze(pub_id: str) -> tuple[str, dict[str, str]]:
    res = _redis().eval(_FREEZE, keys=[key(pub_id)], args=[_now()])
    flat = [_s(v) for v in (res[1] or [])]
    return _s(res[0]), dict(zip(flat[0::2], flat[1::2]))


def forget(pub_id: str, token: str) -> bool:
    return bool(_redis().eval(_FORGET, keys=[key(pub_id), INDEX_KEY, OUTCOMES_KEY], args=[pub_id, token]))


def read(pub_id: str) -> dict[str, str]:
    raw = _redis().hgetall(key(pub_id)) or {}
    return {_s(k): _s(v) for k, v in raw.items()}


def exists(pub_id: str) -> bool:
    return bool(_redis().exists(key(pub_id)))


def candidates(until: float, limit: int = 200) -> list[str]:
    """Stages whose slot is at or before `until`, and those whose sender finished (the write-back's list)."""
    r = _redis()
    ids = [_s(m) for m in r.zrangebyscore(INDEX_KEY, "-inf", repr(until), offset=0, count=limit)]
    for m in r.lrange(OUTCOMES_KEY, 0, limit - 1) or []:
        if _s(m) not in ids:
            ids.append(_s(m))
    return ids


def all_ids() -> list[str]:
    return [_s(m) for m in _redis().zrange(INDEX_KEY, 0, -1)]


def decode(value: str | None, default: Any = None) -> Any:
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        return default
