"""The usage meter counts billed units the way each provider bills them, where they are spent, and writes them out
without costing an extra command: checked against counts we did not write (the Redis bridge's command counter,
the QStash emulator, Postgres itself, moto's S3)."""

import asyncio
import json
import threading

import httpx
import pytest

from shared.usage import awake, flush, meter


@pytest.fixture
def fresh_meter():
    meter.take_batch()
    yield
    meter.take_batch()


# the harness's own reads and connection handshakes (a new connection of the bridge's client): not commands sent
_NOT_SENT = {"info", "client", "hello", "ping", "select", "auth"}


def _server_calls(redis_raw) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in redis_raw.info("commandstats").items()
            if k.removeprefix("cmdstat_") not in _NOT_SENT}


def test_redis_commands_are_counted_like_upstash_bills_them(backing, clean_state, fresh_meter, redis_raw):
    """One per command, alone, in a pipeline or in a transaction, and a script one plus one per command it ran:
    Upstash's own rate-limit SDK counts its fixed-window script as "EVAL, INCR, PEXPIRE", 3 commands
    (https://upstash.com/docs/redis/sdks/ratelimit-ts/costs). Checked against the Redis server's own per-command
    counts, which include the commands scripts run."""
    from shared.redis_client import get_redis

    r = get_redis()
    before, server_before = backing.redis_counter.total, _server_calls(redis_raw)
    r.set("a", "1")  # 1
    p = r.pipeline()  # a pipeline: each command is one
    p.get("a")
    p.incr("n")
    p.get("b")
    p.exec()
    t = r.multi()  # a transaction: each command is one
    t.set("c", "1")
    t.get("c")
    t.exec()
    # 1 + the 2 it runs; its reply reaches the caller as the script returned it
    assert r.eval("redis.call('SET', KEYS[1], 'x'); redis.call('GET', KEYS[1]); return {1, 'two'}",
                  keys=["d"], args=[]) == [1, "two"]
    assert r.eval("redis.call('DEL', KEYS[1])", keys=["d"], args=[]) is None  # 1 + 1, no reply
    counted = meter.take_batch().totals()["redis.commands"]
    assert backing.redis_counter.total - before == 8  # requests' commands, as the REST endpoint receives them
    server = {k: n - server_before.get(k, 0) for k, n in _server_calls(redis_raw).items()}
    billed = sum(n for k, n in server.items() if k not in ("multi", "exec"))  # Upstash's REST
    assert counted == billed == 11  # transaction is one request of commands: MULTI/EXEC are the bridge's own


def test_a_counted_script_keeps_its_meaning(backing, clean_state, fresh_meter, redis_raw):
    """What the counting wrapper must not change: error replies still raise, flags stay on the first line, an
    alias of redis.call is counted too, text that looks like a call is data."""
    from upstash_redis.errors import UpstashError

    from shared.redis_client import counting_script, get_redis

    # flags (Redis 7) must stay on the first line; the embedded Redis 6.2 has none, so this is checked as text
    assert counting_script("#!lua flags=no-writes\nreturn 1").startswith("#!lua flags=no-writes\nlocal ")
    r = get_redis()
    with pytest.raises(UpstashError, match="nope"):
        r.eval("redis.call('SET', KEYS[1], '1'); return redis.error_reply('nope')", keys=["e"], args=[])
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        r.eval("local e = redis.pcall('HGET', KEYS[1], 'f'); return e", keys=["e"], args=[])
    meter.take_batch()
    server_before = _server_calls(redis_raw)
    assert r.eval("return 'redis.call(x'", keys=[], args=[]) == "redis.call(x"
    assert r.eval("local c = redis.call; c('SET', KEYS[1], 'v'); return c('GET', KEYS[1])",
                  keys=["a"], args=[]) == "v"
    assert r.eval("return redis.sha1hex('')", keys=[], args=[]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert r.eval("return redis.call('SET', KEYS[1], 'w')", keys=["a"], args=[]) == "OK"  # a status reply
    server = {k: n - server_before.get(k, 0) for k, n in _server_calls(redis_raw).items()}
    assert meter.take_batch().totals()["redis.commands"] == sum(server.values()) == 4 + 3


def test_postgres_statements_and_their_activity_spans(clean_state, fresh_meter, db, monkeypatch):
    # the meter is process-wide and the API in this process may answer a late delivery meanwhile: the rule is
    # checked on the statements this thread ran
    mine = []
    real = meter.query_at
    monkeypatch.setattr(meter, "query_at", lambda *a: (mine.append(threading.get_ident()), real(*a))[1])
    db.execute("SELECT 1")
    db.execute("SELECT 2")
    with db.cursor() as cur:
        cur.executemany("SELECT %s", [(1,), (2,), (3,)])
    b = meter.take_batch()
    assert mine.count(threading.get_ident()) == 5
    assert b.totals()["pg.queries"] >= 5  # what was counted reached the batch
    assert len(b.spans) == 1 and b.spans[0][0] <= b.spans[0][1]


def test_spans_split_where_neon_would_have_suspended(fresh_meter):
    for t in (1000.0, 1100.0, 1399.0, 2000.0, 2050.0):  # 1399 -> 2000 is more than 5 minutes
        meter.query_at(t)
    assert meter.take_batch().spans == [(1000.0, 1399.0), (2000.0, 2050.0)]


def test_awake_time_is_the_union_of_five_minute_tails():
    spans = [(0, 100), (50, 200), (1000, 1000), (1100, 1200), (86000, 86500)]
    ivs = awake.intervals(spans)
    assert ivs == [(0, 500), (1000, 1500), (86000, 86800)]
    assert awake.per_day(ivs) == {0: 500 + 500 + 400, 1: 400}
    assert awake.wake_ups(ivs, 0, 86400) == 3
    assert awake.seconds_within(ivs, 250, 1250) == 250 + 250
    assert awake.cu_hours(4 * 3600, 0.25) == 1.0


def test_qstash_publishes_deduplicated_repeats_and_batches(backing, clean_state, fresh_meter):
    from shared.messaging.publisher import OutgoingMessage, publish, publish_batch

    before = backing.emulator.state.published_count
    msg = OutgoingMessage(path="/api/internal/nowhere", body={}, delay_seconds=3600, deduplication_id="same-one")
    publish(msg)
    publish(msg)  # QStash drops the repeat: not a billed message
    publish_batch([OutgoingMessage(path="/api/internal/nowhere", body={"i": i}, delay_seconds=3600)
                   for i in range(3)])
    assert meter.take_batch().totals()["qstash.messages"] == backing.emulator.state.published_count - before == 4


@pytest.mark.parametrize("retried, schedule_id, billed", [
    (0, None, 0),  # first delivery of a message we published: counted at publish time
    (0, "screndly-rss-tick", 1),  # a schedule's firing: counted where it arrives
    (1, None, 1), (2, "screndly-rss-tick", 1),  # every retry is billed again
])
def test_deliveries_count_firings_and_retries(fresh_meter, retried, schedule_id, billed):
    from shared.messaging.receiver import count_delivery

    count_delivery(retried, schedule_id)
    assert meter.take_batch().totals().get("qstash.messages", 0) == billed


def test_a_delivery_writes_its_usage_in_the_command_it_already_sends(backing, live_api, clean_state, fresh_meter):
    """run_once's "done" marker and the invocation's usage batch travel as one script: a delivery costs the same
    three commands as before the meter existed, and the batch lands in Redis."""
    from shared.messaging.receiver import Delivery, run_once
    from shared.redis_client import get_redis

    meter.count("tmdb.calls", 7)
    before = backing.redis_counter.total
    assert run_once(Delivery(message_id="m-1", retried=0, schedule_id=None, body=b"", signature_id="jti-1"),
                    lambda: "ran") == "ran"
    assert backing.redis_counter.total - before == 3  # SET NX sig, SET NX msg, then the one script
    assert backing.redis_counter.by_command.get("EVAL", 0) >= 1
    r = get_redis()
    assert r.get("qstash:msg:m-1") == "done"
    pending = flush.add_entries(meter.Batch(), r.lrange(flush.SPANS_KEY, 0, -1))
    assert pending.totals().get("tmdb.calls") == 7
    assert meter.peek().totals().get("tmdb.calls") is None  # taken, not kept twice


def test_fold_moves_redis_batches_into_postgres_once_even_if_it_dies_half_way(backing, clean_state, fresh_meter, db,
                                                                              monkeypatch):
    from shared.redis_client import get_redis

    meter.count("serper.calls", 2)
    meter.query_at(1_000_000.0)
    flush.to_redis(meter.take_batch())
    meter.count("serper.calls", 3)
    flush.to_redis(meter.take_batch())
    r = get_redis()
    real_delete = type(r).delete

    def dies(self, *keys):
        raise ConnectionError("gone before the cleanup")
    monkeypatch.setattr(type(r), "delete", dies)
    with pytest.raises(ConnectionError):
        flush.fold()  # Postgres has the counts; Redis still holds the batch being folded
    monkeypatch.setattr(type(r), "delete", real_delete)
    meter.count("serper.calls", 10)
    flush.to_redis(meter.take_batch())
    flush.fold()  # finishes the first fold without applying it again
    flush.fold()  # and then folds what came meanwhile
    total = db.execute("SELECT sum(amount) AS n FROM usage_counters WHERE unit = 'serper.calls'").fetchone()["n"]
    assert total == 15
    assert db.execute("SELECT count(*) AS n FROM usage_pg_spans WHERE started_at = to_timestamp(1000000)"
                      ).fetchone()["n"] == 1
    assert not r.exists(flush.PENDING_KEY, flush.SPANS_KEY, flush.PENDING_FOLDING, flush.SPANS_FOLDING)


def test_a_failed_flush_keeps_the_counts(fresh_meter, monkeypatch):
    meter.count("openai.tokens", 5)
    monkeypatch.setattr(flush, "to_redis", lambda batch, client=None: (_ for _ in ()).throw(ConnectionError()))
    assert flush.flush_now(prefer_postgres=False) == "none"
    assert meter.peek().totals()["openai.tokens"] == 5


def test_each_request_is_an_invocation_with_its_cpu_written_on_its_own_connection(client, auth, clean_state,
                                                                                   fresh_meter, db):
    flush._last_pg_flush = 0.0
    assert client.get("/api/notifications", headers=auth).status_code == 200
    row = db.execute("SELECT coalesce(sum(amount) FILTER (WHERE unit = 'fn.invocations'), 0) AS n, "
                     "coalesce(sum(amount) FILTER (WHERE unit = 'fn.cpu_ms'), 0) AS cpu, "
                     "coalesce(sum(amount) FILTER (WHERE unit = 'pg.queries'), 0) AS q FROM usage_counters").fetchone()
    assert row["n"] == 1 and row["cpu"] > 0 and row["q"] >= 1
    assert db.execute("SELECT count(*) AS n FROM usage_pg_spans").fetchone()["n"] >= 1


def test_b2_requests_by_transaction_class(backing, fresh_meter):
    from shared.storage.s3 import get_storage

    s = get_storage()
    s.put_bytes("usage/a.txt", b"x", "text/plain")  # class A: free
    s.head("usage/a.txt")  # class B
    s.read_range("usage/a.txt", 0, 1)  # class B
    s.list("usage/")  # class C
    s.delete("usage/a.txt")  # class A
    t = meter.take_batch().totals()
    assert (t.get("b2.class_a"), t.get("b2.class_b"), t.get("b2.class_c")) == (2, 2, 1)


def test_openai_tokens_and_serper_searches(fresh_meter, monkeypatch):
    from shared.ai import openai_chat
    from shared.rss import serper

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/chat/completions"):
            return httpx.Response(200, json={"model": "m", "choices": [{"message": {"content": "hi"}}],
                                             "usage": {"prompt_tokens": 120, "completion_tokens": 30}})
        return httpx.Response(200, json={"images": []})

    async def run():
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as c:
            await openai_chat.chat(c, "sk", model="m", messages=[{"role": "user", "content": "x"}])
            await serper.search_images(c, "key", "trailer")
    asyncio.run(run())
    t = meter.take_batch().totals()
    assert t["openai.tokens"] == 150 and t["openai.calls"] == 1 and t["serper.calls"] == 1


def test_a_batch_is_one_list_entry_and_back():
    b = meter.Batch(counts={(20000, "redis.commands"): 3.0, (20001, "fn.cpu_ms"): 1.5},
                    gauges={(20000, "b2.stored_bytes"): 1e9}, spans=[(1.5, 2.25)])
    ttl, entry = flush.script_args(b, 60)
    assert ttl == "60" and json.loads(json.dumps(entry)) == entry  # plain strings, as a Redis script takes them
    back = flush.add_entries(meter.Batch(), [entry, entry])
    assert back.counts == {k: 2 * v for k, v in b.counts.items()}  # entries add up
    assert back.gauges == b.gauges and back.spans == b.spans * 2
    assert flush.script_args(meter.Batch(), 60) == ["60", ""]  # a delivery with nothing counted pushes nothing


def test_daily_levels_and_span_compaction_keep_the_awake_time(backing, clean_state, fresh_meter, db):
    from datetime import datetime, timedelta, timezone

    from shared.maintenance.cleanup import CleanupContext
    from shared.storage.s3 import get_storage
    from shared.usage import cleanup_steps

    get_storage().put_bytes("usage/level.bin", b"x" * 1000, "application/octet-stream")
    now = datetime.now(timezone.utc)
    yesterday = (now - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0).timestamp()
    spans = [(yesterday, yesterday + 10), (yesterday + 200, yesterday + 250), (yesterday + 2000, yesterday + 2000)]
    db.execute("INSERT INTO usage_pg_spans (started_at, ended_at) SELECT to_timestamp(a), to_timestamp(b) "
               "FROM unnest(%s::float8[], %s::float8[]) AS x(a, b)", ([a for a, _ in spans], [b for _, b in spans]))
    before = awake.seconds_within(awake.intervals(spans), 0, 2e9)
    ctx = CleanupContext(settings={}, now=now)
    levels = cleanup_steps.measure_levels(ctx)
    assert levels["pgBytes"] > 0 and levels["b2Bytes"] >= 1000
    gauges = meter.take_batch().gauges
    assert {u for _, u in gauges} == {"pg.storage_bytes", "b2.stored_bytes"}
    assert cleanup_steps.compact(ctx)["spansAfter"] == 2
    rows = [(float(r["a"]), float(r["b"])) for r in db.execute(
        "SELECT extract(epoch FROM started_at) AS a, extract(epoch FROM ended_at) AS b FROM usage_pg_spans")]
    assert awake.seconds_within(awake.intervals(rows), 0, 2e9) == pytest.approx(before)
