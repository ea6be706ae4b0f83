"""Upstash Redis over HTTP: the same client in production and locally (where it talks to our REST bridge).

Budget note: the Upstash free tier counts every command (500K/month, about 11/minute). Callers batch with
`pipeline()` where they can; every command is one unit whether it is in a pipeline or not, and a script
(`EVAL`) is one. The client's HTTP layer is wrapped once here, so every command of every caller is counted
for the usage meter (`redis.commands`) the way Upstash bills it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared.config import get_config

if TYPE_CHECKING:  # upstash_redis costs ~110 ms to import (it loads its asyncio client and httpx)
    from upstash_redis import Redis


@lru_cache(maxsize=1)
def _client(url: str, token: str) -> Redis:
    from upstash_redis import Redis

    # one retry after 0.5 s: a blip should not fail a request, a dead bridge must not hang it for 3 s
    client = Redis(url=url, token=token, rest_retries=1, rest_retry_interval=0.5, allow_telemetry=False)
    _bound_waits(client)
    client._http = _MeteredHttp(client._http)  # type: ignore[assignment]  # a wrapper, same methods; after _bound_waits; pipelines and transactions take it too
    return client


# --- outages (issue: a Redis outage answers 503 fast, never 500) -----------------------------------------

def _bound_waits(client) -> None:
    """The SDK's httpx client has no timeout at all: an endpoint that accepts and never answers would hold the
    request until the platform kills it. 1 s per attempt keeps an outage answer under 3 s with the retry."""
    import httpx

    http = getattr(client, "_http", None)
    if http is not None and isinstance(getattr(http, "_client", None), httpx.Client):
        http._client.close()
        http._client = httpx.Client(timeout=httpx.Timeout(1.0))


def is_outage(exc: BaseException) -> bool:
    """The REST endpoint was unreachable, timed out, or answered something that is not Upstash's JSON (a 5xx
    page). A Redis error reply (WRONGTYPE ...) is a bug, not an outage, and stays a 500."""
    import json

    import httpx

    return isinstance(exc, (httpx.TransportError, json.JSONDecodeError))


class _MeteredHttp:
    """The SDK's HTTP client, counting commands as Upstash bills them: one per command, whether sent alone
    or in a pipeline/transaction (a request's body is then the list of commands)."""

    def __init__(self, inner):
        self._inner = inner

    def execute(self, url, headers, command, from_pipeline=False):
        from shared.usage import meter

        meter.count("redis.commands", len(command) if from_pipeline else 1)
        return self._inner.execute(url=url, headers=headers, command=command, from_pipeline=from_pipeline)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def get_redis() -> Redis:
    cfg = get_config()
    if not cfg.upstash_redis_rest_url:
        raise RuntimeError("UPSTASH_REDIS_REST_URL is not set")
    return _client(cfg.upstash_redis_rest_url, cfg.upstash_redis_rest_token)


def reset_redis_client() -> None:
    _client.cache_clear()
