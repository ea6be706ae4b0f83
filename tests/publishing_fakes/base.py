"""Shared plumbing for the platform fakes: dispatch by (method, path regex), bearer checks, fault injection,
OAuth code/PKCE bookkeeping, and the ledger of posts that the duplicate count reads.

Faults are queued per route name and consumed in order:
- "connect": raise httpx.ConnectError (the request never reached the platform; nothing recorded)
- "timeout_after": run the handler (so a post IS created) then raise httpx.ReadTimeout
- "drop_after": run the handler then raise httpx.RemoteProtocolError (connection dropped)
- 500 / 503: answer that status without running the handler
- 429: answer 429 with reset headers without running the handler
- 401: answer 401 without running the handler

Every request is first held to the platform's official description (`contract`, per fake, through
tests/contracts/validate.py) and to the scopes the token was granted at consent. A request the description does
not allow is answered with the platform's error and remembered in `violations`; the World fixture fails the test
with the rules broken. A call the token's scopes do not cover is answered the way the platform answers it
(`scope_refusal`) and remembered too: our code must never make one.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx


class Fake:
    name = "fake"
    host = "fake.test"

    def __init__(self):
        self.lock = threading.RLock()
        self.routes: list[tuple[str, re.Pattern, str, Callable]] = []
        self.faults: dict[str, deque] = defaultdict(deque)
        self.calls: list[tuple[str, dict]] = []
        self.posts: list[dict] = []
        self.tokens: set[str] = set()
        self.grants: dict[str, frozenset[str]] = {}  # access token -> scopes granted at consent
        self.violations: list[str] = []
        self.refresh_tokens: dict[str, str] = {}  # refresh -> account
        self.refresh_scopes: dict[str, frozenset[str]] = {}
        self.codes: dict[str, dict] = {}
        self.declining: set[str] = set()  # scopes the owner unticks on the next consent pages
        self.ids = itertools.count(1000)
        self.client_id = f"{self.name}-client"
        self.client_secret = f"{self.name}-secret"
        self.rate_reset_in = 0.05
        self.setup()

    def setup(self) -> None:
        pass

    # --- registration / dispatch -----------------------------------------------------------
    def route(self, method: str, pattern: str, name: str, fn: Callable) -> None:
        self.routes.append((method, re.compile(pattern + "$"), name, fn))

    def next_id(self, prefix: str = "") -> str:
        return f"{prefix}{next(self.ids)}"

    def fail_next(self, route: str, *faults: Any) -> None:
        with self.lock:
            self.faults[route].extend(faults)

    def _fault(self, route: str):
        with self.lock:
            q = self.faults.get(route)
            return q.popleft() if q else None

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for method, rx, name, fn in self.routes:
            if method != request.method:
                continue
            m = rx.match(path)
            if not m:
                continue
            broken = self.contract(request, name)
            if broken:
                with self.lock:
                    self.violations.extend(broken)
                    self.calls.append((f"refused:{name}", {"path": path, "broken": broken}))
                scope_only = all("scopes:" in b for b in broken)
                return self.scope_refusal(request, broken) if scope_only else self.invalid_request(request, broken)
            fault = self._fault(name)
            with self.lock:
                self.calls.append((name, {"path": path}))
            if fault == "connect":
                raise httpx.ConnectError("fake: connection refused", request=request)
            if isinstance(fault, int) and fault == 429:
                return self.json({"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
                                 429, headers=self.rate_headers())
            if isinstance(fault, int):
                return self.json({"error": {"message": f"fake fault {fault}", "code": fault}}, fault)
            resp = fn(request, **m.groupdict())
            if fault == "timeout_after":
                raise httpx.ReadTimeout("fake: timed out after processing", request=request)
            if fault == "drop_after":
                raise httpx.RemoteProtocolError("fake: connection dropped", request=request)
            return resp
        return self.json({"error": {"message": f"no fake route for {request.method} {path}"}}, 404)

    # --- the platform's description, and what it answers to a request outside it ------------------
    def contract(self, request: httpx.Request, route: str) -> list[str]:
        """The rules this request breaks (tests/contracts/validate.py); each fake says which description."""
        return []

    def granted(self, request: httpx.Request, param: str | None = "access_token") -> set[str] | None:
        """Scopes of the request's token (None when the token is unknown: the route answers 401 itself)."""
        from contracts.validate import bearer

        tok = bearer(request, param)
        with self.lock:
            scopes = self.grants.get(tok) if tok else None
        return set(scopes) if scopes is not None else None

    def invalid_request(self, request: httpx.Request, broken: list[str]) -> httpx.Response:
        return self.json({"error": {"message": "invalid request: " + "; ".join(broken), "code": 100}}, 400)

    def scope_refusal(self, request: httpx.Request, broken: list[str]) -> httpx.Response:
        return self.json({"error": {"message": "insufficient scope: " + "; ".join(broken), "code": 200}}, 403)

    def rate_headers(self) -> dict[str, str]:
        return {"x-rate-limit-reset": f"{time.time() + self.rate_reset_in:.3f}",
                "retry-after": f"{self.rate_reset_in:.3f}"}

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    @staticmethod
    def form(request: httpx.Request) -> dict[str, str]:
        ctype = request.headers.get("content-type", "")
        raw = request.content
        if ctype.startswith("multipart/"):
            return multipart_fields(request)
        q = {k: v[0] for k, v in parse_qs(raw.decode() if raw else "").items()}
        return q

    @staticmethod
    def query(request: httpx.Request) -> dict[str, str]:
        return dict(request.url.params.items())

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.content or b"{}")

    def authed(self, request: httpx.Request, param: str | None = None) -> bool:
        h = request.headers.get("authorization", "")
        tok = h[7:] if h.startswith("Bearer ") else None
        if tok is None and param:
            tok = self.query(request).get(param)
        return tok in self.tokens

    def in_window(self, request: httpx.Request, rows: list[dict], start: str, end: str,
                  iso: bool = False) -> list[dict]:
        """Filter posts by the platform's time-window parameters (X start_time/end_time, Meta since/until)."""
        from datetime import datetime

        q = self.query(request)

        def t(v):
            return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() if iso else float(v)
        lo = t(q[start]) if q.get(start) else float("-inf")
        hi = t(q[end]) if q.get(end) else float("inf")
        return [p for p in rows if lo <= p["at"] <= hi]

    def paginate(self, request: httpx.Request, rows: list, limit_param: str, style: str = "graph") -> dict:
        """Paginate a listing: Graph style (`paging.cursors.after`) or X style (`meta.next_token`)."""
        q = self.query(request)
        limit = int(q.get(limit_param, 25))
        start = int(q.get("after") or q.get("pagination_token") or 0)
        chunk, nxt = rows[start:start + limit], start + limit
        more = nxt < len(rows)
        if style == "x":
            return {"chunk": chunk, "extra": {"meta": {"result_count": len(chunk),
                                                       **({"next_token": str(nxt)} if more else {})}}}
        return {"chunk": chunk, "extra": {"paging": {"cursors": {"after": str(nxt)},
                                                     **({"next": "more"} if more else {})}}}

    def unauthorized(self) -> httpx.Response:
        return self.json({"error": {"message": "Invalid OAuth access token", "code": 190}}, 401)

    def issue_tokens(self, account: str, *, expires_in: int = 7200, refresh: bool = True,
                     scopes: Any = ()) -> dict[str, Any]:
        with self.lock:
            access = f"{self.name}-at-{self.next_id()}"
            self.tokens.add(access)
            self.grants[access] = frozenset(scopes)
            out: dict[str, Any] = {"access_token": access, "expires_in": expires_in, "token_type": "bearer"}
            if refresh:
                rt = f"{self.name}-rt-{self.next_id()}"
                self.refresh_tokens[rt] = account
                self.refresh_scopes[rt] = frozenset(scopes)  # a refreshed token keeps the consented scopes
                out["refresh_token"] = rt
            return out

    def scopes_of_refresh(self, refresh_token: str | None) -> frozenset[str]:
        return self.refresh_scopes.get(refresh_token or "", frozenset())

    def requested_scopes(self, authorize_url: str) -> list[str]:
        q = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        return [s for s in q.get("scope", "").replace(",", " ").split() if s]

    def authorize_contract(self, query: dict[str, str]) -> list[str]:
        """Rules for the consent page's query (the documented authorization parameters)."""
        return []

    # --- OAuth: the owner's consent, played by the test --------------------------------------
    def consent(self, authorize_url: str, account: str = "owner") -> tuple[str, str]:
        """Read the authorization URL like the platform's consent page, return (code, state)."""
        q = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        broken = self.authorize_contract(q)
        if broken:
            with self.lock:
                self.violations.extend(broken)
        code = f"code-{self.next_id()}"
        with self.lock:
            self.codes[code] = {"challenge": q.get("code_challenge"), "method": q.get("code_challenge_method"),
                                "redirect_uri": q.get("redirect_uri"), "account": account,
                                "client": q.get("client_id") or q.get("client_key"),
                                # the owner agrees to what the consent page asked for, less what they untick
                                "scopes": [s for s in self.requested_scopes(authorize_url)
                                           if s not in self.declining]}
        return code, q["state"]

    def redeem(self, code: str, redirect_uri: str | None, verifier: str | None, pkce: bool = True) -> dict | None:
        """Check a code exchange like the platform does: known code, same redirect, verifier matches."""
        with self.lock:
            entry = self.codes.pop(code, None)
        if entry is None or entry["redirect_uri"] != redirect_uri:
            return None
        if pkce:
            if entry["method"] != "S256" or not verifier:
                return None
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != entry["challenge"]:
                return None
        return entry

    def basic_ok(self, request: httpx.Request) -> bool:
        h = request.headers.get("authorization", "")
        if not h.startswith("Basic "):
            return False
        return base64.b64decode(h[6:]).decode() == f"{self.client_id}:{self.client_secret}"

    # --- the duplicate ledger ---------------------------------------------------------------
    def record_post(self, **post: Any) -> dict:
        with self.lock:
            post.setdefault("id", self.next_id())
            post["at"] = time.time()
            self.posts.append(post)
            return post

    def duplicates(self, marker_rx: str = r"\[pub:([\w-]+)\]") -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for p in self.posts:
            m = re.search(marker_rx, str(p.get("text") or ""))
            if m:
                counts[m.group(1)] += 1
        return {k: v for k, v in counts.items() if v > 1}


def multipart_fields(request: httpx.Request) -> dict[str, Any]:
    ctype = request.headers["content-type"]
    boundary = ctype.split("boundary=")[1].strip('"').encode()
    out: dict[str, Any] = {}
    for part in request.content.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, _, data = part.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        m = re.search(rb'name="([^"]+)"', head)
        if not m:
            continue
        name = m.group(1).decode()
        out[name] = data if b"filename=" in head else data.decode()
    return out


class MediaHost(Fake):
    """Serves media bytes with HEAD and Range, like B2 / a CDN."""

    name = "media"
    host = "media.test"

    def setup(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.route("HEAD", r"/(?P<name>.+)", "head", self._head)
        self.route("GET", r"/(?P<name>.+)", "get", self._get)

    def add(self, name: str, data: bytes, ctype: str) -> str:
        self.files[name] = (data, ctype)
        return f"https://{self.host}/{name}"

    def _head(self, request, name):
        if name not in self.files:
            return httpx.Response(404)
        data, ctype = self.files[name]
        return httpx.Response(200, headers={"content-length": str(len(data)), "content-type": ctype})

    def _get(self, request, name):
        if name not in self.files:
            return httpx.Response(404)
        data, ctype = self.files[name]
        rng = request.headers.get("range")
        if rng:
            m = re.match(r"bytes=(\d+)-(\d*)", rng)
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            end = min(end, len(data) - 1)
            return httpx.Response(206, content=data[start:end + 1], headers={
                "content-type": ctype, "content-range": f"bytes {start}-{end}/{len(data)}"})
        return httpx.Response(200, content=data, headers={"content-type": ctype})


def qs(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)
