"""Routers load on the first request under their prefix (shared/api/lazy_routers.py), and the cold-start
shortcuts in shared/api/fastapi_compat.py change no answer.

Enumerated, so routers added later are covered: every route lies under its own module's prefixes, no concrete
path is served by two modules (load order cannot matter), a request loads only the modules its path needs,
and an app that loaded everything on demand documents exactly what an app that was asked for its routes does.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from test_foundation_route_auth import all_routes, concrete


def _module_routes() -> dict[str, list]:
    from fastapi.routing import iter_route_contexts

    from shared.api.app import ROUTER_PREFIXES

    return {m: list(iter_route_contexts(importlib.import_module(m).router.routes)) for m in ROUTER_PREFIXES}


def test_every_router_module_has_prefixes_and_belongs_to_a_group():
    from shared.api.app import ROUTER_GROUPS, ROUTER_PREFIXES

    grouped = [m for mods in ROUTER_GROUPS.values() for m in mods]
    assert sorted(grouped) == sorted(ROUTER_PREFIXES) and len(grouped) == len(set(grouped))
    for module, prefixes in ROUTER_PREFIXES.items():
        assert prefixes and all(p.startswith("/") and not p.endswith("/") and "{" not in p for p in prefixes), module


def test_every_route_lies_under_one_of_its_own_modules_prefixes():
    from shared.api.app import ROUTER_PREFIXES
    from shared.api.lazy_routers import covers

    outside = [f"{m}: {ctx.path}" for m, ctxs in _module_routes().items() for ctx in ctxs
               if not any(covers(p, ctx.path) for p in ROUTER_PREFIXES[m])]
    assert not outside, "routes a request would not load their module for:\n" + "\n".join(outside)


def test_no_path_is_served_by_routes_of_two_modules():
    """Modules load in whatever order requests come; that is only harmless if no path matches routes of two."""
    routes = _module_routes()
    clashes = []
    for module, ctxs in routes.items():
        for ctx in ctxs:
            url = concrete(ctx.path)
            for other, other_ctxs in routes.items():
                if other != module and any(o.path_regex.match(url) for o in other_ctxs):
                    clashes.append(f"{url}: {module} and {other}")
    assert not clashes, "\n".join(clashes)


def test_a_fresh_app_loads_nothing_until_asked_and_then_only_what_the_path_needs(auth):
    from fastapi.testclient import TestClient

    from shared.api.app import create_app

    app = create_app()
    assert app.lazy_routers.loaded == set()
    assert {getattr(r, "path", None) for r in app.router.routes} == {"/openapi.json", "/docs", "/docs/oauth2-redirect"}
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/logs?limit=1").status_code == 401  # refused before routing: nothing loaded
        assert app.lazy_routers.loaded == set()
        assert client.get("/api/logs?limit=1", headers=auth).status_code == 200
        assert app.lazy_routers.loaded == {"shared.api.routes.logs"}
        assert client.get("/api/nothing-here", headers=auth).status_code == 404
        assert app.lazy_routers.loaded == {"shared.api.routes.logs"}
        assert client.get("/api/dashboard/system-stats", headers=auth).status_code == 200
        assert app.lazy_routers.loaded == {"shared.api.routes.logs", "shared.api.routes.dashboard"}
        # a 405 names every method of the path's routes, from a fresh app too
        fresh = create_app()
        with TestClient(fresh, raise_server_exceptions=False) as c2:
            r = c2.delete("/api/logs", headers=auth)
            assert r.status_code == 405 and r.headers["allow"] == "GET"


def test_a_request_to_any_route_loads_that_routes_module():
    from shared.api.app import create_app

    app = create_app()
    module_of = {(m, ctx.path) for m, ctxs in _module_routes().items() for ctx in ctxs}
    for module, path in module_of:
        fresh = create_app()
        fresh.lazy_routers.load_for(concrete(path))
        assert module in fresh.lazy_routers.loaded, (module, path)
    assert app.lazy_routers.loaded == set()


def test_enumerating_a_fresh_app_sees_every_route(app):
    from shared.api.app import create_app

    fresh = create_app()
    assert sorted(all_routes(fresh)) == sorted(all_routes(app))
    assert len(all_routes(fresh)) > 80


def test_docs_of_a_fresh_app_document_every_router_group(auth):
    from fastapi.testclient import TestClient

    from shared.api.app import ROUTER_PREFIXES, create_app

    app = create_app()
    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert app.lazy_routers.loaded == set(ROUTER_PREFIXES)
    public = {p for _, p, shown in all_routes(app) if shown and p.startswith(("/api", "/health"))}
    assert set(paths) == public


def test_fastapis_pydantic_v1_probe_is_skipped_yet_still_answers_for_v1_models():
    code = """
import sys, json
from fastapi.testclient import TestClient
from shared.api.app import create_app
app = create_app()
app.lazy_routers.load_all()
app.openapi()
TestClient(app, raise_server_exceptions=False).post("/api/auth/login", json={"password": 1})
before = "pydantic.v1" in sys.modules
import warnings
warnings.simplefilter("ignore")
from pydantic import v1
class Old(v1.BaseModel):
    x: int
from fastapi._compat import shared
from fastapi import encoders
print(json.dumps([before, shared.is_pydantic_v1_model_class(Old), shared.annotation_is_pydantic_v1(list[Old]),
                  encoders.is_pydantic_v1_model_instance(Old(x=1))]))
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [False, True, True, True]


_ANSWERS = """
import json, sys
{prelude}
from fastapi.testclient import TestClient
c = TestClient(app, raise_server_exceptions=False)
out = {{"openapi": c.get("/openapi.json").json()}}
for name, kwargs in [("bad json", dict(content=b"{{bad", headers={{"content-type": "application/json"}})),
                     ("wrong type", dict(json={{"password": 5}})), ("missing", dict(json={{}}))]:
    r = c.post("/api/auth/login", **kwargs)
    out[name] = [r.status_code, r.json()]
r = c.put("/api/notifications/x", json={{"read": "maybe"}}, headers={{"authorization": "Bearer " + sys.argv[1]}})
out["body model"] = [r.status_code, r.json()]
print(json.dumps(out, sort_keys=True))
"""


@pytest.mark.parametrize("entry", ["functions.api"])
def test_the_entry_answers_like_an_app_built_after_a_plain_fastapi_import(entry, token):
    """The entry imports FastAPI with its OpenAPI models' builds deferred and skips the pydantic.v1 probe: the
    documentation and the validation answers must be byte-identical to an app built the ordinary way."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = {}
    for name, prelude in [("entry", f"import {entry} as e; app = e.app"),
                          ("plain", "import fastapi\nfrom shared.api.app import create_app\napp = create_app()")]:
        r = subprocess.run([sys.executable, "-c", _ANSWERS.format(prelude=prelude), token], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        runs[name] = json.loads(r.stdout.strip().splitlines()[-1])
    assert runs["entry"] == runs["plain"]
    assert runs["entry"]["wrong type"][0] == 400 and runs["entry"]["body model"][0] == 400
    assert len(runs["entry"]["openapi"]["paths"]) > 60
