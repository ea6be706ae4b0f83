"""Which address a login attempt is counted against: only what the deployment vouches for, over a real socket.

Vercel's edge overwrites X-Forwarded-For and sets x-vercel-forwarded-for
(https://vercel.com/docs/headers/request-headers); nothing else in front of a plain server rewrites anything,
so there a client-chosen X-Forwarded-For must not pick a fresh lockout counter.
"""

from __future__ import annotations

import httpx
import pytest
from conftest import TEST_PASSWORD


@pytest.fixture
def env(monkeypatch):
    from shared.config import get_config

    def set_env(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, v)
        get_config.cache_clear()

    yield set_env
    monkeypatch.undo()
    get_config.cache_clear()


def _attempt(api, password, headers):
    with httpx.Client(base_url=api.url, timeout=10) as c:
        return c.post("/api/auth/login", json={"password": password}, headers=headers)


def test_spoofed_forwarded_for_does_not_buy_fresh_attempts(live_api, clean_state, env):
    env(CLIENT_IP_HEADER="", TRUSTED_PROXIES="", VERCEL="")
    statuses = [_attempt(live_api, "wrong", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(1, 7)]
    assert statuses == [401] * 5 + [429]  # all six came from 127.0.0.1, whatever they claimed
    r = _attempt(live_api, TEST_PASSWORD, {"X-Forwarded-For": "203.0.113.250"})
    assert r.status_code == 429


def test_on_vercel_the_edge_header_names_the_client(live_api, clean_state, env, redis_raw):
    env(CLIENT_IP_HEADER="", TRUSTED_PROXIES="", VERCEL="1")
    for _ in range(5):
        # a spoofed X-Forwarded-For beside Vercel's own header changes nothing
        r = _attempt(live_api, "wrong", {"x-vercel-forwarded-for": "203.0.113.77",
                                         "X-Forwarded-For": "198.51.100.1"})
        assert r.status_code == 401
    assert _attempt(live_api, TEST_PASSWORD, {"x-vercel-forwarded-for": "203.0.113.77"}).status_code == 429
    assert redis_raw.exists("login:attempts:203.0.113.77") and not redis_raw.exists("login:attempts:198.51.100.1")
    # another client behind the same edge is not locked
    assert _attempt(live_api, TEST_PASSWORD, {"x-vercel-forwarded-for": "203.0.113.78"}).status_code == 200


def test_a_declared_proxy_is_skipped_and_its_client_counted(live_api, clean_state, env, redis_raw):
    env(CLIENT_IP_HEADER="", TRUSTED_PROXIES="127.0.0.0/8", VERCEL="")
    _attempt(live_api, "wrong", {"X-Forwarded-For": "forged-by-client, 203.0.113.40"})
    assert redis_raw.exists("login:attempts:203.0.113.40")
    assert not redis_raw.exists("login:attempts:forged-by-client")


def test_bad_trusted_proxies_fail_at_start(env):
    from shared.config import ConfigError, get_config

    env(TRUSTED_PROXIES="10.0.0.0/8, not-a-network")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        get_config()
