"""Health, login and sessions, settings, notifications, logs (the core router group)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.api.schemas.base import Count, Deleted, Envelope, NotificationText


# --- health --------------------------------------------------------------------------------------------------------
class DependencyCheck(BaseModel):
    status: Literal["ok", "error"]
    latencyMs: float | None = Field(default=None, description="when it answered")
    error: str | None = Field(default=None, description="why it did not (never a credential)")


class HealthWarning(BaseModel):
    """Something that still works but will stop, e.g. the Meta Graph API version nearing its end of life."""
    code: str
    message: str
    version: str | None = None
    endOfLife: str | None = None
    daysLeft: int | None = None
    see: str | None = None


class Health(BaseModel):
    """200 when Postgres, Redis and storage all answer; 503 (same body) naming the ones that did not."""
    status: Literal["healthy", "unhealthy"]
    timestamp: datetime
    uptime: float = Field(description="seconds since this instance started")
    checks: dict[str, DependencyCheck] = Field(description="database, redis, storage")
    failed: list[str] | None = Field(default=None, description="the checks that failed, when any did")
    warnings: list[HealthWarning] | None = None


# --- auth ----------------------------------------------------------------------------------------------------------
class LoginSuccess(BaseModel):
    """The token sits at the top level, not in `data` (frontend-contract §1.1): send it as `Authorization: Bearer
    <token>` (the Authorize button of /docs takes it as it is)."""
    success: Literal[True]
    token: str = Field(description="a session JWT")
    expiresAt: int = Field(description="when the token expires (Unix seconds)")


class LoginFailure(BaseModel):
    """The SPA's own failure shape: `error` is the message string (frontend-contract §1.1)."""
    success: Literal[False]
    error: str = Field(examples=["Invalid password"])
    code: str = Field(examples=["UNAUTHORIZED"])
    message: str
    remainingAttempts: int | None = Field(default=None, description="wrong passwords left before the lockout")
    retryAfter: int | None = Field(default=None, description="seconds until this address may try again (429)")


class TokenValidity(BaseModel):
    valid: bool


class VerifyAnswer(BaseModel):
    """`valid` twice: in `data` for our envelope, at the top level where the SPA reads it."""
    success: Literal[True]
    data: TokenValidity
    valid: bool


class SignedOut(BaseModel):
    signedOut: Literal["this session"]


class SignedOutEverywhere(BaseModel):
    signedOut: Literal["every session"]
    validAfterMs: int = Field(description="tokens issued before this instant (Unix ms) no longer open anything")


# --- settings ------------------------------------------------------------------------------------------------------
class SettingsReadMeta(BaseModel):
    undecryptableKeys: list[str] = Field(description="secrets that no longer decrypt (read as \"\"): enter them again")


class SettingsRead(BaseModel):
    """Every setting, stored values over defaults; secrets masked (first 4 + `••••` + last 4)."""
    success: Literal[True]
    data: dict[str, Any] = Field(description="flat key -> value (frontend-contract §4)")
    meta: SettingsReadMeta | None = None


class SettingsSavedMeta(NotificationText):
    changedKeys: list[str]
    ignoredMaskedKeys: list[str] | None = Field(default=None, description="masks echoed back: left unchanged")


class SettingsSaved(BaseModel):
    success: Literal[True]
    data: dict[str, Any] = Field(description="the saved keys' values, as GET shows them")
    meta: SettingsSavedMeta


class Reset(BaseModel):
    reset: Literal[True]
    removedKeys: int


class SettingsReset(BaseModel):
    success: Literal[True]
    data: Reset
    meta: NotificationText


# --- notifications and logs ----------------------------------------------------------------------------------------
class Notification(BaseModel):
    """A notification, newest first (frontend-contract §1.8)."""
    id: str
    type: Literal["success", "error", "info", "warning"]
    title: str
    message: str
    timestamp: datetime
    createdAt: datetime = Field(description="the same instant as `timestamp` (the SPA reads either)")
    read: bool
    source: str = Field(description="upload, rss, tmdb, videostudio, create_studio, system, design_studio, youtube, "
                                    "comment, ...")
    actionPage: str | None


class Updated(BaseModel):
    updated: int = Field(description="how many changed")


class LogEntry(BaseModel):
    """An activity log entry, newest first."""
    id: str
    timestamp: datetime
    level: Literal["debug", "info", "warn", "error"]
    message: str
    service: str
    metadata: dict[str, Any] | None


RESPONSES: dict[str, Any] = {
    "GET /health": Health,
    "POST /api/auth/login": LoginSuccess,
    "POST /api/auth/verify": VerifyAnswer,
    "POST /api/auth/logout": Envelope[SignedOut],
    "POST /api/auth/logout-all": Envelope[SignedOutEverywhere],
    "GET /api/settings": SettingsRead,
    "PUT /api/settings": SettingsSaved,
    "DELETE /api/settings": SettingsReset,
    "GET /api/notifications": Envelope[list[Notification]],
    "POST /api/notifications": Envelope[Notification],
    "POST /api/notifications/mark-all-read": Envelope[Updated],
    "PUT /api/notifications/{notification_id}": Envelope[Notification],
    "DELETE /api/notifications/{notification_id}": Envelope[Deleted],
    "DELETE /api/notifications": Envelope[Count],
    "GET /api/logs": Envelope[list[LogEntry]],
}

# error answers that are not the standard envelope: status -> (model, description); the others are ErrorEnvelope
ERRORS: dict[str, dict[str, tuple[Any, str]]] = {
    "POST /api/auth/login": {
        "401": (LoginFailure, "Wrong password (`remainingAttempts` says how many are left before the lockout)"),
        "429": (LoginFailure, "Too many failed attempts from this address (Retry-After says when to come back)"),
        "500": (LoginFailure, ("`Server configuration error`: APP_PASSWORD_HASH or JWT_SECRET is not set (the SPA "
                               "then offers its dev password)")),
        "503": (LoginFailure, "The attempt counter (Redis) is unreachable: login is refused until it answers"),
    },
    "GET /health": {"503": (Health, "A dependency did not answer: `failed` names it")},
}
