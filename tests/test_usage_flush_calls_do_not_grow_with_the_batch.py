"""A usage batch written to Redis is one list entry, so the flush script makes the same calls for one counter as
for forty (Upstash bills every call a script makes, https://upstash.com/docs/redis/overall/billing; a call per
counter cost ~1,700 calls a day in the live day simulation). The fold sums the entries in Python, exactly once,
and still folds what an older deployment left in the hash. Counted on the real Redis's MONITOR stream."""

import pytest
from redis_script_calls import ScriptCalls

from shared.usage import flush, meter


@pytest.fixture
def fresh_meter():
    meter.take_batch()
    yield
    meter.take_batch()


def _count_units(n: int, tag: str) -> None:
    for i in range(n):
        meter.count(f"{tag}.unit{i}", i + 1)
        meter.gauge(f"{tag}.level{i}", 10 * i)
    meter.query_at(1_000_000.0 + n)


def test_a_delivery_marker_makes_the_same_calls_for_one_counter_as_for_forty(backing, clean_state, fresh_meter):
    from shared.redis_client import get_redis

    r = get_redis()
    with ScriptCalls(backing.redis_url) as calls:
        for n in (1, 40):
            _count_units(n, f"marker{n}")
            flush.finish_marker(r, f"qstash:msg:calls-{n}", 60)
    one, forty = calls.one("qstash:msg:calls-1"), calls.one("qstash:msg:calls-40")
    assert one.calls == forty.calls == ["RPUSH", "SET"]


def test_a_standalone_flush_is_one_call_whatever_the_batch_holds(backing, clean_state, fresh_meter):
    with ScriptCalls(backing.redis_url) as calls:
        for n in (1, 40):
            _count_units(n, f"alone{n}")
            flush.to_redis(meter.take_batch())
    assert calls.one("alone1.unit0").calls == calls.one("alone40.unit39").calls == ["RPUSH"]


def test_the_fold_sums_the_entries_once_and_the_hash_older_flushes_filled(backing, clean_state, fresh_meter, db,
                                                                           redis_raw):
    from shared.redis_client import get_redis

    day = meter.epoch_day(1_000_000.0)
    # what the flush wrote before batches were list entries: counters in the hash, spans as bare strings
    redis_raw.hset(flush.PENDING_KEY, mapping={f"+{day}|fold.calls": "4", f"={day}|fold.level": "1"})
    redis_raw.rpush(flush.SPANS_KEY, "900.000:901.000")
    for amount, level in ((2, 5.0), (3, 7.0)):
        flush.to_redis(meter.Batch(counts={(day, "fold.calls"): amount}, gauges={(day, "fold.level"): level},
                                   spans=[(1000.0 + amount, 1001.0 + amount)]))
    meter.take_batch()  # (the flushes' own commands, counted by the client)
    flush.finish_marker(get_redis(), "qstash:msg:fold", 60)  # an empty batch: the marker alone, no entry
    assert redis_raw.llen(flush.SPANS_KEY) == 3
    assert flush.fold()["folded"]
    assert flush.fold() == {"folded": False}  # nothing left: folded once
    total = db.execute("SELECT amount FROM usage_counters WHERE unit = 'fold.calls'").fetchone()["amount"]
    level = db.execute("SELECT value FROM usage_gauges WHERE unit = 'fold.level'").fetchone()["value"]
    spans = db.execute("SELECT count(*) AS n FROM usage_pg_spans WHERE started_at IN "
                       "(to_timestamp(900), to_timestamp(1002), to_timestamp(1003))").fetchone()["n"]
    assert (total, level, spans) == (9, 7.0, 3)  # the newest gauge wins
