"""An Upstash-Redis-REST-compatible bridge in front of a real Redis, for local use and tests.

Production talks to Upstash; locally the very same `upstash_redis` client talks to this bridge, so the code
path is identical. Implements `POST /` (one command), `/pipeline` and `/multi-exec`, Bearer auth, and the
`Upstash-Encoding: base64` response encoding (every string but "OK" base64-encoded, RESP2 shapes).
It also counts commands, so benchmarks and tests can report what a code path costs on the free tier.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


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
            return {"result": _encode(await client.execute_command(*cmd), b64)}
        except ResponseError as exc:
            return {"error": str(exc)}

    async def single(req: Request):
        if (err := unauthorized(req)) is not None:
            return err
        out = await run(await req.json(), req.headers.get("upstash-encoding") == "base64")
        return JSONResponse(out, status_code=400 if "error" in out else 200)

    async def pipeline(req: Request):
        if (err := unauthorized(req)) is not None:
            return err
        b64 = req.headers.get("upstash-encoding") == "base64"
        return JSONResponse([await run(c, b64) for c in await req.json()])

    async def multi_exec(req: Request):
        if (err := unauthorized(req)) is not None:
            return err
        b64 = req.headers.get("upstash-encoding") == "base64"
        cmds = await req.json()
        for c in cmds:
            counter.add(c)
        async with client.pipeline(transaction=True) as p:
            for c in cmds:
                p.execute_command(*c)
            try:
                res = await p.execute(raise_on_error=False)
            except ResponseError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse([{"error": str(x)} if isinstance(x, Exception) else {"result": _encode(x, b64)}
                             for x in res])

    app = Starlette(routes=[
        Route("/", single, methods=["POST"]),
        Route("/pipeline", pipeline, methods=["POST"]),
        Route("/multi-exec", multi_exec, methods=["POST"]),
    ])
    app.state.counter = counter
    return app
