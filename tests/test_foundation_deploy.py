"""Deploy files: vercel.json reaches every route through an existing entry exposing an ASGI `app`; the AWS
Lambda handler serves a synthetic API Gateway v2 event; production start-up fails fast on missing variables."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib

from conftest import ROOT, TEST_PASSWORD
from test_foundation_route_auth import all_routes, concrete


def _vercel() -> dict:
    return json.loads((ROOT / "vercel.json").read_text())


def _load_entry(rel: str):
    spec = importlib.util.spec_from_file_location("vercel_entry_" + re.sub(r"\W", "_", rel), ROOT / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vercel_entries_exist_and_expose_asgi_apps():
    cfg = _vercel()
    builds = {b["src"]: b for b in cfg["builds"]}
    assert builds and all(b["use"] == "@vercel/python" for b in builds.values())
    for src in builds:
        assert (ROOT / src).is_file(), src
        app = _load_entry(src).app
        assert callable(app)
        from fastapi import FastAPI

        assert isinstance(app, FastAPI)
    for rule in cfg["routes"]:
        assert rule["dest"] in builds, f"route {rule['src']} points at {rule['dest']}, which is not built"


def test_every_app_route_is_reachable_through_vercel_routing(app):
    cfg = _vercel()
    rules = [(re.compile("^" + r["src"] + "$"), r["dest"]) for r in cfg["routes"]]
    entry_apps = {src: _load_entry(src).app for src in {b["src"] for b in cfg["builds"]}}
    unreachable = []
    for method, path, _ in all_routes(app):
        url = concrete(path)
        dest = next((d for rx, d in rules if rx.match(url)), None)  # Vercel applies the first match
        if dest is None:
            unreachable.append(f"{method} {path}: no vercel.json route matches {url}")
            continue
        served = {(m, p) for m, p, _ in all_routes(entry_apps[dest])}
        if (method, path) not in served:
            unreachable.append(f"{method} {path}: routed to {dest}, which does not serve it")
    assert not unreachable, "\n".join(unreachable)


def test_vercel_does_not_route_unrelated_paths():
    rules = [re.compile("^" + r["src"] + "$") for r in _vercel()["routes"]]
    for path in ("/", "/index.html", "/settings", "/apix", "/healthz"):
        assert not any(rx.match(path) for rx in rules), path


def test_requirements_txt_matches_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    reqs = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert reqs == deps


# --- AWS Lambda (Mangum) ---------------------------------------------------------------------------

def _event(method: str, path: str, body: dict | None = None, headers: dict | None = None, query: str = "") -> dict:
    raw = json.dumps(body).encode() if body is not None else b""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "content-type": "application/json",
                    "x-forwarded-for": "192.0.2.10", "x-forwarded-proto": "https", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123", "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:18:00:00 +0000", "timeEpoch": 1795888800000,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10",
                     "userAgent": "pytest"},
        },
        "body": base64.b64encode(raw).decode() if raw else None,
        "isBase64Encoded": bool(raw),
    }


def test_lambda_handler_serves_login_and_an_authenticated_get(clean_state):
    from functions.aws_lambda import handler

    out = handler(_event("POST", "/api/auth/login", {"password": TEST_PASSWORD}), None)
    assert out["statusCode"] == 200, out
    token = json.loads(out["body"])["token"]

    out = handler(_event("GET", "/api/notifications", headers={"authorization": f"Bearer {token}"},
                         query="limit=5"), None)
    assert out["statusCode"] == 200, out
    assert json.loads(out["body"]) == {"success": True, "data": []}
    assert out["headers"]["cache-control"] == "no-store"

    out = handler(_event("GET", "/api/settings"), None)
    assert out["statusCode"] == 401 and json.loads(out["body"])["error"]["code"] == "UNAUTHORIZED"

    out = handler(_event("POST", "/api/auth/login", {"password": "nope"}), None)
    assert out["statusCode"] == 401 and json.loads(out["body"])["remainingAttempts"] == 4


# --- production configuration ----------------------------------------------------------------------

_PROD_VARS = ("DATABASE_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "QSTASH_TOKEN",
              "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY", "APP_PASSWORD_HASH", "JWT_SECRET",
              "ENCRYPTION_KEYS", "B2_ENDPOINT_URL", "B2_KEY_ID", "B2_APPLICATION_KEY", "B2_BUCKET", "PUBLIC_BASE_URL")


def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "import functions.api"], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_production_start_fails_fast_naming_missing_variables():
    r = _start({"APP_ENV": "production", "DATABASE_URL": "postgresql://u@db.example/x", "JWT_SECRET": "j" * 40})
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert "ConfigError" in last and "Missing required environment variables for APP_ENV=production" in last
    named = set(re.findall(r"[A-Z][A-Z0-9_]+", last.split(":", 2)[-1]))
    assert named >= set(_PROD_VARS) - {"DATABASE_URL", "JWT_SECRET"}
    assert "DATABASE_URL" not in named and "JWT_SECRET" not in named


def test_production_start_with_everything_set_succeeds_and_requires_https():
    full = dict.fromkeys(_PROD_VARS, "x")
    full.update({"APP_ENV": "production", "JWT_SECRET": "j" * 40, "PUBLIC_BASE_URL": "https://screndly.example",
                 "ENCRYPTION_KEYS": base64.b64encode(b"k" * 32).decode(), "DATABASE_URL": "postgresql://u@db/x"})
    r = _start(full)
    assert r.returncode == 0, r.stderr
    r = _start({**full, "PUBLIC_BASE_URL": "http://screndly.example"})
    assert r.returncode != 0 and "https://" in r.stderr.strip().splitlines()[-1]
    r = _start({**full, "ENCRYPTION_KEYS": base64.b64encode(b"short").decode()})
    assert r.returncode != 0 and "ENCRYPTION_KEYS" in r.stderr.strip().splitlines()[-1]


def test_development_needs_no_variables():
    from shared.config import Config

    assert Config(_env_file=None, app_env="development").validate_for_startup().app_env == "development"


def test_env_example_lists_every_config_field_once():
    from shared.config import Config

    names = [line.split("=", 1)[0].strip() for line in (ROOT / ".env.example").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#") and "=" in line]
    assert len(names) == len(set(names)), "a variable is listed twice"
    fields = {name.upper() for name in Config.field_names()}
    assert fields - set(names) == set(), "add these to .env.example"
    assert set(names) - fields == set(), "listed in .env.example but not read by Config"


def test_the_bundle_includes_the_shared_package_and_its_migrations():
    from fnmatch import fnmatch

    ignored = [line.strip().rstrip("/") for line in (ROOT / ".vercelignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for build in _vercel()["builds"]:
        includes = build.get("config", {}).get("includeFiles", [])
        assert any(fnmatch("shared/db/migrations/0001_foundation.sql", g.replace("**", "*")) for g in includes)
    for needed in ("shared", "functions", "requirements.txt", "shared/db/migrations/0001_foundation.sql"):
        assert not any(fnmatch(needed, g) or needed.startswith(g + "/") for g in ignored), needed


def test_the_entry_leaves_the_garbage_collector_running():
    """functions/api.py pauses the cyclic GC while it builds the app (cold-start time) and must turn it back
    on, with the start-up objects frozen out of later collections."""
    code = "import gc, functions.api; print(gc.isenabled(), gc.get_freeze_count() > 1000)"
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
             "APP_ENV": "development"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]
