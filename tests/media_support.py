"""Helpers for the media tests: tiny clips made with lavfi, presigned uploads over httpx, a worker in a
subprocess, polling. (Not a test module; imported by tests/test_media_*.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def ffmpeg() -> str:
    from shared.media.ffmpeg.binary import ffmpeg_exe

    return ffmpeg_exe()


def make_clip(path: Path, *, seconds: float = 2.0, size: str = "320x180", rate: int = 30, audio: bool = True,
              sample_rate: int = 44100, vcodec: list[str] | None = None, faststart: bool = False,
              source: str = "testsrc2", extra_out: list[str] | None = None) -> Path:
    cmd = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={sample_rate}:duration={seconds}"]
    cmd += vcodec or ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        cmd += ["-c:a", "aac", "-shortest"]
    if faststart:
        cmd += ["-movflags", "+faststart"]
    cmd += (extra_out or []) + [str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def put_file(client, auth, path: Path, *, purpose: str = "trailers", content_type: str = "video/mp4",
             declared_size: int | None = None, file_name: str | None = None) -> dict:
    """POST /api/uploads, PUT the bytes with httpx to the presigned URL(s), return the plan (not completed)."""
    data = path.read_bytes()
    r = client.post("/api/uploads", headers=auth, json={
        "fileName": file_name or path.name, "contentType": content_type,
        "size": len(data) if declared_size is None else declared_size, "purpose": purpose})
    assert r.status_code == 200, r.text
    plan = r.json()["data"]
    parts = []
    with httpx.Client(timeout=30) as http:
        if plan["strategy"] == "single":
            resp = http.put(plan["url"], content=data, headers=plan["headers"])
            assert resp.status_code == 200, resp.text
        else:
            size = plan["partSize"]
            for part in plan["parts"]:
                n = part["partNumber"]
                resp = http.put(part["url"], content=data[(n - 1) * size: n * size])
                assert resp.status_code == 200, resp.text
                parts.append({"partNumber": n, "etag": resp.headers["ETag"]})
    plan["_parts"] = parts
    return plan


def complete(client, auth, plan: dict):
    body = {"parts": plan["_parts"]} if plan["_parts"] else {}
    return client.post(f"/api/uploads/{plan['uploadId']}/complete", headers=auth, json=body)


def upload(client, auth, path: Path, **kw) -> dict:
    plan = put_file(client, auth, path, **kw)
    r = complete(client, auth, plan)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def worker_env(backing, temp_dir: Path, **overrides) -> dict[str, str]:
    env = dict(os.environ)  # the conftest put the backing services' variables here
    env.update({
        "MEDIA_WORKER_REDIS_URL": backing.redis_url,
        "MEDIA_WORKER_TEMP_DIR": str(temp_dir),
        "MEDIA_JOB_LEASE_SECONDS": "3",
        "MEDIA_JOB_HEARTBEAT_SECONDS": "0.5",
        "MEDIA_RETRY_BASE_SECONDS": "0.5",
        "MEDIA_WORKER_IDLE_WAIT_SECONDS": "30",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    })
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path, args: list[str] | None = None):
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 -- held for the worker process's life, closed in stop()
        # MEDIA_TEST_WORKER_PYTHON: run the worker with another interpreter, e.g. a venv holding only
        # requirements-worker.txt, to prove the image's dependency list is enough
        python = os.environ.get("MEDIA_TEST_WORKER_PYTHON") or sys.executable
        self.proc = subprocess.Popen([python, "-m", "media_worker", *(args or [])], cwd=str(ROOT), env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 20.0) -> WorkerProcess:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "ready" in self.log():
                return self
            if self.proc.poll() is not None:
                raise AssertionError("worker exited early:\n" + self.log())
            time.sleep(0.05)
        raise AssertionError("worker not ready:\n" + self.log())

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def poll_job(client, auth, job_id: str, *, until=("completed", "failed"), timeout: float = 60.0,
             predicate=None) -> dict:
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        r = client.get(f"/api/jobs/{job_id}", headers=auth)
        assert r.status_code == 200, r.text
        last = r.json()["data"]
        if predicate is not None:
            if predicate(last):
                return last
        elif last["status"] in until:
            return last
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {until or predicate}: {last}")


def bucket_keys(prefix: str = "") -> list[str]:
    from shared.storage.s3 import get_storage

    st = get_storage()
    out, token = [], None
    while True:
        page = st.list(prefix, continuation_token=token, limit=1000)
        out += [o["Key"] for o in page.get("Contents", [])]
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated"):
            return out


def open_multipart_uploads(prefix: str = "") -> list[dict]:
    from shared.storage.s3 import get_storage

    return get_storage().list_multipart_uploads(prefix)


def files_under(path: Path) -> list[str]:
    return [str(p) for p in path.rglob("*") if p.is_file()] if path.exists() else []


def ffmpeg_children_of(pid: int) -> list[int]:
    import psutil

    out = []
    for p in psutil.process_iter(["pid", "ppid", "name", "cmdline"]):
        try:
            if p.info["ppid"] == pid and "ffmpeg" in " ".join(p.info["cmdline"] or []):
                out.append(p.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def ffmpeg_processes_using(path_fragment: str) -> list[int]:
    import psutil

    out = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "ffmpeg" in cmd and path_fragment in cmd:
            out.append(p.info["pid"])
    return out


import pytest  # noqa: E402


@pytest.fixture
def clean_bucket(backing):
    """Empty the test bucket (objects and unfinished multipart uploads): clean_state only resets Postgres/Redis."""
    from shared.storage.s3 import get_storage

    st = get_storage()
    for up in st.list_multipart_uploads(""):
        st.abort_multipart_upload(up["Key"], up["UploadId"])
    for key in bucket_keys(""):
        st.delete(key)
    return st
