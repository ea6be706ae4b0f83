"""Token exchanges never leave secrets in logs: httpx's INFO request lines are silenced where our clients are
created, and Meta's exchanges send the client secret and codes in a POST form rather than the URL."""

from __future__ import annotations

import logging

import jwt
import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)

REDIRECT = "http://localhost:5173/platforms/callback"


def _connect(client, auth, fake, platform):
    r = client.get(f"/api/platforms/auth/{platform}", params={"redirectUri": REDIRECT}, headers=auth)
    code, state = fake.consent(r.json()["data"]["url"])
    verifier = jwt.decode(state, options={"verify_signature": False})["codeVerifier"]
    r = client.post("/api/platforms/callback", headers=auth, json={
        "platform": platform, "code": code, "state": state, "codeVerifier": verifier, "redirectUri": REDIRECT})
    assert r.status_code == 200, r.text
    return code


@pytest.mark.parametrize("platform", ["Facebook", "Threads"])
def test_token_exchange_logs_no_secret(world, client, auth, caplog, platform):
    for name in ("httpx", "httpcore"):  # as a fresh process starts: nothing silenced yet
        logging.getLogger(name).setLevel(logging.NOTSET)
    fake = world.by_family[platform.lower()]
    urls: list[str] = []
    for i, (m, rx, name, fn) in enumerate(fake.routes):
        if name in ("token", "exchange", "refresh"):
            def spy(request, _fn=fn, **kw):
                urls.append(str(request.url))
                return _fn(request, **kw)
            fake.routes[i] = (m, rx, name, spy)
    caplog.set_level(logging.INFO)
    code = _connect(client, auth, fake, platform)
    if platform == "Threads":  # the long-lived token refresh carries the token in its query string
        from shared.publishing.connections import store
        from shared.publishing.connections.oauth import refresh_tokens

        refresh_tokens("threads", store.get("threads"))
    assert urls, "the exchange did not run"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the capture works: our own activity lines are there
    for secret in [fake.client_secret, code, *fake.tokens]:
        assert secret not in logged, f"{secret[:12]}... reached the logs"
    if platform == "Facebook":
        assert not any(fake.client_secret in u or code in u for u in urls), urls  # POST form, not the URL
