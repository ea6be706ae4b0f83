"""Local protocol fakes for the RSS tests: OpenAI chat completions and Serper image search, plus image bytes."""

from __future__ import annotations

import contextlib
import json
import struct
import time
import zlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def png_bytes(width: int, height: int) -> bytes:
    """A small valid PNG of the given size (one grey row repeated; compresses to almost nothing)."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class FakeOpenAI:
    """POST /v1/chat/completions held to OpenAI's own OpenAPI description (tests/contracts/openai-openapi.subset.json,
    cut from openai/openai-openapi: https://github.com/openai/openai-openapi): a body the description refuses (no
    model, no messages, a role or `response_format.type` it does not define, a wrong type) is recorded in
    `violations` and answered 400 in OpenAI's error shape (https://platform.openai.com/docs/guides/error-codes);
    a wrong key is 401. The answer is a complete `CreateChatCompletionResponse` (id, object, created, model,
    choices[].message{role, content, refusal}, finish_reason, logprobs, usage), so the client reads the real shape.
    Subclasses write the answer in `answer(body)`."""

    def __init__(self, key: str = "sk-test", reject_temperature: bool = False):
        self.key = key
        self.reject_temperature = reject_temperature
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self.reply = "A caption written by the model #Trailer"
        self.finish_reason = "stop"  # "length": the answer stopped at max_completion_tokens
        self.app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    def answer(self, body: dict) -> str:
        return self.reply

    def contract(self, raw: bytes, headers) -> list[str]:
        import httpx
        from contracts import validate

        # addressed to the description's own server, as the other platform fakes are
        req = httpx.Request("POST", "https://api.openai.com/v1/chat/completions", content=raw,
                            headers={"content-type": headers.get("content-type", ""),
                                     "authorization": headers.get("authorization", "")})
        return validate.openapi("openai", req)

    async def _chat(self, request: Request):
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return JSONResponse({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                           "param": None, "code": "invalid_api_key"}}, status_code=401)
        raw = await request.body()
        broken = self.contract(raw, request.headers)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        self.requests.append(body)
        if broken:
            self.violations += broken
            return JSONResponse({"error": {"message": broken[0][-300:], "type": "invalid_request_error",
                                           "param": None, "code": None}}, status_code=400)
        if self.reject_temperature and "temperature" in body:
            return JSONResponse({"error": {"message": "Unsupported value: 'temperature' does not support 0.7 with "
                                                      "this model. Only the default (1) value is supported.",
                                           "type": "invalid_request_error", "param": "temperature",
                                           "code": "unsupported_value"}}, status_code=400)
        content = self.answer(body)
        return JSONResponse({"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
                             "created": int(time.time()), "model": body["model"],
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                                  "refusal": None},
                                          "finish_reason": self.finish_reason, "logprobs": None}],
                             "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}})


class FakeSerper:
    """POST /images with X-API-KEY and {q, num, gl, hl} -> {images: [...]}, as serper.dev documents."""

    def __init__(self, images: list[dict], key: str = "serper-test"):
        self.key = key
        self.images = images
        self.requests: list[dict] = []
        self.app = Starlette(routes=[Route("/images", self._images, methods=["POST"])])

    async def _images(self, request: Request):
        if request.headers.get("x-api-key") != self.key:
            return JSONResponse({"message": "Unauthorized.", "statusCode": 403}, status_code=403)
        body = await request.json()
        self.requests.append(body)
        return JSONResponse({"searchParameters": {**body, "type": "images", "engine": "google"},
                             "images": self.images[: body.get("num", 10)]})


@contextlib.contextmanager
def openai_served(monkeypatch, key: str):
    """A FakeOpenAI on a real port, OPENAI_BASE_URL pointing at it for the test (and restored after)."""
    from shared.config import get_config
    from shared.local.services import ServerThread

    fake = FakeOpenAI(key=key)
    server = ServerThread(fake.app).start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    get_config.cache_clear()
    try:
        yield fake
    finally:
        server.stop()
        monkeypatch.delenv("OPENAI_BASE_URL")
        get_config.cache_clear()
