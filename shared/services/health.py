"""Dependency checks for GET /health, run concurrently with a short timeout each."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

_STARTED = time.monotonic()
_TIMEOUT = 3.0


def _database() -> None:
    from shared.db import connection

    with connection() as conn:
        conn.execute("SELECT 1").fetchone()


def _redis() -> None:
    from shared.redis_client import get_redis

    if get_redis().ping() not in ("PONG", True):
        raise RuntimeError("unexpected PING reply")


def _storage() -> None:
    from shared.storage.s3 import get_storage

    get_storage().check()


CHECKS = {"database": _database, "redis": _redis, "storage": _storage}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return round((time.perf_counter() - t0) * 1000, 1)


def check_all() -> dict:
    results: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=len(CHECKS))
    futures = {name: pool.submit(_timed, fn) for name, fn in CHECKS.items()}
    for name, fut in futures.items():
        try:
            results[name] = {"status": "ok", "latencyMs": fut.result(timeout=_TIMEOUT)}
        except TimeoutError:
            results[name] = {"status": "error", "error": f"no answer within {_TIMEOUT}s"}
        except Exception as exc:  # report which dependency failed, never its credentials
            results[name] = {"status": "error", "error": type(exc).__name__ + ": " + str(exc)[:200]}
    pool.shutdown(wait=False)  # a hung check must not hold the response
    healthy = all(r["status"] == "ok" for r in results.values())
    failed = [n for n, r in results.items() if r["status"] != "ok"]
    warnings = _warnings(notify=results.get("database", {}).get("status") == "ok")
    return {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "uptime": round(time.monotonic() - _STARTED, 1),
        "checks": results,
        **({"failed": failed} if failed else {}),
        **({"warnings": warnings} if warnings else {}),
    }


def _warnings(notify: bool) -> list[dict]:
    """Things that still work but will stop: the Meta Graph API version from 30 days before its end of life.
    The owner is notified once (the first /health or maintenance tick that sees it), not once per request."""
    from shared.publishing.connections.graph_version import configured_warning, notify_once

    try:
        w = configured_warning()
    except ValueError as exc:  # an unreadable META_GRAPH_VERSION_END_OF_LIFE
        return [{"code": "META_GRAPH_VERSION_END_OF_LIFE", "message": f"META_GRAPH_VERSION_END_OF_LIFE: {exc}"}]
    if w is None:
        return []
    if notify:
        try:
            notify_once(w)
        except Exception as exc:  # the warning is still shown; the notification is tried again on the next request
            import logging

            logging.getLogger("screndly.health").warning("graph version notice not recorded: %s", exc)
    return [w.as_dict()]
