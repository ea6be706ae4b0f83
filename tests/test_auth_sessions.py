"""Sessions the owner can end: sign out here, sign out everywhere, a new password, a new JWT secret."""

from __future__ import annotations

import pytest
from conftest import TEST_PASSWORD
from foundation_helpers import assert_error


@pytest.fixture(autouse=True)
def fresh_session_cache():
    from shared.auth import sessions

    sessions.forget_cache()
    yield
    sessions.forget_cache()


def _login(client, ip="203.0.113.60"):
    r = client.post("/api/auth/login", json={"password": TEST_PASSWORD}, headers={"X-Forwarded-For": ip})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _valid(client, auth) -> bool:
    r = client.get("/api/notifications", headers=auth)
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def _verify(client, auth) -> bool:
    return client.post("/api/auth/verify", json={"token": auth["Authorization"][7:]}).json()["valid"]


def test_logout_ends_this_session_only(client, clean_state):
    here, there = _login(client), _login(client)
    r = client.post("/api/auth/logout", headers=here)
    assert r.status_code == 200 and r.json()["success"] is True
    err = assert_error(client.get("/api/notifications", headers=here), 401, "UNAUTHORIZED")
    assert "signed out" in err["message"]
    assert not _verify(client, here)
    assert _valid(client, there) and _verify(client, there)


def test_logout_all_ends_every_earlier_session_and_a_new_login_works(client, clean_state, db):
    a, b = _login(client), _login(client)
    assert client.post("/api/auth/logout-all", headers=a).status_code == 200
    assert not _valid(client, a) and not _valid(client, b)
    assert not _verify(client, b)
    fresh = _login(client)
    assert _valid(client, fresh)
    logged = db.execute("SELECT count(*) AS n FROM activity_logs WHERE message = 'Signed out everywhere'")
    assert logged.fetchone()["n"] == 1


def test_another_instance_sees_a_revocation_once_its_cache_expires(client, clean_state, monkeypatch):
    """The revoking instance knows at once; another warm instance within CHECK_SECONDS (here: forced)."""
    from shared.auth import sessions

    a = _login(client)
    assert _valid(client, a)  # this process has read the state
    with_other_instance = sessions.SessionState(0, frozenset())
    sessions._store(with_other_instance)
    sessions.logout_all()  # written by "someone else": the row changes in Postgres
    sessions._store(with_other_instance)  # ...but this process still holds the old state
    assert _valid(client, a)  # stale within the documented bound
    monkeypatch.setattr(sessions, "CHECK_SECONDS", 0.0)
    assert not _valid(client, a)


def test_polls_do_not_read_the_session_state_every_time(client, clean_state, monkeypatch):
    from shared.auth import sessions

    reads = []
    real_read = sessions._read
    monkeypatch.setattr(sessions, "_read", lambda: reads.append(1) or real_read())
    auth = _login(client)
    for _ in range(20):
        assert client.get("/api/notifications", headers=auth).status_code == 200
    assert len(reads) == 1  # one read per instance per CHECK_SECONDS, not one per request


@pytest.mark.parametrize("variable", ["APP_PASSWORD_HASH", "JWT_SECRET"])
def test_a_new_password_or_jwt_secret_ends_every_earlier_session(client, clean_state, monkeypatch, variable):
    from argon2 import PasswordHasher

    from shared.config import get_config

    auth = _login(client)
    new_value = (PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("a brand new password!")
                 if variable == "APP_PASSWORD_HASH" else "n" * 48)
    monkeypatch.setenv(variable, new_value)
    get_config.cache_clear()
    try:
        err = assert_error(client.get("/api/notifications", headers=auth), 401, "UNAUTHORIZED")
        assert not _verify(client, auth)
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
    if variable == "APP_PASSWORD_HASH":
        assert "password changed" in err["message"]
    assert _valid(client, auth)  # back to the old secret: the same token works again


def test_logout_needs_a_session(client, clean_state):
    assert_error(client.post("/api/auth/logout"), 401, "UNAUTHORIZED")
    assert_error(client.post("/api/auth/logout-all"), 401, "UNAUTHORIZED")
