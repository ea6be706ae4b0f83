"""The HTTP side of the domain errors (`shared/errors.py`): each class's status, its headers, the envelope.

Handlers turn them into `{success:false, error:{code, message, details}}`. Routers may import the error classes
from here or from `shared.errors`; domain modules import them from `shared.errors` only.
"""

from __future__ import annotations

from typing import Any

from shared.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UpstreamError,
    ValidationFailed,
)

__all__ = ["AppError", "Conflict", "Forbidden", "NotFound", "PayloadTooLarge", "RateLimited",
           "ServiceUnavailable", "Unauthorized", "UpstreamError", "ValidationFailed", "error_body",
           "http_headers", "http_status"]

# most specific first is not needed: the class's own MRO is walked, nearest match wins
_STATUS: dict[type[AppError], int] = {
    ValidationFailed: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    RateLimited: 429,
    UpstreamError: 502,
    ServiceUnavailable: 503,
}


def http_status(exc: AppError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def http_headers(exc: AppError) -> dict[str, str]:
    if exc.retry_after is None:
        return {}
    return {"Retry-After": str(max(1, int(exc.retry_after + 0.999)))}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"success": False, "error": err}
