"""GET /health: 200 when Postgres, Redis and storage answer; 503 naming the one that does not."""

from __future__ import annotations

import pytest

from shared.local.services import free_port


def test_healthy(client):
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "healthy" and body["timestamp"] and "failed" not in body
    assert {k: v["status"] for k, v in body["checks"].items()} == {"database": "ok", "redis": "ok", "storage": "ok"}


@pytest.fixture
def reset_clients():
    from shared.config import get_config
    from shared.redis_client import reset_redis_client
    from shared.storage.s3 import reset_storage

    def reset():
        get_config.cache_clear()
        reset_redis_client()
        reset_storage()

    yield reset
    reset()


@pytest.mark.parametrize("dependency,env", [
    ("redis", "UPSTASH_REDIS_REST_URL"),
    ("storage", "B2_ENDPOINT_URL"),
    ("database", "DATABASE_URL"),
])
def test_a_dead_dependency_is_named(client, monkeypatch, reset_clients, dependency, env):
    dead = free_port()  # nothing listens there
    if env == "DATABASE_URL":
        monkeypatch.setenv(env, f"postgresql://postgres@127.0.0.1:{dead}/nothing?connect_timeout=1")
    else:
        monkeypatch.setenv(env, f"http://127.0.0.1:{dead}")
    reset_clients()
    r = client.get("/health")
    monkeypatch.undo()
    reset_clients()

    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "unhealthy" and body["failed"] == [dependency]
    assert body["checks"][dependency]["status"] == "error" and body["checks"][dependency]["error"]
    others = {k: v["status"] for k, v in body["checks"].items() if k != dependency}
    assert set(others.values()) == {"ok"}
    # and everything is back once the dependency is
    assert client.get("/health").status_code == 200


def test_health_never_leaks_credentials(client, monkeypatch, reset_clients):
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "tok_secret_value_that_must_not_leak")
    reset_clients()
    r = client.get("/health")
    monkeypatch.undo()
    reset_clients()
    assert r.status_code == 503 and r.json()["failed"] == ["redis"]
    assert "tok_secret_value_that_must_not_leak" not in r.text
