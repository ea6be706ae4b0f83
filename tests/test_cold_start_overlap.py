"""A cold instance's first request: the bearer gate overlaps the session-state read (psycopg's import and the
first connection, in a worker thread) with the request's next steps on the event loop, the fresh connection is
used without a test query, and connections go back to the pool in the caller's thread (one connection).

What must hold: the overlap runs only when the request reads the database anyway (a signature-valid token whose
session state is due), so a request that needs no database never imports psycopg; a failure in the overlapped
work does not change the answer; an unreachable database still answers 503 at once; no connection is left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT


@pytest.fixture
def cold_state():
    """The session state as a cold instance has it (none), and a pool that has not connected yet."""
    from shared.auth import sessions
    from shared.db import close_pool

    sessions.forget_cache()
    close_pool()
    yield
    sessions.forget_cache()


def _app_with_prepare(monkeypatch, wrap):
    """A fresh app whose gate calls `wrap(original_prepare)` while it reads the session state."""
    from shared.api import app as app_module

    original = app_module._prepare_for
    monkeypatch.setattr(app_module, "_prepare_for", lambda lazy: wrap(original(lazy)))
    return app_module.create_app()


def test_a_fresh_connection_is_used_without_a_test_query_and_a_stale_one_is_checked(cold_state):
    from shared.db import connection
    from shared.db.connection import _FRESH_SECONDS
    from shared.usage import meter

    def statements(run) -> float:
        meter.take_batch()
        run()
        return meter.peek().totals().get("pg.queries", 0)

    def checkout():
        with connection() as conn:
            return conn

    assert statements(checkout) == 0  # just connected: no `SELECT` round trip before its first use
    conn = checkout()
    conn._screndly_returned_at = time.monotonic() - _FRESH_SECONDS - 1  # as if it sat idle
    assert statements(checkout) == 1  # the pool's check ran on it


def test_a_returned_connection_is_back_in_the_pool_before_the_next_checkout(cold_state):
    """Back-to-back checkouts (a request's session read, query and usage flush) reuse one connection without
    waiting for a pool thread, and never make the pool open a second one."""
    from shared.db import connection
    from shared.db.connection import get_pool

    with connection() as conn:
        first = conn
    queued = get_pool().get_stats().get("requests_queued", 0)  # 1: the first checkout waited for the connect
    for _ in range(30):
        with connection() as conn:
            assert conn is first
    stats = get_pool().get_stats()
    assert stats.get("requests_queued", 0) == queued and stats.get("pool_size") == 1, stats


def test_the_first_request_loads_its_routers_while_the_session_state_is_read(cold_state, monkeypatch, auth):
    """The read is held until the overlapped work has run: a gate that waited for the read first would never
    release it (and the request would answer 503 after the wait)."""
    from fastapi.testclient import TestClient

    from shared.auth import sessions
    from shared.db import connection as connection_cm
    from shared.db.connection import get_pool

    prepared = threading.Event()
    calls: list[tuple[str, str]] = []
    read = sessions._read

    def held_read():
        assert prepared.wait(10), "the gate did not overlap its work with the session read"
        return read()

    def wrap(prepare):
        def spy(path):
            calls.append((path, threading.current_thread().name))
            prepare(path)
            prepared.set()
        return spy

    monkeypatch.setattr(sessions, "_read", held_read)
    app = _app_with_prepare(monkeypatch, wrap)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/notifications?limit=5", headers=auth)
        assert r.status_code == 200, r.text
        assert calls == [("/api/notifications", calls[0][1])]
        assert app.lazy_routers.loaded == {"shared.api.routes.notifications"}
        assert "anyio._backends._asyncio" in sys.modules
        # the state is cached now: the next request neither reads it nor overlaps anything
        assert client.get("/api/notifications?limit=5", headers=auth).status_code == 200
        assert len(calls) == 1
    # nothing left checked out: every connection the request used is back in the pool
    stats = get_pool().get_stats()
    assert stats.get("pool_size") == 1 and stats.get("pool_available") == 1, stats  # one connection, back home
    with connection_cm() as conn:
        row = conn.execute("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                           "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()
    assert row is not None and row["n"] == 0


@pytest.mark.parametrize("case", ["health", "login", "internal", "no token", "bad signature", "state cached"])
def test_nothing_is_overlapped_when_the_request_reads_no_session_state(case, cold_state, monkeypatch, auth):
    from fastapi.testclient import TestClient

    from shared.auth import sessions

    calls: list[str] = []

    def wrap(prepare):
        def spy(path):
            calls.append(path)
            prepare(path)
        return spy

    app = _app_with_prepare(monkeypatch, wrap)
    if case == "state cached":
        sessions.current_state()
    with TestClient(app, raise_server_exceptions=False) as client:
        if case == "health":
            client.get("/health")
        elif case == "login":
            client.post("/api/auth/login", json={"password": "wrong"})
        elif case == "internal":
            assert client.post("/api/internal/cleanup", json={}).status_code in (401, 403)
        elif case == "no token":
            assert client.get("/api/notifications").status_code == 401
        elif case == "bad signature":
            bad = auth["Authorization"][:-2] + ("AA" if not auth["Authorization"].endswith("AA") else "BB")
            assert client.get("/api/notifications", headers={"Authorization": bad}).status_code == 401
        else:
            assert client.get("/api/notifications?limit=1", headers=auth).status_code == 200
    assert calls == []


def test_a_failing_overlap_changes_no_answer(cold_state, monkeypatch, auth):
    from fastapi.testclient import TestClient

    def wrap(prepare):
        def broken(path):
            raise RuntimeError("overlapped work failed")
        return broken

    app = _app_with_prepare(monkeypatch, wrap)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/notifications?limit=5", headers=auth)
    assert r.status_code == 200 and r.json()["success"] is True
    assert app.lazy_routers.loaded == {"shared.api.routes.notifications"}  # loaded where it always was


_FRESH_PROCESS = """
import asyncio, json, os, sys, threading, time
import functions.api as entry
from bench._backing import asgi_request
import shared.db.outage as outage
outage.POOL_TIMEOUT = float(os.environ.get("TEST_POOL_TIMEOUT", outage.POOL_TIMEOUT))  # read when the pool is made
loop = asyncio.new_event_loop()
token = sys.argv[1]
out = {}
t0 = time.monotonic()
for name, method, path, headers in [
    ("no token", "GET", "/api/notifications", {}),
    ("bad signature", "GET", "/api/notifications", {"authorization": "Bearer " + token[:-2] + "xx"}),
    ("internal unsigned", "POST", "/api/internal/cleanup", {}),
]:
    out[name] = asgi_request(entry.app, method, path, headers, loop)[0]
out["psycopg imported"] = "psycopg" in sys.modules
out["threads"] = sorted(t.name for t in threading.enumerate())
if len(sys.argv) > 2:
    t0 = time.monotonic()
    status, body = asgi_request(entry.app, "GET", "/api/notifications", {"authorization": "Bearer " + token}, loop)
    out["with token"] = [status, json.loads(body)["error"]["code"] if status != 200 else "", time.monotonic() - t0]
print(json.dumps(out), flush=True)
os._exit(0)
"""


def _fresh(token: str, *extra: str, env: dict[str, str] | None = None) -> dict:
    import json

    r = subprocess.run([sys.executable, "-c", _FRESH_PROCESS, token, *extra], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_a_cold_instance_imports_no_driver_for_requests_that_need_no_database(token):
    out = _fresh(token)
    assert out["no token"] == 401 and out["bad signature"] == 401 and out["internal unsigned"] in (401, 403)
    assert out["psycopg imported"] is False
    assert out["threads"] == ["MainThread"]  # no worker started, no pool


def test_a_cold_instance_whose_database_is_unreachable_answers_503_within_the_pool_timeout(token):
    """The session read (and with it the first connection) fails in the executor thread: the gate still answers
    the envelope's 503, after the pool's wait and not later."""
    from shared.local import services

    closed = services.free_port()  # nothing listens there
    out = _fresh(token, "read", env={"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/nowhere",
                                     "TEST_POOL_TIMEOUT": "0.5"})
    status, code, seconds = out["with token"]
    assert (status, code) == (503, "SERVICE_UNAVAILABLE")
    assert seconds < 0.5 + 1.5


_FRESH_FIRST_GET = """
import asyncio, json, os, sys
import functions.api as entry
from bench._backing import asgi_request
from shared.auth import sessions
import threading
lazy = entry.app.lazy_routers
seen = []
load_for = lazy.load_for
overlapped = threading.Event()
def spy(path):
    seen.append({"path": path, "driver imported": "psycopg_pool" in sys.modules,
                 "state read": sessions._cached is not None})
    load_for(path)
    overlapped.set()
lazy.load_for = spy
read = sessions._read
def held_read():  # the read waits for the overlapped work: a gate that does it afterwards fails the test
    overlapped.wait(10)
    return read()
sessions._read = held_read
status = asgi_request(entry.app, "GET", "/api/notifications?limit=1", {"authorization": "Bearer " + sys.argv[1]},
                      asyncio.new_event_loop())[0]
print(json.dumps({"status": status, "first load": seen[0]}), flush=True)
os._exit(0)
"""


def test_a_cold_instance_loads_its_routers_after_the_driver_import_while_the_state_is_read(token):
    """In a fresh interpreter (psycopg not imported yet): the gate's overlapped work waits for psycopg's import
    (CPU work that would only share the GIL) and runs before the session state is stored, i.e. while the
    worker connects and reads it."""
    import json

    r = subprocess.run([sys.executable, "-c", _FRESH_FIRST_GET, token], cwd=ROOT, capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"status": 200, "first load": {"path": "/api/notifications", "driver imported": True,
                                                 "state read": False}}
