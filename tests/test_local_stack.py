"""`make dev` end to end: start the stack the way the README's first command does, then use it over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.local import services

ROOT = Path(__file__).resolve().parents[1]


def _dev_env(backing, data_dir: Path, port: int) -> dict[str, str]:
    # Only what a developer's shell would have, plus our private database and Redis so the run is isolated.
    # No UPSTASH_/QSTASH_/B2_ variables: the stack must bring its own bridge, emulator and S3.
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    keep.update({
        "PORT": str(port),
        "LOCAL_DATA_DIR": str(data_dir),
        "APP_PASSWORD": "let-me-in-please",
        "DATABASE_URL": backing.env["DATABASE_URL"],
        "REDIS_URL": backing.redis_url,
        "PYTHONUNBUFFERED": "1",
    })
    return keep


@pytest.mark.long
def test_make_dev_stack_serves_the_contract_over_a_real_port(backing, tmp_path):
    port = services.free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "dev.log", "w+")  # noqa: SIM115 -- outlives the block: the stack writes to it
    proc = subprocess.Popen([sys.executable, "-m", "shared.local.dev"], cwd=ROOT,
                            env=_dev_env(backing, tmp_path / "local", port), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "dev.log").read_text()
            time.sleep(0.3)
        health = httpx.get(base + "/health").json()
        assert health["status"] == "healthy"
        assert set(health["checks"]) == {"database", "redis", "storage"}

        bad = httpx.post(base + "/api/auth/login", json={"password": "nope"}).json()
        assert bad["success"] is False and bad["remainingAttempts"] == 4
        login = httpx.post(base + "/api/auth/login", json={"password": "let-me-in-please"}).json()
        assert login["success"] is True
        h = {"Authorization": f"Bearer {login['token']}"}

        assert httpx.get(base + "/api/settings").status_code == 401
        secret = "sk-live-0123456789abcdefghij"
        put = httpx.put(base + "/api/settings", json={"openaiKey": secret, "rssPostingInterval": "15"}, headers=h)
        assert put.status_code == 200, put.text
        got = httpx.get(base + "/api/settings", headers=h).json()["data"]
        assert got["rssPostingInterval"] == "15"
        assert got["openaiKey"] != secret and got["openaiKey"].startswith("sk-l") and got["openaiKey"].endswith("ghij")

        created = httpx.post(base + "/api/notifications", headers=h,
                             json={"title": "Hello", "message": "from the stack test", "type": "info",
                                   "source": "system"})
        assert created.status_code in (200, 201), created.text
        listed = httpx.get(base + "/api/notifications", headers=h).json()["data"]
        assert any(n["title"] == "Hello" and n["read"] is False for n in listed)

        # offline: a YouTube channel resolves against the stack's own YouTube stand-in
        ch = httpx.post(base + "/api/channels", headers=h, json={"name": "", "channelId": "@NetflixUS"}, timeout=30)
        assert ch.status_code == 201, ch.text
        assert ch.json()["data"]["channelId"].startswith("UC") and ch.json()["data"]["name"] == "NetflixUS"
        # the pages' first reads all answer
        for path in ("/api/rss/feeds", "/api/rss/activity", "/api/channels", "/api/channels/activity",
                     "/api/jobs", "/api/platforms/status", "/api/logs"):
            r = httpx.get(base + path, headers=h, timeout=30)
            assert r.status_code == 200 and r.json()["success"] is True, (path, r.text)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        log.seek(0)
        output = log.read()
    assert rc == 0, output
    assert "[dev] stopped." in output
    assert "let-me-in-please" not in output.split("Login password")[0]  # the password is printed once, on purpose
    assert not services.port_open("127.0.0.1", port)
