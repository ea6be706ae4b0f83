"""Writes the meter's pending counts out once per invocation, in a round trip the invocation already makes.

Where a batch goes, cheapest first:
1. A QStash delivery ends with `run_once` writing its "done" marker to Redis: that SET becomes one script
   that also appends the batch to a Redis list (`finish_marker`), the same one top-level command as the SET
   it replaces. The batch is ONE list entry (counts, gauges and spans together), so the script makes 2 calls
   whatever the batch holds: Upstash bills the calls a script makes, and a call per counter cost ~1,700 a
   day (tests/test_usage_flush_calls_do_not_grow_with_the_batch.py).
2. An invocation that ran Postgres statements (the compute is awake right now) adds one statement on its
   pooled connection (`to_postgres`), at most every PG_FLUSH_SECONDS per process; no Redis command.
3. Otherwise the batch waits in the process for the next invocation; only if it has waited STALE_SECONDS is
   it written alone (`to_redis`, one command). Long-lived processes (the media worker) flush on a timer.

Batches written to Redis are moved into Postgres (`fold`) when the database is awake anyway: in a dispatch
window, or when the usage report is read. A fold renames the Redis keys first, sums their entries in Python
and records its id in the same transaction as the counts, so a fold that dies half-way is finished by the next
one and never counted twice.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from shared import clock
from shared.usage import meter
from shared.usage.meter import Batch

log = logging.getLogger("screndly.usage")

# Before batches were list entries the flush added each counter to a hash (one call per counter); the fold still
# empties that hash, so counts written by an older deployment are folded too.
PENDING_KEY = "usage:pending"
SPANS_KEY = "usage:spans"  # a list: one entry per batch (named for the spans, all it held at first)
PENDING_FOLDING = "usage:pending:folding"
SPANS_FOLDING = "usage:spans:folding"

PG_FLUSH_SECONDS = 15.0
STALE_SECONDS = 600.0

# KEYS: batches list[, done marker]; ARGV: ttl, the batch as one entry ('' for none)
_FLUSH_SCRIPT = """
if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[2]) end
if KEYS[2] then redis.call('SET', KEYS[2], 'done', 'EX', tonumber(ARGV[1])) end
return 1
"""

# KEYS: pending, spans, pending being folded, spans being folded; ARGV: a new fold id
_FOLD_SCRIPT = """
if redis.call('EXISTS', KEYS[3]) == 0 then
  local has_counts = redis.call('EXISTS', KEYS[1]) == 1
  local has_spans = redis.call('EXISTS', KEYS[2]) == 1
  if not has_counts and not has_spans then return {} end
  if has_counts then redis.call('RENAME', KEYS[1], KEYS[3]) end
  redis.call('HSET', KEYS[3], '_fold', ARGV[1])
  if has_spans then redis.call('RENAME', KEYS[2], KEYS[4]) end
end
return {redis.call('HGETALL', KEYS[3]), redis.call('LRANGE', KEYS[4], 0, -1)}
"""

_state_lock = threading.Lock()
_last_pg_flush = 0.0
_last_flush = time.monotonic()


def _mark_flushed(pg: bool = False) -> None:
    global _last_pg_flush, _last_flush
    with _state_lock:
        _last_flush = time.monotonic()
        if pg:
            _last_pg_flush = time.monotonic()


# --- encoding --------------------------------------------------------------------------------------------
def day_of(epoch_day: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + epoch_day)


def script_args(batch: Batch, ttl: int = 0) -> list[str]:
    return [str(int(ttl)), encode_batch(batch) if batch else ""]


def encode_batch(batch: Batch) -> str:
    """One list entry: JSON (an object, so the fold tells it from the bare span strings older flushes pushed)."""
    return json.dumps({"c": [[d, unit, float(n)] for (d, unit), n in batch.counts.items()],
                       "g": [[d, unit, float(v)] for (d, unit), v in batch.gauges.items()],
                       "s": [[round(a, 3), round(b, 3)] for a, b in batch.spans]}, separators=(",", ":"))


def parse_fields(flat: list[str]) -> tuple[Batch, str | None]:
    """The hash (flat [field, value, ...]) back into a batch; returns (batch, fold id). Counts in it were written
    by flushes before batches became list entries."""
    batch, fold_id = Batch(), None
    for field_name, value in zip(flat[0::2], flat[1::2]):
        if field_name == "_fold":
            fold_id = value
            continue
        kind, rest = field_name[:1], field_name[1:]
        d, _, unit = rest.partition("|")
        key = (int(d), unit)
        if kind == "+":
            batch.counts[key] = batch.counts.get(key, 0.0) + float(value)
        elif kind == "=":
            batch.gauges[key] = float(value)
    return batch, fold_id


def add_entries(batch: Batch, items: list[str]) -> Batch:
    """Sums the list's entries, oldest first, into `batch`: counts add up, a gauge keeps its latest value, spans
    are kept. An entry that is not JSON is an older flush's spans ("a:b;c:d")."""
    for item in items:
        item = str(item)
        if not item.startswith("{"):
            batch.spans += parse_spans([item])
            continue
        entry = json.loads(item)
        for d, unit, n in entry.get("c", ()):
            batch.counts[(int(d), unit)] = batch.counts.get((int(d), unit), 0.0) + float(n)
        for d, unit, v in entry.get("g", ()):
            batch.gauges[(int(d), unit)] = float(v)
        batch.spans += [(float(a), float(b)) for a, b in entry.get("s", ())]
    return batch


def parse_spans(items: list[str]) -> list[tuple[float, float]]:
    out = []
    for item in items:
        for part in str(item).split(";"):
            if part:
                a, _, b = part.partition(":")
                out.append((float(a), float(b)))
    return out


# --- sinks -----------------------------------------------------------------------------------------------
def _eval(client, script: str, keys: list[str], args: list[str]):
    """Upstash's REST client and redis-py name the arguments differently."""
    if hasattr(client, "_http"):  # upstash_redis.Redis
        return client.eval(script, keys=keys, args=args)
    return client.eval(script, len(keys), *keys, *args)


def finish_marker(redis, done_key: str, ttl: int) -> None:
    """run_once's final write: SET done_key done EX ttl, plus this invocation's usage, as one script."""
    settle_cpu()
    batch = meter.take_batch()
    try:
        _eval(redis, _FLUSH_SCRIPT, [SPANS_KEY, done_key], script_args(batch, ttl))
    except BaseException:
        meter.restore(batch)
        raise
    _mark_flushed()
    current = _current.get()
    if current is not None:
        current.flushed = True


def to_redis(batch: Batch, client=None) -> None:
    """One command: the batch alone (a process that has nothing else to send)."""
    if not batch:
        return
    if client is None:
        from shared.redis_client import get_redis

        client = get_redis()
    _eval(client, _FLUSH_SCRIPT, [SPANS_KEY], script_args(batch))
    _mark_flushed()


def _rows(batch: Batch) -> dict[str, Any]:
    return {
        "cd": [day_of(d) for d, _ in batch.counts], "cu": [u for _, u in batch.counts],
        "ca": [float(n) for n in batch.counts.values()],
        "gd": [day_of(d) for d, _ in batch.gauges], "gu": [u for _, u in batch.gauges],
        "gv": [float(v) for v in batch.gauges.values()],
        "sa": [a for a, _ in batch.spans], "sb": [b for _, b in batch.spans],
    }


_PG_FLUSH_SQL = """
WITH c AS (
  INSERT INTO usage_counters AS u (day, unit, amount)
  SELECT * FROM unnest(%(cd)s::date[], %(cu)s::text[], %(ca)s::float8[])
  ON CONFLICT (day, unit) DO UPDATE SET amount = u.amount + EXCLUDED.amount
  RETURNING 1
), g AS (
  INSERT INTO usage_gauges AS g (day, unit, value)
  SELECT * FROM unnest(%(gd)s::date[], %(gu)s::text[], %(gv)s::float8[])
  ON CONFLICT (day, unit) DO UPDATE SET value = EXCLUDED.value, measured_at = now()
  RETURNING 1
)
INSERT INTO usage_pg_spans (started_at, ended_at)
SELECT to_timestamp(a), to_timestamp(b) FROM unnest(%(sa)s::float8[], %(sb)s::float8[]) AS x(a, b)
"""


def to_postgres(batch: Batch, conn=None) -> None:
    """One statement (counters, gauges and spans together) on a connection that is already open."""
    if not batch:
        return
    if conn is None:
        from shared.db import connection

        with connection() as c:
            c.execute(_PG_FLUSH_SQL, _rows(batch))
    else:
        conn.execute(_PG_FLUSH_SQL, _rows(batch))
    _mark_flushed(pg=True)


def flush_now(*, prefer_postgres: bool | None = None) -> str:
    """Write whatever is pending: to Postgres when this process just used it (or told to), else to Redis.
    Returns where it went ("postgres" | "redis" | "none"). A failure puts the batch back."""
    if prefer_postgres is None:
        prefer_postgres = clock.time() - meter.last_query() < 60
    batch = meter.take_batch()
    if not batch:
        return "none"
    # the flush's own statement or command is counted by the hooks as it runs: it lands in the next batch
    try:
        if prefer_postgres:
            to_postgres(batch)
            return "postgres"
        to_redis(batch)
        return "redis"
    except Exception:
        log.warning("usage flush failed; the counts stay pending", exc_info=True)
        meter.restore(batch)
        return "none"


# --- invocations -----------------------------------------------------------------------------------------
@dataclass
class Invocation:
    started_at: float  # clock time
    cpu_start: float  # process CPU seconds at the start
    cpu_counted: float = 0.0
    flushed: bool = False


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("usage_invocation", default=None)


def begin_invocation() -> contextvars.Token:
    meter.count("fn.invocations")
    return _current.set(Invocation(started_at=clock.time(), cpu_start=time.process_time()))


def settle_cpu() -> None:
    """Count the CPU this invocation used so far (the process's CPU time: a function instance runs one
    invocation at a time, and threads it starts are billed too)."""
    inv = _current.get()
    if inv is None:
        return
    used = time.process_time() - inv.cpu_start
    if used > inv.cpu_counted:
        meter.count("fn.cpu_ms", round((used - inv.cpu_counted) * 1000.0, 3))
        inv.cpu_counted = used


def sink_for_end() -> str | None:
    """At the end of an invocation (CPU already settled): where to write the batch now, if anywhere.
    "postgres" when this invocation ran statements (the compute is up; at most every PG_FLUSH_SECONDS per
    process), "redis" when the batch has waited STALE_SECONDS, else None (it waits for the next one)."""
    inv = _current.get()
    if inv is None:
        return None
    touched_pg = meter.last_query() >= inv.started_at
    now = time.monotonic()
    if touched_pg and now - _last_pg_flush >= PG_FLUSH_SECONDS:
        return "postgres"
    if now - _last_flush >= STALE_SECONDS:
        return "postgres" if touched_pg else "redis"
    return None


def end_invocation(token: contextvars.Token) -> str:
    """Synchronous callers (tests, scripts): settle, write if worth it, forget the invocation."""
    try:
        settle_cpu()
        sink = sink_for_end()
        return flush_now(prefer_postgres=sink == "postgres") if sink else "deferred"
    finally:
        _current.reset(token)


# --- Redis -> Postgres ---------------------------------------------------------------------------------------
def fold(redis=None) -> dict[str, Any]:
    """Move what invocations left in Redis into Postgres (call it when the database is awake anyway)."""
    from shared.db import transaction

    if redis is None:
        from shared.redis_client import get_redis

        redis = get_redis()
    keys = [PENDING_KEY, SPANS_KEY, PENDING_FOLDING, SPANS_FOLDING]
    res = _eval(redis, _FOLD_SCRIPT, keys, [uuid.uuid4().hex])
    if not res:
        return {"folded": False}
    fields, spans = res[0] or [], res[1] or []
    batch, fold_id = parse_fields([str(x) for x in fields])
    add_entries(batch, [str(x) for x in spans])
    applied = False
    with transaction() as conn:
        if conn.execute("INSERT INTO usage_folds (id) VALUES (%s) ON CONFLICT DO NOTHING RETURNING id",
                        (fold_id or uuid.uuid4().hex,)).fetchone():
            to_postgres(batch, conn)
            applied = True
    redis.delete(PENDING_FOLDING, SPANS_FOLDING)
    return {"folded": applied, "units": batch.totals(), "spans": len(batch.spans)}


def utc_date(t: float) -> date:
    return datetime.fromtimestamp(t, timezone.utc).date()


# --- long-lived processes ------------------------------------------------------------------------------------
_periodic: threading.Thread | None = None


def start_periodic_flush(interval: float = 3600.0, redis_url: str | None = None) -> None:
    """For an always-on process (the media worker): write the batch every `interval` seconds, to Postgres if
    the process ran a statement in the last half minute (the compute is up), else to Redis with one command
    over `redis_url` (redis-py; the worker has no REST credentials), and once more at exit."""
    global _periodic
    if _periodic is not None:
        return
    import atexit

    client_box: dict[str, Any] = {}

    def redis_client():
        if not redis_url:
            from shared.redis_client import get_redis

            return get_redis()
        if "c" not in client_box:
            import redis

            client_box["c"] = redis.Redis.from_url(redis_url, socket_timeout=10)
        return client_box["c"]

    def once() -> None:
        batch = meter.take_batch()
        if not batch:
            return
        try:
            if clock.time() - meter.last_query() < 30:
                to_postgres(batch)
            else:
                client = redis_client()
                if redis_url:  # redis-py bypasses the REST client's count: the EVAL and the RPUSH it runs
                    meter.count("redis.commands", 2)
                to_redis(batch, client)
        except Exception:
            log.warning("periodic usage flush failed; kept for the next one", exc_info=True)
            meter.restore(batch)

    def loop() -> None:
        while True:
            time.sleep(interval)
            once()

    _periodic = threading.Thread(target=loop, name="usage-flush", daemon=True)
    _periodic.start()
    atexit.register(once)
