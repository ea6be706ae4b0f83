"""An Upstash-Redis-REST-compatible bridge in front of a real Redis, for local use and tests.

Production talks to Upstash; locally the very same `upstash_redis` client talks to this bridge, so the code
path is identical. Implements `POST /` (one command), `/pipeline` and `/multi-exec`, Bearer auth, and the
`Upstash-Encoding: base64` response encoding (every string but "OK" base64-encoded, RESP2 shapes).
It also counts commands, so benchmarks and tests can report what a code path costs on the free tier.

Errors read as Upstash's do (upstash/docs @ ef0ce43, `redis/features/restapi.mdx`): a failed command is
`{"error": "<Redis error>"}` with Redis's own prefix kept (`ERR wrong number of arguments for 'get' command`,
`WRONGTYPE ...`, `NOSCRIPT ...`: code that branches on the prefix, like an EVALSHA fallback, sees the same
text), HTTP 400 for a single command or a discarded transaction, inside the array for a pipeline or
transaction; a body that is not a command (not JSON, not an array of strings and numbers) is a JSON 400 too,
never a server error.

`WAIT` and `WAITAOF` wait, as Upstash documents them (https://upstash.com/docs/redis/commands/generic/wait,
.../waitaof), for every write enqueued before them from any connection: a REST call has no connection of its
own. Redis itself waits only for the calling connection's last write, and the bridge's pool would hand the
command a connection that wrote nothing (an immediate, meaningless answer). So the bridge first writes a fence
key on the connection it waits on: Redis runs commands one at a time, so that write's replication offset is
past every write already applied, whichever connection made it.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

WAITS = ("WAIT", "WAITAOF")
WAIT_FENCE_KEY = "upstash-bridge:wait-fence"


class CommandCounter:
    def __init__(self) -> None:
        self.total = 0
        self.by_command: dict[str, int] = {}

    def add(self, cmd: list) -> None:
        self.total += 1
        name = str(cmd[0]).upper() if cmd else "?"
        self.by_command[name] = self.by_command.get(name, 0) + 1

    def reset(self) -> None:
        self.total = 0
        self.by_command.clear()


def _encode(value: Any, b64: bool) -> Any:
    if isinstance(value, (list, tuple)):
        return [_encode(v, b64) for v in value]
    if isinstance(value, bytes):
        if value == b"OK":
            return "OK"
        return base64.b64encode(value).decode() if b64 else value.decode("utf-8", "replace")
    if isinstance(value, float):
        return _encode(repr(value).encode(), b64)
    return value


def redis_error_text(exc: Exception) -> str:
    """The error as Redis sent it: redis-py strips a known prefix (ERR, NOSCRIPT, ...) into `status_code`."""
    text = str(exc)
    code = getattr(exc, "status_code", None)
    return f"{code} {text}" if code and not text.startswith(f"{code} ") else text


def parse_command(value: Any) -> list | None:
    """A command as the REST API takes it: a non-empty JSON array of strings and numbers."""
    if (isinstance(value, list) and value and isinstance(value[0], str) and value[0]
            and all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in value)):
        return value
    return None


async def _json_body(req: Request) -> Any:
    import json

    raw = await req.body()
    try:
        return json.loads(raw)
    except ValueError:
        return _MALFORMED


_MALFORMED = object()


def _bad_request(what: str) -> JSONResponse:
    return JSONResponse({"error": f"ERR failed to parse {what}: expected a JSON array of strings and numbers"},
                        status_code=400)


def create_bridge(redis_url: str, token: str, counter: CommandCounter | None = None) -> Starlette:
    import redis.asyncio as aioredis
    from redis.exceptions import ResponseError

    # RESP2 and no response callbacks: raw replies, as Upstash returns them
    client = aioredis.Redis.from_url(redis_url, protocol=2)
    client.response_callbacks.clear()
    counter = counter or CommandCounter()

    def unauthorized(req: Request) -> JSONResponse | None:
        header = req.headers.get("authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        return None

    async def run(cmd: list, b64: bool) -> dict:
        counter.add(cmd)
        try:
            if str(cmd[0]).upper() in WAITS:
                return {"result": _encode(await _wait_for_all_writes(cmd), b64)}
            return {"result": _encode(await client.execute_command(*cmd), b64)}
        except ResponseError as exc:
            return {"error": redis_error_text(exc)}

    async def _wait_for_all_writes(cmd: list) -> Any:
        async with client.pipeline(transaction=False) as p:  # one connection for the fence and the wait
            p.execute_command("SET", WAIT_FENCE_KEY, "1", "PX", "60000")
            p.execute_command(*cmd)
            _, reply = await p.execute(raise_on_error=False)
        if isinstance(reply, ResponseError):
            raise reply  # the command's own error text, as a single command answers it
        return reply

    def commands(body: Any) -> list[list] | None:
        if not isinstance(body, list) or not body:
            return None
        cmds = [parse_command(c) for c in body]
        parsed = [c for c in cmds if c is not None]
        return parsed if len(parsed) == len(cmds) else None

    async def single(req: Request):
        if (err := unauthorized(req)) is not None:
            return err
        cmd = parse_command(await _json_body(req))
        if cmd is None:
            return _bad_request("command")
        out = await run(cmd, req.headers.get("upstash-encoding") == "base64")
        return JSONResponse(out, status_code=400 if "error" in out else 200)

    async def pipeline(req: Request):
        if (err := unauthorized(req)) is not None:
            return err
        cmds = commands(await _json_body(req))
        if cmds is None:
            return _bad_request("pipeline")
        b64 = req.headers.get("upstash-encoding") == "base64"
        return JSONResponse([await run(c, b64) for c in cmds])

    async def multi_exec(req: Request):
        if (err := unauthorized(req)) is not None:
            return err
        cmds = commands(await _json_body(req))
        if cmds is None:
            return _bad_request("transaction")
        b64 = req.headers.get("upstash-encoding") == "base64"
        for c in cmds:
            counter.add(c)
        async with client.pipeline(transaction=True) as p:
            for c in cmds:
                p.execute_command(*c)
            try:
                res = await p.execute(raise_on_error=False)
            except ResponseError as exc:  # discarded as a whole (restapi.mdx: a single error)
                return JSONResponse({"error": redis_error_text(exc)}, status_code=400)
        return JSONResponse([{"error": redis_error_text(x)} if isinstance(x, Exception)
                             else {"result": _encode(x, b64)} for x in res])

    app = Starlette(routes=[
        Route("/", single, methods=["POST"]),
        Route("/pipeline", pipeline, methods=["POST"]),
        Route("/multi-exec", multi_exec, methods=["POST"]),
    ])
    app.state.counter = counter
    return app
