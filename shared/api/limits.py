"""Reject oversized request bodies before a handler reads them (JSON routes: MAX_JSON_BODY_BYTES).

Counts bytes while they stream in as well as trusting Content-Length, so a chunked body cannot slip past.
Multipart routes set their own, larger limit (Vercel refuses anything over 4.5 MB anyway).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException

from shared.api.errors import error_body

MULTIPART_LIMIT = 4_500_000


def _message(limit: int) -> str:
    return f"request body exceeds {limit} bytes; upload large media through /api/uploads (presigned URLs)"


class _TooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it as is (it wraps other errors into a 400).
    `details` is rendered by the app's HTTPException handler, so both paths answer the same body."""

    def __init__(self, limit: int):
        super().__init__(413, _message(limit))
        self.details = {"limitBytes": limit}


class BodySizeLimit:
    def __init__(self, app, json_limit: int):
        self.app = app
        self.json_limit = json_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = MULTIPART_LIMIT if ctype.startswith("multipart/") else self.json_limit
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._reject(send, limit)

        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send, limit)

    @staticmethod
    async def _reject(send, limit: int):
        body = json.dumps(error_body("PAYLOAD_TOO_LARGE", _message(limit), {"limitBytes": limit})).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
