"""Errors the domains raise for a caller to see, below every layer that uses them.

Domain code (rss, media, channels, publishing, settings, messaging ...) raises these; it never imports the HTTP
layer. `code` is the contract's machine-readable code (frontend-contract §0: VALIDATION_ERROR, NOT_FOUND ...);
the API maps each class to its HTTP status in `shared/api/errors.py`.
"""

from __future__ import annotations

import uuid
from typing import Any


class AppError(Exception):
    """An error whose message is meant for the owner. Unmapped subclasses answer as a 500 API_ERROR."""

    code = "API_ERROR"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.retry_after = retry_after
        if code:
            self.code = code


class ValidationFailed(AppError):
    code = "VALIDATION_ERROR"


class Unauthorized(AppError):
    code = "UNAUTHORIZED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class Conflict(AppError):
    code = "CONFLICT"


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"


class RateLimited(AppError):
    code = "RATE_LIMIT_EXCEEDED"

    def __init__(self, message: str, *, retry_after: float, details: Any = None):
        super().__init__(message, details=details, retry_after=retry_after)


class UpstreamError(AppError):
    """A dependency (platform API, storage, an AI or search provider) failed."""

    code = "API_ERROR"


class ServiceUnavailable(AppError):
    """Our own infrastructure (database, Redis) cannot answer right now; the caller should come back."""

    code = "SERVICE_UNAVAILABLE"


def uuid_or_not_found(value: str, what: str = "resource") -> str:
    """Our ids are UUIDs: anything else names nothing, so it is not found, never a database type error."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise NotFound(f"{what} not found") from exc
