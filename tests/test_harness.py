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
