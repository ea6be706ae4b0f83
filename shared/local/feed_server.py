"""A local HTTP server of real-world-shaped feeds, pages and images, for the RSS/channel tests and the bench.

Routes are registered at run time (`FeedServer.route(path, ...)`); each honours conditional GET when given an
ETag/Last-Modified, and can answer slowly, endlessly, gzip-compressed, with a redirect, or with any status.
`/gen/<n>.xml?items=50` serves a generated RSS feed (stable per n and `v` parameter) for the benchmark.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from shared.local.services import ServerThread


@dataclass
class Spec:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    redirect_to: str | None = None
    slow_seconds: float = 0.0  # sleep before answering
    endless: bool = False  # stream forever
    forbid_default_ua: bool = False  # 403 unless the User-Agent looks like a browser
    ignore_conditional: bool = False  # always answer 200, even when the validators match
    extra_headers: dict[str, str] = field(default_factory=dict)


def generated_feed(n: int, items: int = 50, version: int = 0) -> bytes:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    parts = [(f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
             f'xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Generated feed {n}</title>'
             f'<link>https://site{n}.example/</link><description>bench</description>')]
    for i in range(items):
        k = i + version
        pub = format_datetime(now - timedelta(minutes=10 * k))
        parts.append(f"<item><title>Feed {n} story {k}: the trailer for movie {k} is out</title>"
                     f"<link>https://site{n}.example/story/{k}?utm_source=rss</link>"
                     f"<guid isPermaLink=\"false\">feed{n}-item{k}</guid><pubDate>{pub}</pubDate>"
                     f"<description><![CDATA[<p>Story {k} of feed {n}. <b>Lorem ipsum</b> dolor sit amet, "
                     f"consectetur adipiscing elit.</p>]]></description>"
                     f"<media:content url=\"https://img{n}.example/{k}.jpg\" medium=\"image\" width=\"1280\" "
                     f"height=\"720\"/></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


class FeedServer:
    def __init__(self, latency_ms: float = 0.0) -> None:
        self.latency = latency_ms / 1000.0  # added to every answer: a remote server's round trip + think time
        self.routes: dict[str, Spec] = {}
        self.hits: dict[str, int] = {}
        self.inflight = 0
        self.max_inflight = 0
        self.user_agents: dict[str, list[str]] = {}
        self.generation = 0  # added to every /gen/ feed's version: `GET /_generation?set=N` publishes new items
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "HEAD"])])
        self._thread: ServerThread | None = None

    def start(self) -> FeedServer:
        from shared.local.services import ServerThread

        self._thread = ServerThread(self.app).start()
        return self

    def stop(self) -> None:
        if self._thread:
            self._thread.stop()

    @property
    def base(self) -> str:
        if self._thread is None:
            raise RuntimeError("the feed server is not started")
        return self._thread.url

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, body: bytes | str = b"", **kw) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Spec(body=body, **kw)
        return self.url(path)

    async def _handle(self, request: Request) -> Response:
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return await self._answer(request)
        finally:
            self.inflight -= 1

    async def _answer(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        if request.url.query:
            full = path + "?" + request.url.query
        else:
            full = path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.user_agents.setdefault(path, []).append(request.headers.get("user-agent", ""))
        spec = self.routes.get(full) or self.routes.get(path)
        if path == "/_generation":  # the benchmark moves every generated feed on by N items, URLs unchanged
            self.generation = int(request.query_params.get("set", self.generation))
            return Response(str(self.generation))
        if spec is None and path.startswith("/gen/") and path.endswith(".xml"):
            n = int(path[5:-4])
            items = int(request.query_params.get("items", "50"))
            version = int(request.query_params.get("v", "0")) + self.generation
            body = generated_feed(n, items, version)
            spec = Spec(body=body, etag='"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"')
        if spec is None:
            return Response("not found", status_code=404)
        if self.latency:
            await asyncio.sleep(self.latency)
        if spec.slow_seconds:
            await asyncio.sleep(spec.slow_seconds)
        if spec.forbid_default_ua and "Mozilla" not in request.headers.get("user-agent", ""):
            return Response("forbidden", status_code=403)
        if spec.redirect_to:
            return Response(status_code=spec.status, headers={"Location": spec.redirect_to})
        headers = dict(spec.extra_headers)
        if spec.etag:
            headers["ETag"] = spec.etag
        if spec.last_modified:
            headers["Last-Modified"] = spec.last_modified
        if not spec.ignore_conditional:
            inm, ims = request.headers.get("if-none-match"), request.headers.get("if-modified-since")
            if (spec.etag and inm == spec.etag) or (spec.last_modified and not spec.etag and ims == spec.last_modified):
                return Response(status_code=304, headers=headers)
        if spec.endless:
            async def forever():
                chunk = b"<item><title>" + b"x" * 65536 + b"</title></item>"
                while True:
                    yield chunk
                    await asyncio.sleep(0)
            return StreamingResponse(forever(), media_type=spec.content_type, headers=headers)
        body = spec.body
        if spec.gzip and "gzip" in request.headers.get("accept-encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return Response(body, status_code=spec.status, media_type=None,
                        headers={**headers, "Content-Type": spec.content_type})


def serve(port: int, latency_ms: float) -> None:
    """Run a FeedServer in this process (the benchmark starts it in a child process, so its CPU is not counted)."""
    import uvicorn

    uvicorn.run(FeedServer(latency_ms).app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    import sys

    serve(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
