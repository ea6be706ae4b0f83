"""Builds the FastAPI app: routers, the error envelope, body limits.

Routers are listed by module path and imported here, so a function entry can build an app with only the
groups it serves. Protected routers declare `dependencies=[Depends(require_auth)]` themselves, and
`BearerGate` closes every /api path but the public allow-list before routing; the route enumeration test (tests/test_foundation_route_auth.py) proves no /api route is left open by accident.
"""

from __future__ import annotations

import importlib
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.api.auth import BearerGate
from shared.api.errors import AppError, error_body, http_headers, http_status
from shared.api.headers import NoStoreForApi
from shared.api.limits import BodySizeLimit

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
    ],
    "rss": [
        "shared.api.routes.rss",
        "shared.api.routes.rss_internal",
        "shared.api.routes.ai_rss",
        "shared.api.routes.channels",
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


def _allowed_methods(app: FastAPI, scope) -> list[str]:
    from fastapi.routing import iter_route_contexts

    path = scope.get("path", "")
    methods: set[str] = set()
    for ctx in iter_route_contexts(app.routes):
        regex = getattr(ctx, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(ctx.methods or ())
    return sorted(methods)


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
            # Allow header would list one method. Name them all.
            headers["Allow"] = ", ".join(_allowed_methods(request.app, request.scope))
        return JSONResponse(error_body(code, msg, getattr(exc, "details", None)), status_code=exc.status_code,
                            headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        try:  # the owner reads the activity log, not the function logs: name the route and the error type only
            from shared import activity

            activity.log("api", "error", f"Unexpected {type(exc).__name__} on {request.method} {request.url.path}")
        except Exception:  # the database may be what failed
            logger.warning("could not record the error in the activity log")
        return JSONResponse(error_body("API_ERROR", "internal error"), status_code=500)


def create_app(groups: list[str] | None = None) -> FastAPI:
    from shared.config import get_config

    cfg = get_config()
    # httpx logs every request line at INFO, URL included: feed and platform URLs can carry keys or tokens
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app = FastAPI(title="Screndly API", version="0.1.0", docs_url="/docs", openapi_url="/openapi.json",
                  redoc_url=None)
    install_error_handlers(app)
    # the last added runs first: CORS -> no-store headers -> bearer gate -> body limit -> routes
    app.add_middleware(BodySizeLimit, json_limit=cfg.max_json_body_bytes)
    app.add_middleware(BearerGate)
    app.add_middleware(NoStoreForApi)
    origins = [o.strip() for o in cfg.cors_origins.split(",") if o.strip()]
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        # Bearer tokens, no cookies: credentials stay off
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "X-Screndly-Version"],
                           expose_headers=["Retry-After"], max_age=600)
    for group in groups or list(ROUTER_GROUPS):
        for mod in ROUTER_GROUPS[group]:
            app.include_router(importlib.import_module(mod).router)
    return app
