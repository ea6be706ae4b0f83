"""A private backing stack for benchmarks: the test harness's services (own database, own Redis)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator


@contextlib.contextmanager
def private_backing() -> Iterator[object]:
    from shared.local import services
    from shared.local.stack import start_backing

    tmp = services.tempdir("screndly-bench-")
    port = services.free_port()
    backing = start_backing(mode="test", data_dir=tmp, public_base_url=f"http://127.0.0.1:{port}", api_port=port)
    saved = dict(os.environ)
    os.environ.update(backing.env)
    os.environ["APP_ENV"] = "test"
    from shared.config import get_config

    get_config.cache_clear()
    try:
        from shared.db.migrate import apply_migrations

        apply_migrations()
        yield backing
    finally:
        from shared.db import close_pool
        from shared.redis_client import reset_redis_client

        close_pool()
        reset_redis_client()
        backing.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_config.cache_clear()
        shutil.rmtree(tmp, ignore_errors=True)


def asgi_get(app, path: str, headers: dict[str, str], loop) -> tuple[int, bytes]:
    """One GET through the ASGI app, no HTTP client in between (what a warm function does per request)."""
    return asgi_request(app, "GET", path, headers, loop)


def asgi_request(app, method: str, path: str, headers: dict[str, str], loop, body: bytes = b"") -> tuple[int, bytes]:
    raw_path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https",
             "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443)}
    out = {"status": 0, "body": b""}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    loop.run_until_complete(app(scope, receive, send))
    return out["status"], out["body"]
