"""405 and OPTIONS name the methods of the resource the path names, not of a templated sibling that happens to
match it too (`/api/notifications/{id}` also matches `/api/notifications/mark-all-read`)."""

from __future__ import annotations

import pytest
from foundation_helpers import assert_error


@pytest.mark.parametrize("path,methods", [
    ("/api/notifications/mark-all-read", ["POST"]),
    ("/api/notifications/0b7c2f9e-3c2a-4f7e-9d8e-2b9a7c1d0e11", ["DELETE", "PUT"]),
    ("/api/platforms/status", ["GET"]),
    ("/api/platforms/post", ["POST"]),
    ("/api/platforms/x", ["DELETE"]),
    ("/api/rss/feeds/reorder", ["POST"]),
    ("/api/rss/feeds/abc", ["DELETE", "PUT"]),
    ("/api/rss/activity", ["GET"]),
    ("/api/settings", ["DELETE", "GET", "PUT"]),
])
def test_allow_lists_the_most_specific_route(client, auth, path, methods):
    r = client.patch(path, headers=auth, json={})
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["allow"] == ", ".join(methods)
    o = client.options(path, headers=auth)
    assert o.status_code == 204 and o.content == b""
    assert o.headers["allow"] == ", ".join([*methods, "OPTIONS"])


def test_every_route_answers_options_with_its_own_methods(client, auth, app):
    """Walk every route of the app: OPTIONS on its literal path lists at least its own methods."""
    from fastapi.routing import iter_route_contexts

    for ctx in iter_route_contexts(app.routes):
        path = ctx.path.replace("{", "").replace("}", "")  # a literal stand-in for each parameter
        if not path.startswith("/api/") or path.startswith("/api/internal/"):
            continue
        allow = client.options(path, headers=auth).headers.get("allow", "")
        assert set(ctx.methods) <= set(allow.split(", ")), (ctx.path, allow)


def test_options_needs_a_token_unless_it_is_a_cors_preflight(client):
    assert_error(client.options("/api/settings"), 401, "UNAUTHORIZED")
    # without an Origin it is not a preflight (CORS would not answer it): the gate must, before any method list
    assert_error(client.options("/api/settings", headers={"Access-Control-Request-Method": "PUT"}),
                 401, "UNAUTHORIZED")
    pre = client.options("/api/settings", headers={"Origin": "http://localhost:5173",
                                                   "Access-Control-Request-Method": "PUT",
                                                   "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 200 and "PUT" in pre.headers["access-control-allow-methods"]
