"""Who may call what: a session JWT (or the optional static API key) for every /api route except the public
allow-list; QStash signatures for /api/internal/* (shared/messaging/receiver.py).

Two layers, on purpose:
- `BearerGate` (ASGI middleware) refuses an unauthenticated /api request before routing and before the body is
  read, so an anonymous client learns nothing from validation errors or 404/405s, and a router that forgets
  its dependency is still closed.
- `require_auth` (router dependency) runs the same check and hands the claims to handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import json
import logging
from collections.abc import Callable

from fastapi import Request
from starlette._utils import get_route_path  # what Starlette's router matches (starlette is pinned)
from starlette.concurrency import run_in_threadpool

from shared.api.errors import AppError, Unauthorized, error_body, http_headers, http_status
from shared.auth import sessions
from shared.config import get_config
from shared.security.tokens import TokenError, verify_session_token

logger = logging.getLogger("screndly.api")

# The only /api routes open without a token (the frontend logs in and checks its token through them).
PUBLIC_API_PATHS: frozenset[str] = frozenset({"/api/auth/login", "/api/auth/verify"})
# QStash-called routes: authenticated by signature (verify_qstash), never by a session token.
INTERNAL_PREFIX = "/api/internal/"


def authenticate(authorization: str | None, cached_only: bool = False) -> dict:
    """The claims of a valid bearer, or Unauthorized. `cached_only`: sessions.StateNotCached rather than a
    database read (see BearerGate)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or malformed Authorization header")
    token = token.strip()
    api_key = get_config().api_key
    if api_key and hmac.compare_digest(token.encode(), api_key.encode()):
        return {"sub": "api-key"}
    try:
        claims = verify_session_token(token)
        sessions.check(claims, cached_only)  # revoked by the owner? (a cached read: shared/auth/sessions.py)
        return claims
    except TokenError as exc:
        raise Unauthorized(str(exc)) from exc


# where BearerGate leaves the claims it checked for this request, so the router dependency does not check the
# same header twice (scope state is per request and only our middleware writes it)
CLAIMS_STATE_KEY = "screndly.auth_claims"


async def require_auth(request: Request) -> dict:
    claims = request.scope.get("state", {}).get(CLAIMS_STATE_KEY)
    if claims is not None:
        return claims
    return await run_in_threadpool(authenticate, request.headers.get("authorization"))


def needs_bearer(path: str) -> bool:
    return path.startswith("/api/") and path not in PUBLIC_API_PATHS and not path.startswith(INTERNAL_PREFIX)


def _is_preflight(scope) -> bool:
    """A CORS preflight carries no credentials by design (CORSMiddleware answers it); any other OPTIONS is an
    ordinary request (it would list a route's methods) and needs a token like every other /api request. A
    preflight always has an Origin: without one it is not a preflight, whatever else it says."""
    names = {k for k, _ in scope.get("headers") or []}
    return scope["method"] == "OPTIONS" and b"origin" in names and b"access-control-request-method" in names


class BearerGate:
    """`while_reading_state(path)`: work the request will need next, done on the event loop while a worker
    thread reads the session state (see `_authenticate_reading_state`). It runs only for a token whose signature
    verified, and its errors are ignored here (the work is done again, and its error answered, where it
    belongs)."""

    def __init__(self, app, while_reading_state: Callable[[str], None] | None = None):
        self.app = app
        self.while_reading_state = while_reading_state

    async def _authenticate_reading_state(self, header: str | None, path: str) -> dict:
        """The session state is due (about once a minute; always on a cold instance's first request): read it
        in a worker thread, so an outage does not stall the event loop while the pool gives up. On a cold
        instance that thread first imports psycopg (CPU: under the GIL nothing else would run faster meanwhile),
        then opens the first connection and runs the query, which is waiting on the network and on the database:
        that is when the loop thread does the request's next steps (`while_reading_state`) instead of idling.
        asyncio's executor rather than anyio's: the worker starts at once instead of after importing anyio's
        backend, which `while_reading_state` then imports in the overlap."""
        loop = asyncio.get_running_loop()
        driver_ready = asyncio.Event()

        def read() -> dict:
            try:
                from shared.db.connection import import_driver

                import_driver()
            finally:
                with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for the signal
                    loop.call_soon_threadsafe(driver_ready.set)
            return authenticate(header)

        reading = loop.run_in_executor(None, contextvars.copy_context().run, read)
        if self.while_reading_state is not None:
            ready = asyncio.ensure_future(driver_ready.wait())
            try:
                await asyncio.wait((ready, reading), return_when=asyncio.FIRST_COMPLETED)
            finally:
                ready.cancel()
            if not reading.done():
                try:
                    self.while_reading_state(path)
                except Exception:
                    logger.debug("work overlapped with the session read failed; it runs again later",
                                 exc_info=True)
        return await reading

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _is_preflight(scope):
            return await self.app(scope, receive, send)
        path = get_route_path(scope)  # what the router matches (a mount point stripped at a segment boundary)
        if not needs_bearer(path):
            return await self.app(scope, receive, send)
        header = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"authorization"), None)
        try:
            try:  # CPU only (an HMAC and the cached session state): no thread hop on the polls' path
                claims = authenticate(header, cached_only=True)
            except sessions.StateNotCached:
                claims = await self._authenticate_reading_state(header, path)
        except AppError as exc:  # 401, or 503 when a cold instance cannot read the session state
            status = http_status(exc)
            body = json.dumps(error_body(exc.code, exc.message), separators=(",", ":")).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            if status == 401:
                headers.append((b"www-authenticate", b"Bearer"))
            headers += [(k.lower().encode(), v.encode()) for k, v in http_headers(exc).items()]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[CLAIMS_STATE_KEY] = claims
        await self.app(scope, receive, send)
