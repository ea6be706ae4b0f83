"""A local QStash for `make dev` and the tests: the subset Screndly uses, delivered like the real service.

Implements, against the real `qstash` Python client:
- `POST /v2/publish/<url>`: `Upstash-Delay`, `Upstash-Not-Before`, `Upstash-Deduplication-Id` (and
  content-based dedup) with QStash's 10-minute window, `Upstash-Retries`, `Upstash-Method`, `Upstash-Forward-*`.
- `POST /v2/batch`.
- `POST /v2/schedules/<url>` with `Upstash-Cron` (UTC, or `CRON_TZ=...` prefix) and `Upstash-Schedule-Id`
  (create-or-overwrite), `GET /v2/schedules`, `GET|DELETE /v2/schedules/<id>`, pause/resume.
- Deliveries carry `Upstash-Signature` (HS256 JWT with iss, sub=destination URL, exp, nbf, iat, jti and the body
  hash, signed with the current signing key, exactly like QStash), `Upstash-Message-Id`, `Upstash-Retried`
  (0 on the first attempt) and `Upstash-Schedule-Id`. A non-2xx answer is retried with backoff up to the
  message's retries; `489` with `Upstash-NonRetryable-Error: true` stops at once; exhausted messages go to a DLQ.

Not emulated: URL groups, queues, flow control, callbacks. Backoff is shortened (`retry_base_seconds`) so
local runs do not wait hours. `/_emulator/*` routes let tests inspect deliveries and fire a schedule now.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_DEDUP_WINDOW = 600.0


def parse_duration(value: str | None) -> float:
    if not value:
        return 0.0
    total = 0.0
    for num, unit in re.findall(r"(\d+)([smhd]?)", value.strip()):
        total += int(num) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    return total


def sign(body: bytes, url: str, key: str, ttl: int = 300) -> str:
    now = int(time.time())
    claims = {
        "iss": "Upstash", "sub": url, "iat": now, "nbf": now, "exp": now + ttl, "jti": f"jwt_{uuid.uuid4().hex}",
        "body": base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("="),
    }
    return jwt.encode(claims, key, algorithm="HS256")


@dataclass
class Message:
    message_id: str
    url: str
    body: bytes
    method: str
    headers: dict[str, str]
    retries: int
    not_before: float
    schedule_id: str | None = None
    attempts: int = 0
    state: str = "pending"  # pending | delivered | failed
    last_status: int | None = None
    delivered_at: float | None = None


@dataclass
class Schedule:
    schedule_id: str
    destination: str
    cron: str
    body: bytes
    method: str
    headers: dict[str, str]
    retries: int
    created_at: float
    paused: bool = False
    next_fire: float = 0.0
    last_fire: float | None = None


@dataclass
class EmulatorState:
    messages: dict[str, Message] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    dedup: dict[str, tuple[str, float]] = field(default_factory=dict)
    dlq: list[str] = field(default_factory=list)
    published_count: int = 0  # what QStash would bill: every accepted message (schedule fires included)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


def _next_cron(expr: str, after: float) -> float:
    from croniter import croniter

    tz = timezone.utc
    m = re.match(r"^CRON_TZ=(\S+)\s+(.*)$", expr.strip())
    if m:
        from zoneinfo import ZoneInfo

        tz, expr = ZoneInfo(m.group(1)), m.group(2)
    base = datetime.fromtimestamp(after, tz)
    return croniter(expr, base).get_next(datetime).timestamp()


class QStashEmulator:
    def __init__(self, token: str, current_signing_key: str, next_signing_key: str, *,
                 retry_base_seconds: float = 1.0, tick_seconds: float = 0.1, delivery_timeout: float = 300.0,
                 rewrite_base: tuple[str, str] | None = None, clock=None):
        self.token = token
        self.current_key = current_signing_key
        self.next_key = next_signing_key
        self.retry_base = retry_base_seconds
        self.tick = tick_seconds
        self.delivery_timeout = delivery_timeout
        # (public prefix, reachable prefix): lets a public URL like https://app.example map to a local port
        self.rewrite_base = rewrite_base
        # when messages fall due and schedules fire (signatures keep real time): a simulation may pass an
        # accelerated clock (bench/day_simulation.py)
        self.clock = clock or time.time
        self.state = EmulatorState()
        self._task: asyncio.Task | None = None
        self._inflight: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._busy: set[str] = set()
        self.app = self._build_app()

    # --- HTTP API -------------------------------------------------------------------------
    def _build_app(self) -> Starlette:
        routes = [
            Route("/v2/publish/{destination:path}", self._publish, methods=["POST"]),
            Route("/v2/batch", self._batch, methods=["POST"]),
            Route("/v2/schedules", self._list_schedules, methods=["GET"]),
            Route("/v2/schedules/{schedule_id}/pause", self._pause, methods=["PATCH", "POST"]),
            Route("/v2/schedules/{schedule_id}/resume", self._resume, methods=["PATCH", "POST"]),
            Route("/v2/schedules/{rest:path}", self._schedules, methods=["GET", "POST", "DELETE"]),
            Route("/v2/messages/{message_id}", self._get_message, methods=["GET"]),
            Route("/_emulator/state", self._dump, methods=["GET"]),
            Route("/_emulator/schedules/{schedule_id}/trigger", self._trigger, methods=["POST"]),
        ]
        @contextlib.asynccontextmanager
        async def lifespan(app):
            await self._start()
            try:
                yield
            finally:
                await self._stop()

        app = Starlette(routes=routes, lifespan=lifespan)
        app.state.emulator = self
        return app

    def _authorized(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.token}"

    @staticmethod
    def _error(msg: str, status: int) -> JSONResponse:
        return JSONResponse({"error": msg}, status_code=status)

    def _accept(self, destination: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        h = {k.lower(): v for k, v in headers.items()}
        if not destination.startswith(("http://", "https://")):
            raise ValueError(f"invalid destination url: {destination}")
        dedup_id = h.get("upstash-deduplication-id")
        if not dedup_id and h.get("upstash-content-based-deduplication", "").lower() == "true":
            dedup_id = hashlib.sha256(destination.encode() + b"|" + body).hexdigest()
        now = self.clock()
        if dedup_id:
            prior = self.state.dedup.get(dedup_id)
            if prior and now - prior[1] < _DEDUP_WINDOW:
                return {"messageId": prior[0], "deduplicated": True}
        delay = parse_duration(h.get("upstash-delay"))
        not_before = float(h["upstash-not-before"]) if h.get("upstash-not-before") else now + delay
        forward = {k[len("upstash-forward-"):]: v for k, v in h.items() if k.startswith("upstash-forward-")}
        if "content-type" in h:
            forward["content-type"] = h["content-type"]
        msg = Message(
            message_id=f"msg_{uuid.uuid4().hex}",
            url=destination,
            body=body,
            method=h.get("upstash-method", "POST").upper(),
            headers=forward,
            retries=int(h.get("upstash-retries", "3")),
            not_before=not_before,
        )
        self.state.messages[msg.message_id] = msg
        self.state.published_count += 1
        if dedup_id:
            self.state.dedup[dedup_id] = (msg.message_id, now)
        return {"messageId": msg.message_id}

    async def _publish(self, req: Request):
        if not self._authorized(req):
            return self._error("Unauthorized", 401)
        destination = req.path_params["destination"]
        if req.url.query:
            destination += "?" + req.url.query
        try:
            return JSONResponse(self._accept(destination, dict(req.headers), await req.body()), status_code=201)
        except ValueError as exc:
            return self._error(str(exc), 400)

    async def _batch(self, req: Request):
        if not self._authorized(req):
            return self._error("Unauthorized", 401)
        out = []
        try:
            for item in await req.json():
                body = item.get("body")
                raw = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body else b"")
                out.append(self._accept(item["destination"], item.get("headers") or {}, raw))
        except (ValueError, KeyError, TypeError) as exc:
            return self._error(f"invalid batch: {exc}", 400)
        return JSONResponse(out, status_code=201)

    def _schedule_json(self, s: Schedule) -> dict[str, Any]:
        return {
            "scheduleId": s.schedule_id, "destination": s.destination, "cron": s.cron,
            "createdAt": int(s.created_at * 1000), "body": s.body.decode("utf-8", "replace") or None,
            "method": s.method, "header": {k: [v] for k, v in s.headers.items()}, "retries": s.retries,
            "isPaused": s.paused, "lastScheduleTime": int(s.last_fire * 1000) if s.last_fire else None,
            "nextScheduleTime": int(s.next_fire * 1000),
        }

    async def _schedules(self, req: Request):
        if not self._authorized(req):
            return self._error("Unauthorized", 401)
        rest = req.path_params["rest"]
        if req.method == "POST":
            h = {k.lower(): v for k, v in req.headers.items()}
            cron = h.get("upstash-cron")
            if not cron:
                return self._error("Upstash-Cron header is required", 400)
            try:
                next_fire = _next_cron(cron, self.clock())
            except Exception as exc:
                return self._error(f"invalid cron: {exc}", 400)
            schedule_id = h.get("upstash-schedule-id") or f"scd_{uuid.uuid4().hex}"
            forward = {k[len("upstash-forward-"):]: v for k, v in h.items() if k.startswith("upstash-forward-")}
            if "content-type" in h:
                forward["content-type"] = h["content-type"]
            prior = self.state.schedules.get(schedule_id)
            self.state.schedules[schedule_id] = Schedule(
                schedule_id=schedule_id, destination=rest if not req.url.query else rest + "?" + req.url.query,
                cron=cron, body=await req.body(), method=h.get("upstash-method", "POST").upper(), headers=forward,
                retries=int(h.get("upstash-retries", "3")), created_at=prior.created_at if prior else self.clock(),
                next_fire=next_fire, paused=prior.paused if prior else False,
            )
            return JSONResponse({"scheduleId": schedule_id}, status_code=201)
        s = self.state.schedules.get(rest)
        if s is None:
            return self._error("schedule not found", 404)
        if req.method == "DELETE":
            del self.state.schedules[rest]
            return JSONResponse({}, status_code=200)
        return JSONResponse(self._schedule_json(s))

    async def _list_schedules(self, req: Request):
        if not self._authorized(req):
            return self._error("Unauthorized", 401)
        return JSONResponse([self._schedule_json(s) for s in self.state.schedules.values()])

    async def _pause(self, req: Request):
        return self._set_paused(req, True)

    async def _resume(self, req: Request):
        return self._set_paused(req, False)

    def _set_paused(self, req: Request, paused: bool):
        if not self._authorized(req):
            return self._error("Unauthorized", 401)
        s = self.state.schedules.get(req.path_params["schedule_id"])
        if s is None:
            return self._error("schedule not found", 404)
        s.paused = paused
        return JSONResponse({})

    async def _get_message(self, req: Request):
        if not self._authorized(req):
            return self._error("Unauthorized", 401)
        m = self.state.messages.get(req.path_params["message_id"])
        if m is None:
            return self._error("message not found", 404)
        return JSONResponse({"messageId": m.message_id, "url": m.url, "state": m.state, "attempts": m.attempts})

    async def _dump(self, req: Request):
        return JSONResponse({
            "publishedCount": self.state.published_count,
            "pending": sum(1 for m in self.state.messages.values() if m.state == "pending"),
            "dlq": self.state.dlq,
            "deliveries": self.state.deliveries[-500:],
            "schedules": [self._schedule_json(s) for s in self.state.schedules.values()],
        })

    async def _trigger(self, req: Request):
        s = self.state.schedules.get(req.path_params["schedule_id"])
        if s is None:
            return self._error("schedule not found", 404)
        msg = self._fire(s, self.clock())
        return JSONResponse({"messageId": msg.message_id})

    # --- delivery loop --------------------------------------------------------------------
    def _fire(self, s: Schedule, now: float) -> Message:
        msg = Message(message_id=f"msg_{uuid.uuid4().hex}", url=s.destination, body=s.body, method=s.method,
                      headers=dict(s.headers), retries=s.retries, not_before=now, schedule_id=s.schedule_id)
        self.state.messages[msg.message_id] = msg
        self.state.published_count += 1
        s.last_fire = now
        return msg

    async def _start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.delivery_timeout)
        self._task = asyncio.create_task(self._loop())

    async def _stop(self) -> None:
        if self._task:
            self._task.cancel()
        for t in list(self._inflight):
            t.cancel()
        if self._client:
            await self._client.aclose()

    async def _loop(self) -> None:
        while True:
            now = self.clock()
            for s in list(self.state.schedules.values()):
                if not s.paused and s.next_fire <= now:
                    self._fire(s, now)
                    s.next_fire = _next_cron(s.cron, now)
            for m in list(self.state.messages.values()):
                if m.state == "pending" and m.not_before <= now and m.message_id not in self._busy:
                    self._busy.add(m.message_id)
                    task = asyncio.create_task(self._deliver(m))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            await asyncio.sleep(self.tick)

    def _target(self, url: str) -> str:
        if self.rewrite_base and url.startswith(self.rewrite_base[0]):
            return self.rewrite_base[1] + url[len(self.rewrite_base[0]):]
        return url

    async def _deliver(self, m: Message) -> None:
        try:
            headers = dict(m.headers)
            headers.update({
                "Upstash-Signature": sign(m.body, m.url, self.current_key),
                "Upstash-Message-Id": m.message_id,
                "Upstash-Retried": str(m.attempts),
                "User-Agent": "Upstash-QStash",
            })
            if m.schedule_id:
                headers["Upstash-Schedule-Id"] = m.schedule_id
            status, non_retryable = 0, False
            try:
                resp = await self._client.request(m.method, self._target(m.url), content=m.body, headers=headers)
                status = resp.status_code
                non_retryable = resp.headers.get("upstash-nonretryable-error", "").lower() == "true"
            except httpx.HTTPError as exc:
                status = -1
                self.state.deliveries.append({"messageId": m.message_id, "error": type(exc).__name__})
            m.attempts += 1
            m.last_status = status
            self.state.deliveries.append({"messageId": m.message_id, "url": m.url, "status": status,
                                          "retried": m.attempts - 1, "at": self.clock()})
            if 200 <= status < 300:
                m.state, m.delivered_at = "delivered", self.clock()
            elif non_retryable or status == 489 or m.attempts > m.retries:
                m.state = "failed"
                self.state.dlq.append(m.message_id)
            else:
                m.not_before = self.clock() + self.retry_base * (2 ** (m.attempts - 1))
        finally:
            self._busy.discard(m.message_id)


def create_emulator(token: str, current_signing_key: str, next_signing_key: str, **kwargs) -> QStashEmulator:
    return QStashEmulator(token, current_signing_key, next_signing_key, **kwargs)
