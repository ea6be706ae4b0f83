"""Hostile input refused at the door, for every route at once (one mechanism, not a check per route).

Some values are never meaningful to us and break the layers below with a 500 instead of a 400:
- a NUL character (Postgres text and jsonb cannot hold U+0000) or a lone surrogate (not encodable as UTF-8),
  in the path, a query parameter, or any string (key or value) of a JSON body;
- JSON nested deeper than MAX_JSON_DEPTH (Python's decoder raises RecursionError near 1,000 levels, Postgres
  stops somewhere else, and no request of ours nests more than a handful of levels);
- JSON integers outside the signed 64-bit range (no column holds them; the SPA cannot even produce numbers
  past 2^53) and non-finite numbers (`NaN`, `Infinity`, `1e400`), which Postgres jsonb refuses.

`InputGuard` (ASGI) answers 400 with the envelope before routing. It sits inside `BodySizeLimit`, so the
body it buffers is already bounded. Values that are well-formed but do not fit a column (an `integer`
displayOrder >= 2^31) are the database's to judge: `shared/api/app.py` turns a data exception (SQLSTATE
class 22) into the same 400. Multipart bodies are not parsed here; their text fields reach the same backstop,
and the activity trail strips what it cannot store (shared/activity).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from shared.api.errors import error_body

MAX_JSON_DEPTH = 32
_INT_LIMIT = 1 << 63


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode text)"
    return None


def _where(path: list[str]) -> str:
    return ".".join(path)[:120] or "body"


def json_problem(value: Any) -> tuple[str, str] | None:
    """(field, reason) for the first value we refuse in a decoded JSON document, else None. Iterative, so a
    deep document cannot exhaust the stack here either."""
    stack: list[tuple[Any, list[str], int]] = [(value, [], 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return _where(path), f"is nested deeper than {MAX_JSON_DEPTH} levels"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str) and (why := text_problem(key)):
                    return _where(path), f"has a key that {why}"
                stack.append((child, [*path, str(key)], depth + 1))
        elif isinstance(node, str):
            if why := text_problem(node):
                return _where(path), why
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if not -_INT_LIMIT <= node < _INT_LIMIT:
                return _where(path), "is an integer outside the 64-bit range"
        elif isinstance(node, float) and not math.isfinite(node):
            return _where(path), "is not a finite number"
    return None


def decode_json(raw: bytes | str) -> tuple[Any, tuple[str, str] | None]:
    """json.loads plus `json_problem`; a document too deep for the decoder itself is a problem, not a crash.
    Raises ValueError (JSONDecodeError) for text that is not JSON at all."""
    try:
        doc = json.loads(raw)
    except RecursionError:
        return None, ("body", f"is nested deeper than {MAX_JSON_DEPTH} levels")
    return doc, json_problem(doc)


def _is_json(content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return not ctype or ctype == "application/json" or ctype.endswith("+json")


def request_problem(path: str, query: bytes) -> tuple[str, str] | None:
    if why := text_problem(path):
        return "path", why
    # decoded exactly as Starlette decodes them for the routes (percent-decoded UTF-8)
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        for part in (name, value):
            if why := text_problem(part):
                return f"query.{name[:40]}", why
    return None


class InputGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        problem = request_problem(scope.get("path", ""), scope.get("query_string", b""))
        if problem is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            headers = dict(scope.get("headers") or [])
            if _is_json(headers.get(b"content-type", b"").decode("latin-1")):
                body, receive = await _buffer(receive)
                if body.strip():
                    try:
                        _, problem = decode_json(body)
                    except ValueError:  # not JSON: the route's own parsing answers its usual 400
                        problem = None
        if problem is None:
            return await self.app(scope, receive, send)
        field, why = problem
        payload = json.dumps(error_body("VALIDATION_ERROR", f"{field} {why}", {"field": field}),
                             separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


async def _buffer(receive):
    """Read the whole body (already capped by BodySizeLimit) and hand the app a receive that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            async def gone(message=message):
                return message
            return b"", gone
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
