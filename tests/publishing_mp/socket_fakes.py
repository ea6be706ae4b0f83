"""The platform fakes (tests/publishing_fakes, through their `Fake.handle(httpx.Request)`) served on a real TCP
socket, with the faults that only a real connection can show, chosen per request from a seeded plan:

- slow_accept: the platform accepts the post only after the client's timeout (the look-up right after the
  timeout does not see it yet; it appears later);
- timeout_after: the post is accepted, the answer comes after the client's timeout;
- drop_after: the post is accepted, the connection is closed without an answer;
- error_after: the post is accepted, the answer is a 500;
- kill_after: the post is accepted, then the worker that sent it is killed with SIGKILL (it never reads the
  answer, so it never records it);
- refuse (503 before anything is done), reject (400: the platform refuses the post) and rate_limit (429) on
  the publishing request;
- lookup_503 / lookup_hang: a look-up answers 503, or hangs past the client's timeout;
- slow_upload: every chunk of a YouTube upload session takes most of the client's timeout, so the whole upload
  outlives the workers' lease (the worker is alive and busy: only its heartbeat keeps the claim).

"Accepted" is observed, not guessed: the fakes record every post in their ledger (`record_post`), and a request
during which the ledger grew is the one that published. The same ledger counts duplicates.

Requests reach the right fake by their Host header (the worker's transport keeps the platform's hostname).
Paths under /api/internal/ are QStash deliveries to our API: they go to `relay`.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# the requests that publish (or finish publishing) a post, per fake: where slow accepts and refusals apply
COMMIT_ROUTES = {
    "x": {"tweet"}, "meta": {"feed", "photos", "videos", "publish", "photo_stories"}, "threads": {"publish"},
    "tiktok": {"upload", "init"}, "youtube": {"chunk"}, "pinterest": {"pin"},
}
# the requests look-ups make (listings, status checks, upload-session queries)
LOOKUP_ROUTES = {
    "x": {"timeline"}, "meta": {"published_posts", "list_videos", "list_media", "container_status"},
    "threads": {"listing", "object"}, "tiktok": {"status"}, "youtube": {"chunk"}, "pinterest": {"board_pins"},
}


@dataclass
class FaultPlan:
    """Probabilities per request (0 turns a fault off). `client_timeout` is the workers' HTTP timeout."""

    client_timeout: float = 2.0
    slow_accept: float = 0.0
    refuse: float = 0.0
    reject: float = 0.0  # a 400 refusal of the publishing request (nothing posted: a re-send may re-arm it)
    rate_limit: float = 0.0
    after_accept: float = 0.0  # one of timeout_after / drop_after / error_after
    kill_after: float = 0.0
    lookup_fail: float = 0.0
    slow_upload: float = 0.0  # of YouTube upload sessions: every chunk takes most of the client's timeout
    seed: int = 1


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: Counter = field(default_factory=Counter)
    kills: Counter = field(default_factory=Counter)
    requests: int = 0
    inflight: int = 0


def _route_name(fake, request: httpx.Request) -> str | None:
    for method, rx, name, _ in fake.routes:
        if method == request.method and rx.match(request.url.path):
            return name
    return None


def _is_session_query(request: httpx.Request) -> bool:
    return request.headers.get("content-range", "").startswith("bytes */")


class FakeServer:
    def __init__(self, hosts: dict[str, object], default, plan: FaultPlan,
                 relay: Callable[[str, bytes], None] | None = None):
        self.hosts = hosts  # hostname -> fake
        self.default = default  # anything else (127.0.0.1: the media host)
        self.plan = plan
        self.relay = relay
        self.stats = Stats()
        self.rng = random.Random(plan.seed)
        self.rng_lock = threading.Lock()
        self._local = threading.local()
        self._slow_sessions: dict[str, bool] = {}
        for fake in {id(f): f for f in [*hosts.values(), default]}.values():
            self._watch_ledger(fake)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return bytes(out)
                        piece = self.rfile.read(size)
                        if len(piece) < size:
                            raise ConnectionAbortedError("request body cut short")
                        out += piece
                        self.rfile.readline()
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                if len(body) < n:  # the sender died mid-request: a platform never processes half a request
                    raise ConnectionAbortedError("request body cut short")
                return body

            def _serve(self):
                server._serve(self)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):  # a killed worker's connection: expected here
                exc = sys.exc_info()[1]
                if not isinstance(exc, (ConnectionError, OSError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fake-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def calm(self) -> None:
        """The settle phase: no more faults of any kind."""
        self.plan = FaultPlan(client_timeout=self.plan.client_timeout, seed=self.plan.seed)

    def idle(self) -> bool:
        return self.stats.inflight == 0

    # --- the ledger: which request published -------------------------------------------------------
    def _watch_ledger(self, fake) -> None:
        record = fake.record_post
        local = self._local

        def recording(**post):
            out = record(**post)
            accepted = getattr(local, "accepted", None)
            if accepted is not None:
                accepted.append(out)
            return out
        fake.record_post = recording  # an instance attribute: the fake's code is unchanged

    def _roll(self, p: float) -> bool:
        if p <= 0:
            return False
        with self.rng_lock:
            return self.rng.random() < p

    def _pick(self, options: list[str]) -> str:
        with self.rng_lock:
            return self.rng.choice(options)

    def _count(self, kind: str) -> None:
        with self.stats.lock:
            self.stats.faults[kind] += 1

    # --- one request ---------------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.inflight += 1
        try:
            self._dispatch(h)
        except ConnectionError:  # the sender is gone (killed, or it gave up): nothing to answer
            h.close_connection = True
        finally:
            with self.stats.lock:
                self.stats.inflight -= 1

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        body = h._body()
        path = h.path
        if path.startswith("/api/internal/") and self.relay is not None:
            self.relay(path.split("?")[0], body)
            return self._write(h, httpx.Response(200, json={"success": True}))
        host = (h.headers.get("host") or "").split(":")[0]
        fake = self.hosts.get(host, self.default)
        headers = [(k, v) for k, v in h.headers.items() if k.lower() not in ("transfer-encoding",)]
        request = httpx.Request(h.command, f"https://{host}{path}", headers=headers, content=body)
        plan = self.plan
        name = _route_name(fake, request)
        commit = name in COMMIT_ROUTES.get(fake.name, ()) and not _is_session_query(request)
        lookup = name in LOOKUP_ROUTES.get(fake.name, ()) and (fake.name != "youtube" or _is_session_query(request))
        if lookup and self._roll(plan.lookup_fail):
            kind = self._pick(["lookup_503", "lookup_hang"])
            self._count(kind)
            if kind == "lookup_hang":
                time.sleep(plan.client_timeout + 0.5)
                h.close_connection = True
                return
            return self._write(h, httpx.Response(503, json={"error": {"message": "fake: look-up unavailable",
                                                                      "code": 2}}))
        if commit and self._roll(plan.refuse):
            self._count("refuse_503")
            return self._write(h, httpx.Response(503, json={"error": {"message": "fake: unavailable", "code": 2}}))
        if commit and self._roll(plan.reject):
            self._count("reject_400")
            return self._write(h, httpx.Response(400, json={"error": {"message": "fake: the platform refused this "
                                                                      "post", "code": 100}}))
        if commit and self._roll(plan.rate_limit):
            self._count("rate_limit_429")
            return self._write(h, fake.json({"title": "Too Many Requests", "detail": "Too Many Requests",
                                             "status": 429}, 429, headers=fake.rate_headers()))
        if fake.name == "youtube" and name == "chunk" and not _is_session_query(request):
            sid = request.url.path.rsplit("/", 1)[-1]
            with self.rng_lock:
                if sid not in self._slow_sessions:
                    self._slow_sessions[sid] = plan.slow_upload > 0 and self.rng.random() < plan.slow_upload
                    if self._slow_sessions[sid]:
                        self._count("slow_upload")
                slow_upload = self._slow_sessions[sid] and plan.slow_upload > 0
            if slow_upload:
                time.sleep(plan.client_timeout * 0.8)  # slow, but answered within the timeout
        slow = commit and self._roll(plan.slow_accept)
        if slow:
            time.sleep(plan.client_timeout + 0.6)  # the client gave up; the platform goes on and accepts
        self._local.accepted = []
        try:
            response = fake.handle(request)
        except httpx.TransportError:  # a fake's own connection-level fault: no answer
            h.close_connection = True
            return
        finally:
            accepted, self._local.accepted = self._local.accepted, None
        if not accepted:
            return self._write(h, response)
        if slow:
            self._count("slow_accept")
            h.close_connection = True
            return self._write(h, response)  # the client is gone: nobody reads this
        if self._roll(plan.kill_after):
            pid = int(h.headers.get("x-harness-pid") or 0)
            if pid and pid != os.getpid():
                with self.stats.lock:
                    self.stats.kills["after_accept"] += 1
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                h.close_connection = True
                return
        if self._roll(plan.after_accept):
            kind = self._pick(["timeout_after", "drop_after", "error_after"])
            self._count(kind)
            if kind == "timeout_after":
                time.sleep(plan.client_timeout + 0.5)
                h.close_connection = True
                return self._write(h, response)
            if kind == "drop_after":
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            return self._write(h, httpx.Response(500, json={"error": {"message": "fake: internal error after "
                                                                                 "accepting", "code": 2}}))
        return self._write(h, response)

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, response: httpx.Response) -> None:
        content = response.content if h.command != "HEAD" else b""
        h.send_response(response.status_code)
        for k, v in response.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                h.send_header(k, v)
        length = response.headers.get("content-length") if h.command == "HEAD" else str(len(content))
        h.send_header("Content-Length", length or "0")
        if h.close_connection:
            h.send_header("Connection", "close")
        h.end_headers()
        if content:
            h.wfile.write(content)
        h.wfile.flush()
