"""Upstash Redis over HTTP: the same client in production and locally (where it talks to our REST bridge).

Budget note: the Upstash free tier counts every command (500K/month, about 11/minute). Callers batch with
`pipeline()` where they can; every command is one unit whether it is in a pipeline or not, and a script
(`EVAL`) costs one plus one per command it runs: Upstash's own rate-limit SDK counts a fixed-window `limit()` as
"EVAL, INCR, PEXPIRE", 3 commands (https://upstash.com/docs/redis/sdks/ratelimit-ts/costs), and its billing page
bills each command of a pipeline or transaction (https://upstash.com/docs/redis/overall/billing). Scripts
therefore make a constant number of variadic calls, never one per item. The client's HTTP layer is wrapped once
here, so every command of every caller is counted for the usage meter (`redis.commands`) the way Upstash bills
it: a script is sent wrapped so that it also returns how many commands it ran (`counting_script`).
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


# --- what a script costs ---------------------------------------------------------------------------------
_SCRIPTS = frozenset({"EVAL", "EVAL_RO"})


def counting_script(script: str) -> str:
    """The script, made to return {commands it ran, what it returned}. A local `redis` shadows the global one for
    the script's body: its `call` and `pcall` count, everything else is the real `redis` (Redis 7 forbids
    replacing the global's fields; a local is allowed). The body runs as a function, so its own `return`s keep
    their meaning (Redis keeps only the first of several returned values anyway). An error reply
    (`redis.error_reply`, `{err = ...}`) is returned as it is, uncounted, so the caller still gets an error. A
    first line `#!lua ...` (flags) stays first."""
    head = ""
    if script.startswith("#!"):
        head, _, script = script.partition("\n")
        head += "\n"
    return (head + "local __screndly_n, __screndly_redis = 0, redis\n"
            "local redis = setmetatable({\n"
            "  call = function(...) __screndly_n = __screndly_n + 1 return __screndly_redis.call(...) end,\n"
            "  pcall = function(...) __screndly_n = __screndly_n + 1 return __screndly_redis.pcall(...) end,\n"
            "}, {__index = __screndly_redis})\n"
            f"local __screndly_r = (function()\n{script}\nend)()\n"
            "if type(__screndly_r) == 'table' and __screndly_r.err then return __screndly_r end\n"
            "return {__screndly_n, __screndly_r}\n")


def split_count(reply) -> tuple[int, object]:
    """(commands the script ran, its own reply) from a `counting_script` reply. A nil or false reply is absent
    from the pair (Lua ends a table at its first nil; Redis converts false to nil)."""
    if not isinstance(reply, list) or not reply or not isinstance(reply[0], int):
        raise ValueError(f"not a counting script's reply: {reply!r:.80}")
    return reply[0], (reply[1] if len(reply) > 1 else None)


class _MeteredHttp:
    """The SDK's HTTP client, counting commands as Upstash bills them: one per command, whether sent alone
    or in a pipeline/transaction (a request's body is then the list of commands), and for a script one more per
    command it ran (sent as `counting_script`, its reply unwrapped here: callers see the script's own reply).
    A script that fails counts one: how far it got is not known. EVALSHA names a script by the hash of its
    own text and is sent as it is (nothing here uses it)."""

    def __init__(self, inner):
        self._inner = inner

    def execute(self, url, headers, command, from_pipeline=False):
        from shared.usage import meter

        meter.count("redis.commands", len(command) if from_pipeline else 1)
        if from_pipeline or not command or str(command[0]).upper() not in _SCRIPTS:
            return self._inner.execute(url=url, headers=headers, command=command, from_pipeline=from_pipeline)
        wrapped = [command[0], counting_script(str(command[1])), *command[2:]]
        ran, reply = split_count(self._inner.execute(url=url, headers=headers, command=wrapped))
        meter.count("redis.commands", ran)
        return reply

    def __getattr__(self, name):
        return getattr(self._inner, name)


def get_redis() -> Redis:
    cfg = get_config()
    if not cfg.upstash_redis_rest_url:
        raise RuntimeError("UPSTASH_REDIS_REST_URL is not set")
    return _client(cfg.upstash_redis_rest_url, cfg.upstash_redis_rest_token)


def reset_redis_client() -> None:
    _client.cache_clear()
