"""Every route of the app, found by enumeration (so routes other areas add later are covered without editing
this file), refuses requests without valid credentials in the contract's error shape.

Hard-coded: only the allow-list of public routes. Everything else under /api needs a session JWT; everything
under /api/internal needs a QStash signature (and a session JWT does not open it).
"""

from __future__ import annotations

import re
import time

import jwt
import pytest

PUBLIC_API = {("POST", "/api/auth/login"), ("POST", "/api/auth/verify")}
PUBLIC_OTHER = {"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json"}
_UUID = "00000000-0000-4000-8000-000000000000"


def all_routes(app) -> list[tuple[str, str, bool]]:
    """(method, path, include_in_schema) for every route, including include_in_schema=False ones."""
    from fastapi.routing import iter_route_contexts

    out = []
    for ctx in iter_route_contexts(app.routes):
        path = ctx.path
        for method in sorted(ctx.methods or {"GET"}):
            if method in ("HEAD", "OPTIONS"):
                continue
            out.append((method, path, bool(getattr(ctx, "include_in_schema", True))))
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}:]+:path\}", "a/b", re.sub(r"\{[^}:]+\}", _UUID, path))


def bad_credentials(secret: str) -> dict[str, dict[str, str]]:
    now = int(time.time())
    claims = {"sub": "owner", "iat": now, "exp": now + 600, "typ": "session"}
    return {
        "missing": {},
        "empty bearer": {"Authorization": "Bearer "},
        "wrong scheme": {"Authorization": "Basic b3duZXI6cGFzc3dvcmQ="},
        "malformed": {"Authorization": "Bearer not.a.jwt"},
        "wrongly signed": {"Authorization": "Bearer " + jwt.encode(claims, "w" * 48, algorithm="HS256")},
        "expired": {"Authorization": "Bearer " + jwt.encode({**claims, "iat": now - 7200, "exp": now - 60},
                                                            secret, algorithm="HS256")},
        "alg none": {"Authorization": "Bearer " + jwt.encode(claims, None, algorithm="none")},
        "not a session token": {"Authorization": "Bearer " + jwt.encode({**claims, "typ": "oauth_state"}, secret,
                                                                         algorithm="HS256")},
    }


def bad_signatures(url: str, session_token: str) -> dict[str, dict[str, str]]:
    """QStash-style signatures that must all be refused for the body `{}` sent to `url`."""
    from shared.config import get_config
    from shared.local.qstash_emulator import sign

    cfg = get_config()
    public = cfg.public_base_url + url
    return {
        "unsigned": {},
        "unsigned with a session token": {"Authorization": f"Bearer {session_token}"},
        "garbage signature": {"Upstash-Signature": "x.y.z"},
        "unknown key": {"Upstash-Signature": sign(b"{}", public, "sig_" + "u" * 40)},
        "expired": {"Upstash-Signature": sign(b"{}", public, cfg.qstash_current_signing_key, ttl=-5)},
        "other URL": {"Upstash-Signature": sign(b"{}", "https://elsewhere.example" + url,
                                                cfg.qstash_current_signing_key)},
        "other body": {"Upstash-Signature": sign(b'{"a":1}', public, cfg.qstash_current_signing_key)},
    }


def unprotected_routes(app, client, secret: str, session_token: str) -> list[str]:
    """Every way a route answers something other than a contract-shaped 401 when it should."""
    problems = []
    for method, path, _ in all_routes(app):
        url = concrete(path)
        if not path.startswith("/api/"):
            if path not in PUBLIC_OTHER:
                problems.append(f"{method} {path}: outside /api and not in the public allow-list")
            continue
        if (method, path) in PUBLIC_API:
            continue
        if path.startswith("/api/internal/"):
            cases = bad_signatures(url, session_token)
        else:
            cases = bad_credentials(secret)
        for label, headers in cases.items():
            r = client.request(method, url, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None)
            try:
                body = r.json()
            except ValueError:
                body = None
            if r.status_code != 401 or not (isinstance(body, dict) and body.get("success") is False
                                            and body.get("error", {}).get("code") == "UNAUTHORIZED"):
                problems.append(f"{method} {path} [{label}]: {r.status_code} {r.text[:120]}")
    return problems


def test_every_route_is_enumerated_including_hidden_ones(app):
    routes = all_routes(app)
    schema_paths = set(app.openapi()["paths"])
    in_schema = {p for _, p, shown in routes if shown}
    assert in_schema == schema_paths  # nothing in the schema we do not test, nothing shown we did not find
    assert ("POST", "/api/internal/cleanup") in {(m, p) for m, p, _ in routes}
    assert len(routes) >= 15


def test_every_protected_route_rejects_bad_credentials(app, client, token):
    from shared.config import get_config

    problems = unprotected_routes(app, client, get_config().jwt_secret, token)
    assert not problems, "\n".join(problems)


def test_public_api_routes_are_exactly_the_allow_list(app):
    api_routes = {(m, p) for m, p, _ in all_routes(app) if p.startswith("/api/")}
    assert api_routes >= PUBLIC_API


def test_a_route_that_forgets_auth_is_caught_or_closed():
    """The checker itself, on an app with routes added carelessly: a /api router without require_auth (shown or
    hidden) is still closed by BearerGate; an internal route without verify_qstash and a public route outside
    /api are reported."""
    from fastapi import APIRouter
    from fastapi.testclient import TestClient

    from shared.api.app import create_app
    from shared.config import get_config

    rogue = APIRouter(prefix="/api/rogue")

    @rogue.get("/items/{item_id}")
    def items(item_id: str):
        return {"success": True, "data": item_id}

    @rogue.post("/hidden", include_in_schema=False)
    def hidden():
        return {"success": True, "data": None}

    internal = APIRouter(prefix="/api/internal")

    @internal.post("/unsigned")
    def unsigned():
        return {"success": True, "data": None}

    outside = APIRouter(prefix="/webhooks")

    @outside.post("/meta")
    def meta_hook():
        return {"success": True, "data": None}

    app = create_app(groups=["core"])
    for router in (rogue, internal, outside):
        app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as c:
        problems = unprotected_routes(app, c, get_config().jwt_secret, "t")
        assert c.get(f"/api/rogue/items/{_UUID}").status_code == 401
    flagged = {p.split(" [")[0].split(":")[0] for p in problems}
    assert flagged == {"POST /api/internal/unsigned", "POST /webhooks/meta"}


def test_the_allow_list_matches_the_gate():
    from shared.api.auth import PUBLIC_API_PATHS

    assert {p for _, p in PUBLIC_API} == set(PUBLIC_API_PATHS)


def test_anonymous_callers_learn_nothing_before_auth(client):
    """Unauthenticated requests are refused before routing and before the body is read: no 400 for bad JSON,
    no 404/405 revealing which routes exist, no 413 for a big body."""
    for method, path, kw in [("PUT", "/api/settings", {"content": b'{"bad json'}),
                             ("GET", "/api/no-such-route", {}), ("PATCH", "/api/settings", {"json": {}}),
                             ("PUT", "/api/settings", {"content": b"x" * 2_000_000})]:
        r = client.request(method, path, headers={"Content-Type": "application/json"}, **kw)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "UNAUTHORIZED" and r.headers["www-authenticate"] == "Bearer"
    # an OPTIONS preflight is not a request for data: CORS answers it
    r = client.options("/api/settings", headers={"Origin": "http://localhost:5173",
                                                 "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:5173"


@pytest.mark.parametrize("path", sorted(PUBLIC_OTHER - {"/docs/oauth2-redirect"}))
def test_public_non_api_routes_answer(client, path):
    assert client.get(path).status_code in (200, 503)


def test_optional_static_api_key(client, monkeypatch):
    from shared.config import get_config

    key = "scripts-" + "k" * 40
    monkeypatch.setenv("API_KEY", key)
    get_config.cache_clear()
    try:
        ok = client.get("/api/logs?limit=1", headers={"Authorization": f"Bearer {key}"})
        wrong = client.get("/api/logs?limit=1", headers={"Authorization": f"Bearer {key}x"})
        internal = client.post("/api/internal/cleanup", headers={"Authorization": f"Bearer {key}"}, json={})
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
    assert ok.status_code == 200
    assert wrong.status_code == 401 and internal.status_code == 401
    # unset again: the same key opens nothing
    assert client.get("/api/logs?limit=1", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_a_short_static_api_key_is_refused_at_start_up(monkeypatch):
    from shared.config import Config, ConfigError

    monkeypatch.setenv("API_KEY", "short-key")
    with pytest.raises(ConfigError, match="API_KEY"):
        Config().validate_for_startup()


def test_the_gate_judges_the_path_without_the_root_path(app):
    """Mounted under a prefix (root_path), /prefix/api/logs is still a protected /api route."""
    import asyncio

    from shared.api.auth import BearerGate

    reached = []

    async def inner(scope, receive, send):
        reached.append(scope["path"])

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/v1/api/logs", "root_path": "/v1", "headers": []}
    asyncio.run(BearerGate(inner)(scope, None, send))
    assert reached == [] and sent[0]["status"] == 401


def test_a_mount_point_is_stripped_only_at_a_segment_boundary(app):
    """Behind a server that sets root_path="/ap", "/api/logs" is not "/i/logs" under the mount: the gate must
    read the path as the router matches it (Starlette strips root_path only at a segment boundary)."""
    from starlette.testclient import TestClient

    with TestClient(app, root_path="/ap") as c:
        r = c.get("/api/logs")
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
