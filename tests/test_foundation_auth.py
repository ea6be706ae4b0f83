"""POST /api/auth/login and /verify against real Redis (through the bridge) and the real argon2 hash."""

from __future__ import annotations

import time

import jwt
import pytest
from conftest import TEST_PASSWORD
from foundation_helpers import assert_error


@pytest.fixture(autouse=True)
def declared_edge_header(monkeypatch):
    """These tests play many clients through one TestClient: the deployment declares an edge that writes the
    client address into X-Forwarded-For (test_login_client_address.py covers what is trusted when)."""
    from shared.config import get_config

    monkeypatch.setenv("CLIENT_IP_HEADER", "x-forwarded-for")
    get_config.cache_clear()
    yield
    monkeypatch.undo()
    get_config.cache_clear()


@pytest.fixture
def no_slowdown(monkeypatch):
    """Records the global slow-down's waits instead of sleeping them."""
    from shared.auth import lockout

    waits: list[float] = []
    monkeypatch.setattr(lockout, "wait", waits.append)
    return waits


def _login(client, password, ip="203.0.113.7"):
    return client.post("/api/auth/login", json={"password": password}, headers={"X-Forwarded-For": ip})


def test_login_returns_top_level_token_valid_for_seven_days(client, clean_state):
    from shared.config import get_config

    r = _login(client, TEST_PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and "data" not in body
    claims = jwt.decode(body["token"], get_config().jwt_secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    assert abs(claims["iat"] - time.time()) < 5
    # the token opens a protected route
    assert client.get("/api/settings", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200


def test_wrong_password_counts_down_then_locks_with_retry_after(client, clean_state, monkeypatch):
    from shared.auth import login as login_service

    checks = []
    real_verify = login_service.verify_password
    monkeypatch.setattr(login_service, "verify_password", lambda p, h: checks.append(p) or real_verify(p, h))

    remaining = []
    for _ in range(5):
        r = _login(client, "wrong")
        assert r.status_code == 401
        body = r.json()
        assert body["success"] is False and body["error"] == "Invalid password"
        remaining.append(body["remainingAttempts"])
    assert remaining == [4, 3, 2, 1, 0]

    r = _login(client, TEST_PASSWORD)  # even the right password: the client is locked
    assert r.status_code == 429
    body = r.json()
    assert body["success"] is False and body["code"] == "RATE_LIMIT_EXCEEDED"
    assert isinstance(body["error"], str) and "Try again" in body["error"]
    assert body["remainingAttempts"] == 0
    retry_after = int(r.headers["Retry-After"])
    assert 15 * 60 - 10 <= retry_after <= 15 * 60
    assert len(checks) == 5  # the locked attempt was refused without hashing

    # another client is not locked
    assert _login(client, TEST_PASSWORD, ip="198.51.100.9").status_code == 200


def test_lockout_is_recorded_once_in_logs_and_notifications(client, clean_state, db):
    for _ in range(6):
        _login(client, "wrong", ip="192.0.2.44")
    logs = db.execute("SELECT message, metadata FROM activity_logs WHERE service = 'auth'").fetchall()
    assert [r["message"] for r in logs] == ["Login locked after repeated failures"]
    assert logs[0]["metadata"] == {"client": "192.0.2.44"}
    assert db.execute("SELECT count(*) AS n FROM notifications WHERE title = 'Login locked'").fetchone()["n"] == 1


def test_success_resets_the_counter(client, clean_state):
    for _ in range(4):
        assert _login(client, "wrong").json()["remainingAttempts"] >= 1
    assert _login(client, TEST_PASSWORD).status_code == 200
    assert _login(client, "wrong").json()["remainingAttempts"] == 4


def test_window_expiry_unlocks(client, clean_state, redis_raw):
    for _ in range(6):
        _login(client, "wrong")
    assert _login(client, TEST_PASSWORD).status_code == 429
    redis_raw.pexpire("login:attempts:203.0.113.7", 50)  # fast-forward the 15-minute window
    time.sleep(0.15)
    assert _login(client, TEST_PASSWORD).status_code == 200


def test_parallel_attempts_cannot_exceed_the_limit(client, clean_state, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from shared.auth import login as login_service

    checks = []
    monkeypatch.setattr(login_service, "verify_password", lambda p, h: checks.append(p) or False)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _login(client, "guess").status_code, range(16)))
    assert sorted(statuses) == [401] * 5 + [429] * 11
    assert len(checks) == 5


def test_redis_cost_per_attempt(client, clean_state, backing):
    backing.redis_counter.reset()
    _login(client, "wrong")
    assert backing.redis_counter.total == 1  # one EVAL counts the client and the global counter
    backing.redis_counter.reset()
    _login(client, TEST_PASSWORD)
    assert backing.redis_counter.total == 2  # the same EVAL plus the DEL that resets the client


@pytest.mark.parametrize("bad_hash", ["", "$2b$12$abcdefghijklmnopqrstuuGQkzVY2R0Vx1c1XJ6Yq6h2bQJ5C",
                                      "$argon2id$v=19$m=65536"])
def test_missing_or_unusable_password_hash_is_a_server_configuration_error(client, clean_state, monkeypatch,
                                                                          bad_hash):
    from shared.config import get_config

    monkeypatch.setenv("APP_PASSWORD_HASH", bad_hash)
    get_config.cache_clear()
    try:
        r = _login(client, TEST_PASSWORD)
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
    assert r.status_code == 500
    assert r.json()["success"] is False and r.json()["error"] == "Server configuration error"


def test_the_owner_gets_in_after_200_wrong_guesses_from_100_addresses(client, clean_state, no_slowdown, db):
    """The old global cap refused everyone, the right password included, after ~20 addresses' worth of
    guesses. Now guesses from many addresses slow every check down; none refuses a client that has not failed."""
    from shared.auth import lockout

    statuses = [_login(client, "wrong guess", ip=f"198.51.{i // 250}.{i % 250 + 1}").status_code
                for i in range(100) for _ in range(2)]
    assert statuses == [401] * 200
    r = _login(client, TEST_PASSWORD, ip="192.0.2.200")  # a fresh address: the owner's
    assert r.status_code == 200 and r.json()["token"]
    assert no_slowdown[-1] == lockout.MAX_DELAY  # slowed down, not refused
    assert no_slowdown[:lockout.GLOBAL_FREE] == [0] * lockout.GLOBAL_FREE
    notes = db.execute("SELECT count(*) AS n FROM notifications WHERE title = 'Login under attack'").fetchone()
    assert notes["n"] == 1  # told once per window, not once per guess


def test_a_client_that_failed_is_still_locked_during_an_attack(client, clean_state, no_slowdown):
    for i in range(30):
        _login(client, "wrong", ip=f"198.51.100.{i + 1}")
    for _ in range(5):
        assert _login(client, "wrong", ip="203.0.113.50").status_code == 401
    assert _login(client, TEST_PASSWORD, ip="203.0.113.50").status_code == 429


def test_one_locked_address_cannot_slow_the_owner_down(client, clean_state, monkeypatch, no_slowdown):
    from shared.auth import login as login_service

    monkeypatch.setattr(login_service, "verify_password", lambda p, h: p == "right")
    hammer = [_login(client, "guess", ip="203.0.113.9").status_code for _ in range(40)]
    assert hammer == [401] * 5 + [429] * 35
    # the refused attempts were never counted globally: the owner elsewhere is neither refused nor slowed
    assert _login(client, "right", ip="198.51.100.7").status_code == 200
    assert set(no_slowdown) == {0}


@pytest.mark.parametrize("token_kind", ["valid", "garbage", "expired", "other-secret"])
def test_verify(client, token, token_kind):
    from shared.config import get_config

    now = int(time.time())
    tokens = {
        "valid": token,
        "garbage": "not-a-jwt",
        "expired": jwt.encode({"sub": "owner", "iat": now - 100, "exp": now - 10, "typ": "session"},
                              get_config().jwt_secret, algorithm="HS256"),
        "other-secret": jwt.encode({"sub": "owner", "iat": now, "exp": now + 60, "typ": "session"},
                                   "x" * 48, algorithm="HS256"),
    }
    r = client.post("/api/auth/verify", json={"token": tokens[token_kind]})
    assert r.status_code == 200
    expected = token_kind == "valid"
    assert r.json() == {"success": True, "data": {"valid": expected}, "valid": expected}


def test_login_body_must_be_a_password_string(client, clean_state):
    assert_error(client.post("/api/auth/login", json={"password": 12345}), 400, "VALIDATION_ERROR")
    assert_error(client.post("/api/auth/login", json={}), 400, "VALIDATION_ERROR")
    assert_error(client.post("/api/auth/verify", json={"tok": "x"}), 400, "VALIDATION_ERROR")


def test_login_fails_closed_when_the_counter_is_unreachable(client, clean_state, monkeypatch, db):
    from shared.config import get_config
    from shared.local.services import free_port
    from shared.redis_client import reset_redis_client

    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", f"http://127.0.0.1:{free_port()}")
    get_config.cache_clear()
    reset_redis_client()
    try:
        r = _login(client, TEST_PASSWORD)
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
        reset_redis_client()
    assert r.status_code == 503 and r.headers["Retry-After"] == "60"
    assert r.json()["success"] is False and r.json()["code"] == "SERVICE_UNAVAILABLE" and "token" not in r.json()
    assert db.execute("SELECT count(*) AS n FROM activity_logs WHERE service = 'auth' AND level = 'error'"
                      ).fetchone()["n"] == 1


def test_an_empty_jwt_secret_never_validates_a_token(client, monkeypatch):
    from shared.config import get_config

    now = int(time.time())
    forged = jwt.encode({"sub": "owner", "iat": now, "exp": now + 60, "typ": "session"}, "x", algorithm="HS256")
    monkeypatch.setenv("JWT_SECRET", "")
    get_config.cache_clear()
    try:
        r = client.get("/api/settings", headers={"Authorization": f"Bearer {forged}"})
        v = client.post("/api/auth/verify", json={"token": forged})
        login = _login(client, TEST_PASSWORD)
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
    assert_error(r, 401, "UNAUTHORIZED")
    assert v.json()["valid"] is False
    assert login.status_code == 500 and login.json()["error"] == "Server configuration error"
