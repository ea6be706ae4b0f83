"""The harness itself: the real clients reach the real servers through the local stand-ins."""

import time

import pytest


def test_upstash_client_round_trips_through_bridge(backing, clean_state):
    from shared.redis_client import get_redis

    r = get_redis()
    assert r.set("greeting", "héllo") is True
    assert r.get("greeting") == "héllo"
    assert r.incr("n") == 1
    r.hset("h", values={"a": "1", "b": "2"})
    assert r.hgetall("h") == {"a": "1", "b": "2"}
    p = r.pipeline()
    p.incr("n")
    p.get("n")
    assert p.exec() == [2, "2"]


def test_migrations_are_applied_once(db):
    from shared.db.migrate import apply_migrations

    assert apply_migrations() == []
    names = [r["name"] for r in db.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names[0] == "0001_foundation.sql"


def test_qstash_publish_is_delivered_signed(backing, live_api, client):
    from shared.messaging.publisher import OutgoingMessage, publish

    before = len(backing.emulator.state.deliveries)
    mid = publish(OutgoingMessage(path="/health", body={"x": 1}))
    assert mid.startswith("msg_")
    deadline = time.time() + 15
    while time.time() < deadline:
        hits = [d for d in backing.emulator.state.deliveries[before:] if d.get("messageId") == mid]
        if hits:
            break
        time.sleep(0.05)
    # /health only answers GET, so the delivery is a 405: what matters here is that it arrived
    assert hits and hits[0]["status"] == 405


def test_api_answers_are_never_cached(client, auth):
    # authenticated: an anonymous caller gets 401 before routing (shared/api/auth.py BearerGate)
    r = client.get("/api/does-not-exist", headers=auth)
    assert r.status_code == 404
    assert r.json() == {"success": False, "error": {"code": "NOT_FOUND", "message": "Not Found"}}
    assert r.headers["cache-control"] == "no-store"
    assert "Authorization" in r.headers["vary"]


def test_bridge_refuses_a_wrong_token_and_runs_transactions(backing, clean_state):
    from upstash_redis import Redis
    from upstash_redis.errors import UpstashError

    bad = Redis(url=backing.env["UPSTASH_REDIS_REST_URL"], token="wrong", rest_retries=0)
    with pytest.raises(UpstashError) as refused:
        bad.get("x")
    exc = refused.value
    assert "Unauthorized" in str(exc)

    from shared.redis_client import get_redis

    tx = get_redis().multi()
    tx.set("a", "1")
    tx.incr("a")
    tx.get("a")
    assert tx.exec() == [True, 2, "2"]


def test_bridge_counts_commands(backing, clean_state):
    from shared.redis_client import get_redis

    counter = backing.redis_counter
    before = counter.total
    p = get_redis().pipeline()
    for _i in range(5):
        p.incr("c")
    p.exec()
    assert counter.total - before == 5


def test_clean_state_empties_every_table_restarts_ids_and_waits_for_a_late_writer(backing, clean_state, db):
    """What `clean_state` promises, as `TRUNCATE ... RESTART IDENTITY CASCADE` of every table would: tables large
    (truncated) and small (deleted, children before parents or not) end empty, ids start again at 1, the migration
    record stays, and a write a previous test's background work still has in flight is waited for and removed."""
    import threading

    import psycopg
    from conftest import _DELETE_AT_MOST, _empty_tables

    from bench import polling
    from shared.config import get_config

    # rows in eleven tables, some referencing others (rss_items -> rss_feeds), dashboard counters from triggers;
    # too many media jobs to delete (truncated) and an upload referencing one
    for sql in polling._SEED:
        db.execute(sql.format(rows=40, spread=polling.SPREAD))
    db.execute("INSERT INTO media_jobs (source_key, preset, file_name) SELECT 'raw/bulk.mp4', 'p' || g, 'bulk.mp4' "
               "FROM generate_series(1, %s) g", (_DELETE_AT_MOST + 10,))
    job = db.execute("SELECT id FROM media_jobs LIMIT 1").fetchone()["id"]
    db.execute("INSERT INTO media_uploads (purpose, object_key, file_name, content_type, declared_size, strategy, "
               "job_id) VALUES ('trailer', 'raw/a.mp4', 'a.mp4', 'video/mp4', 1, 'single', %s)", (job,))
    migrations = db.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()["n"]

    began, late = threading.Event(), threading.Event()

    def late_writer():
        with psycopg.connect(get_config().database_url) as conn:
            conn.execute("INSERT INTO notifications (type, title) VALUES ('info', 'late')")
            began.set()
            time.sleep(0.5)
            conn.commit()
            late.set()

    writer = threading.Thread(target=late_writer)
    writer.start()
    assert began.wait(10)
    _empty_tables(db)
    assert late.is_set()  # the emptying waited for the writer's commit
    writer.join()

    tables = [r["tablename"] for r in db.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
    held = {t: db.execute(f'SELECT count(*) AS n FROM "{t}"').fetchone()["n"] for t in tables}
    assert {t: n for t, n in held.items() if n} == {}
    assert {"dashboard_counts", "activity_logs", "rss_items", "rss_feeds", "media_uploads", "notifications"} \
        <= set(held)
    assert db.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()["n"] == migrations
    db.execute("INSERT INTO activity_logs (service, level, message) VALUES ('rss', 'info', 'first')")
    assert db.execute("SELECT id FROM activity_logs").fetchone()["id"] == 1
