"""Builds the FastAPI app: routers, the error envelope, body limits.

Routers are listed by module path with the path prefixes their routes live under, and imported on the first
request under one of those prefixes (shared/api/lazy_routers.py): a cold start builds none of them, and an
instance answers the notifications poll after building that router alone. Protected routers declare
`dependencies=[Depends(require_auth)]` themselves, and `BearerGate` closes every /api path but the public
allow-list before routing; the route enumeration test (tests/test_foundation_route_auth.py) proves no /api route
is left open by accident.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.api.auth import BearerGate
from shared.api.errors import AppError, error_body, http_headers, http_status
from shared.api.headers import NoStoreForApi
from shared.api.input_guard import InputGuard
from shared.api.limits import BodySizeLimit

if TYPE_CHECKING:
    from shared.api.lazy_routers import LazyRouters

logger = logging.getLogger("screndly.api")

# group name -> router modules (each exposes `router`)
ROUTER_GROUPS: dict[str, list[str]] = {
    "core": [
        "shared.api.routes.health",
        "shared.api.routes.auth",
        "shared.api.routes.settings",
        "shared.api.routes.notifications",
        "shared.api.routes.logs",
        "shared.api.routes.internal_cleanup",
    ],
    "media": [
        "shared.api.routes.media_uploads",
        "shared.api.routes.media_jobs",
        "shared.api.routes.media_assets",
        "shared.api.routes.compose",
        "shared.api.routes.ai_compose",
    ],
    "rss": [
        "shared.api.routes.rss",
        "shared.api.routes.rss_internal",
        "shared.api.routes.ai_rss",
        "shared.api.routes.channels",
    ],
    "tmdb": [
        "shared.api.routes.tmdb",
        "shared.api.routes.tmdb_internal",
        "shared.api.routes.ai_tmdb",
    ],
    "publishing": [
        "shared.api.routes.platforms",
        "shared.api.routes.pinterest",
        "shared.api.routes.publishing_internal",
    ],
    "comments": [
        "shared.api.routes.comments",
        "shared.api.routes.comments_internal",
    ],
    "dashboard": [
        "shared.api.routes.dashboard",
        "shared.api.routes.dispatch_internal",
    ],
}

# router module -> the path prefixes its routes live under (tests/test_lazy_routers.py proves each route lies
# under its own module's prefixes, and that no path is served by two modules)
ROUTER_PREFIXES: dict[str, tuple[str, ...]] = {
    "shared.api.routes.health": ("/health",),
    "shared.api.routes.auth": ("/api/auth",),
    "shared.api.routes.settings": ("/api/settings",),
    "shared.api.routes.notifications": ("/api/notifications",),
    "shared.api.routes.logs": ("/api/logs",),
    "shared.api.routes.internal_cleanup": ("/api/internal/cleanup",),
    "shared.api.routes.media_uploads": ("/api/uploads",),
    "shared.api.routes.media_jobs": ("/api/jobs",),
    "shared.api.routes.media_assets": ("/api/create/upload-asset", "/api/design-studio", "/api/video-studio"),
    "shared.api.routes.compose": ("/api/create/state",),
    "shared.api.routes.ai_compose": ("/api/ai/generate/compose-metadata", "/api/ai/generate/compose-content",
                                     "/api/ai/generate/compose-thumbnail"),
    "shared.api.routes.rss": ("/api/rss",),
    "shared.api.routes.rss_internal": ("/api/internal/rss",),
    "shared.api.routes.ai_rss": ("/api/ai/generate/rss-caption",),
    "shared.api.routes.channels": ("/api/channels",),
    "shared.api.routes.tmdb": ("/api/tmdb",),
    "shared.api.routes.tmdb_internal": ("/api/internal/tmdb",),
    "shared.api.routes.ai_tmdb": ("/api/ai/generate/tmdb-caption",),
    "shared.api.routes.platforms": ("/api/platforms",),
    "shared.api.routes.pinterest": ("/api/pinterest",),
    "shared.api.routes.publishing_internal": ("/api/internal/publishing",),
    "shared.api.routes.comments": ("/api/comments",),
    "shared.api.routes.comments_internal": ("/api/internal/comments",),
    "shared.api.routes.dashboard": ("/api/automation/status", "/api/dashboard", "/api/usage"),
    "shared.api.routes.dispatch_internal": ("/api/internal/dispatch",),
}

_STATUS_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "TIMEOUT",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
}


def _validation_details(exc: RequestValidationError) -> list[dict]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc) or "body", "message": e.get("msg", "invalid"), "type": e.get("type")})
    return out


def _specificity(template: str) -> tuple[int, ...]:
    """Per path segment, 1 for a literal and 0 for a parameter: `/api/notifications/mark-all-read` outranks
    `/api/notifications/{notification_id}` for the same path."""
    return tuple(0 if seg.startswith("{") else 1 for seg in template.strip("/").split("/"))


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of the most specific route template(s) matching `path`. A templated sibling matches the
    literal path too (`{notification_id}` = "mark-all-read"), but that is not a resource it serves."""
    from fastapi.routing import iter_route_contexts

    by_template: dict[str, set[str]] = {}
    for ctx in iter_route_contexts(app.routes):
        regex = getattr(ctx, "path_regex", None)
        if regex is not None and ctx.path and regex.match(path):
            by_template.setdefault(ctx.path, set()).update(ctx.methods or ())
    if not by_template:
        return []
    best = max(_specificity(t) for t in by_template)
    return sorted(set().union(*(m for t, m in by_template.items() if _specificity(t) == best)))


def infrastructure_error(exc: BaseException) -> AppError | None:
    """The envelope error for exceptions that are not bugs, whichever route raised them:
    - Postgres or Redis unreachable -> 503 with Retry-After (QStash retries, the SPA's next poll comes back);
    - a data exception from Postgres (SQLSTATE class 22: a value out of a column's range, a NUL character; or
      54000, a value too large for an index) -> 400: the request carried a value the schema cannot hold. The
      statement failed, so nothing was written by it."""
    from shared.db.outage import DatabaseUnavailable, is_outage
    from shared.errors import ServiceUnavailable, ValidationFailed
    from shared.redis_client import is_outage as redis_outage

    if is_outage(exc):
        return DatabaseUnavailable()
    if redis_outage(exc):
        return ServiceUnavailable("Redis is unreachable right now; try again shortly.", retry_after=5,
                                  details={"service": "redis"})
    import psycopg

    if isinstance(exc, (psycopg.DataError, psycopg.errors.ProgramLimitExceeded)):
        primary = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc).split("\n", 1)[0]
        return ValidationFailed(f"a value cannot be stored: {primary[:200]}",
                                details={"sqlstate": getattr(exc, "sqlstate", None)})
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError):
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=http_status(exc),
                            headers=http_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            msg = "request body is not valid JSON"
        else:
            msg = "request validation failed: " + "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return JSONResponse(error_body("VALIDATION_ERROR", msg, details), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "API_ERROR")
        msg = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").lower()
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; one route per method means the
            # Allow header would list one method. Name them all, from the most specific template.
            methods = allowed_methods(request.app, request.scope.get("path", ""))
            if request.method == "OPTIONS":  # RFC 9110 §9.3.7: OPTIONS answers what the resource allows
                return Response(status_code=204, headers={"Allow": ", ".join([*methods, "OPTIONS"])})
            headers["Allow"] = ", ".join(methods)
        return JSONResponse(error_body(code, msg, getattr(exc, "details", None)), status_code=exc.status_code,
                            headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        mapped = infrastructure_error(exc)
        if mapped is not None:  # an outage or a value the database refused: never a 500, never logged to the DB
            logger.warning("%s on %s %s: %s", mapped.code, request.method, request.url.path, type(exc).__name__)
            return JSONResponse(error_body(mapped.code, mapped.message, mapped.details),
                                status_code=http_status(mapped), headers=http_headers(mapped))
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        try:  # the owner reads the activity log, not the function logs: name the route and the error type only
            from shared import activity

            activity.log("api", "error", f"Unexpected {type(exc).__name__} on {request.method} {request.url.path}")
        except Exception:  # the database may be what failed
            logger.warning("could not record the error in the activity log")
        return JSONResponse(error_body("API_ERROR", "internal error"), status_code=500)


def _prepare_for(lazy: LazyRouters) -> Callable[[str], None]:
    """What the bearer gate does on the event loop while a worker reads the session state (a cold instance's
    first request: the worker imports psycopg and connects): load the routers the path needs, as LoadRoutersFor
    would right after, and import anyio's asyncio backend, which FastAPI needs to run a sync endpoint in a
    thread. Both are CPU work the request does anyway; here it overlaps the worker's waits on the database."""

    def prepare(path: str) -> None:
        lazy.load_for(path)
        importlib.import_module("anyio._backends._asyncio")  # what anyio.to_thread loads on its first call

    return prepare


def create_app(groups: list[str] | None = None) -> FastAPI:
    """The app serving the router groups named (all by default); their routers load on first use."""
    from shared.api.fastapi_compat import skip_pydantic_v1_probe
    from shared.api.lazy_routers import LazyFastAPI, LazyRouters, LoadRoutersFor
    from shared.config import get_config

    cfg = get_config()
    skip_pydantic_v1_probe()
    # httpx logs every request line at INFO, URL included: feed and platform URLs can carry keys or tokens
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app = LazyFastAPI(title="Screndly API", version="0.1.0", docs_url="/docs", openapi_url="/openapi.json",
                      redoc_url=None)
    served = [m for g in (groups or list(ROUTER_GROUPS)) for m in ROUTER_GROUPS[g]]
    lazy = LazyRouters(app, {m: ROUTER_PREFIXES[m] for m in served})
    install_error_handlers(app)
    from shared.api import openapi

    openapi.install(app)
    # the last added runs first: CORS -> no-store headers -> bearer gate -> body limit -> input guard -> the
    # routers the path needs are loaded -> routes
    app.add_middleware(LoadRoutersFor, lazy=lazy)
    app.add_middleware(InputGuard)
    app.add_middleware(BodySizeLimit, json_limit=cfg.max_json_body_bytes)
    app.add_middleware(BearerGate, while_reading_state=_prepare_for(lazy))
    app.add_middleware(NoStoreForApi)
    origins = [o.strip() for o in cfg.cors_origins.split(",") if o.strip()]
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        # Bearer tokens, no cookies: credentials stay off
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "X-Screndly-Version"],
                           expose_headers=["Retry-After"], max_age=600)
    from shared.usage.middleware import UsageMeter

    app.add_middleware(UsageMeter)  # outermost: each request is one billed invocation (shared/usage)
    app.lazy_routers = lazy
    return app
