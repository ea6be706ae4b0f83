"""What went wrong, in the five kinds the engine acts on (field-notes §1.1, §1.2).

- AuthFailed: the token is refused -> mark the connection "needs reconnect", no retry.
- BadContent: the platform refuses this post -> permanent failure, with the platform's reason.
- RateLimitedError: remember the reset time (per account and per platform) and run again after it.
- TransientBeforeSend: the request never reached the platform (or reached only a step that publishes
  nothing) -> retry with backoff.
- OutcomeUnknown: the publishing request may have been received -> `unconfirmed`, never re-posted blindly.
- StillProcessing: the platform accepted the post and is processing it -> settle later by looking it up.

`classify_http` and `classify_exception` are pure: a status, headers and body (or an exception) and the phase
of the request in, an error out. The phase matters: a 5xx while uploading a chunk publishes nothing and can be
retried; a 5xx answering the request that creates the post may hide a post that exists.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

Phase = Literal["prepare", "commit", "confirm"]
Kind = Literal["auth", "content", "rate_limited", "transient", "unknown", "processing", "not_connected"]


class PublishError(Exception):
    kind: Kind = "unknown"
    # set by the HTTP layer: which phase raised it and whether the request provably never left this process
    phase: str | None = None
    never_sent: bool = False

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or {}


class AuthFailed(PublishError):
    kind = "auth"


class BadContent(PublishError):
    kind = "content"


class RateLimitedError(PublishError):
    kind = "rate_limited"

    def __init__(self, message: str, *, reset_at: float, scope: Literal["account", "platform"] = "account",
                 **kw):
        super().__init__(message, **kw)
        self.reset_at = reset_at
        self.scope = scope


class TransientBeforeSend(PublishError):
    kind = "transient"


class OutcomeUnknown(PublishError):
    kind = "unknown"


class StillProcessing(PublishError):
    kind = "processing"


class NotConnected(PublishError):
    kind = "not_connected"


class ClaimLost(Exception):
    """Our claim on the publication was taken over (lease expired) before the post was sent: stop without
    sending; the new owner decides. Not a PublishError, so no adapter's error handling can swallow it."""


DEFAULT_RATE_LIMIT_WAIT = 15 * 60


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def rate_limit_reset(headers: Mapping[str, str], now: float | None = None) -> float:
    """The epoch second the limit lifts: x-rate-limit-reset (X, epoch), Retry-After (seconds),
    x-ratelimit-reset (seconds or epoch), Meta's estimated_time_to_regain_access (minutes); else 15 min."""
    now = time.time() if now is None else now
    h = {k.lower(): v for k, v in headers.items()}
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "x-app-rate-limit-reset"):
        v = _num(h.get(name))
        if v is not None:
            return v if v > 1e9 else now + v
    v = _num(h.get("retry-after"))
    if v is not None:
        return now + v
    import json

    for name in ("x-business-use-case-usage", "x-app-usage"):
        raw = h.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        minutes = _find_key(data, "estimated_time_to_regain_access")
        if minutes:
            return now + float(minutes) * 60
    return now + DEFAULT_RATE_LIMIT_WAIT


def _find_key(data: Any, key: str) -> Any:
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for v in data.values():
            found = _find_key(v, key)
            if found:
                return found
    if isinstance(data, list):
        for v in data:
            found = _find_key(v, key)
            if found:
                return found
    return None


def _message(body: Any, fallback: str) -> tuple[str, str | None]:
    """The platform's own words and code from its error body (X, Meta, TikTok, Google, Pinterest shapes)."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # Meta / TikTok / Google
            code = err.get("code")
            msg = err.get("message") or err.get("error_user_msg") or fallback
            sub = err.get("error_subcode")
            reason = None
            if isinstance(err.get("errors"), list) and err["errors"]:
                reason = err["errors"][0].get("reason")
            return str(msg), str(reason or (f"{code}/{sub}" if sub else code)) if code or reason else None
        if isinstance(err, str):
            return body.get("error_description") or err, err
        if body.get("detail") or body.get("title"):  # X v2 problem
            return str(body.get("detail") or body.get("title")), body.get("type") or body.get("title")
        if isinstance(body.get("errors"), list) and body["errors"]:
            e = body["errors"][0]
            return str(e.get("message") or e.get("detail") or fallback), str(e.get("code") or "") or None
        if body.get("message"):  # Pinterest
            return str(body["message"]), str(body.get("code")) if body.get("code") is not None else None
    return fallback, None


# Meta Graph error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
_META_AUTH = {102, 190, 463, 467}
_META_RATE = {4, 17, 32, 613, 80001, 80002, 80004}
_META_TRANSIENT = {1, 2}
_TIKTOK_AUTH = {"access_token_invalid", "scope_not_authorized", "token_not_authorized_for_specified_user"}
_TIKTOK_RATE = {"rate_limit_exceeded", "spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
                "reached_active_user_cap"}
_GOOGLE_RATE = {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded", "uploadLimitExceeded",
                "dailyLimitExceeded"}


def classify_http(status: int, headers: Mapping[str, str], body: Any, phase: Phase,
                  now: float | None = None) -> PublishError | None:
    """None for success; otherwise the error the engine should act on."""
    if 200 <= status < 300 or status == 308:
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = body["error"].get("code")
            if code not in (None, "ok", 0):  # TikTok reports errors inside 200 bodies
                return classify_http(400, headers, body, phase, now)
        return None
    msg, code = _message(body, f"HTTP {status}")
    meta_code = body.get("error", {}).get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) \
        else None
    kw: dict[str, Any] = {"status": status, "code": code}
    if status == 429 or (isinstance(meta_code, int) and meta_code in _META_RATE) or code in _TIKTOK_RATE \
            or code in _GOOGLE_RATE:
        return RateLimitedError(f"rate limited: {msg}", reset_at=rate_limit_reset(headers, now),
                                scope="platform" if meta_code in (4,) else "account", **kw)
    if status == 401 or (isinstance(meta_code, int) and meta_code in _META_AUTH) or code in _TIKTOK_AUTH:
        return AuthFailed(f"the platform refused our token: {msg}", **kw)
    if status >= 500 or (isinstance(meta_code, int) and meta_code in _META_TRANSIENT) or status == 408:
        if phase == "commit":
            return OutcomeUnknown(f"the platform answered {status} to the publishing request: {msg}", **kw)
        return TransientBeforeSend(f"platform error {status}: {msg}", **kw)
    if phase == "confirm":
        # a status check after the post was sent: its refusal says nothing about the post itself (it may
        # exist), so the engine must look it up, never record a failure that a later request would re-post
        return OutcomeUnknown(f"the status check after posting was refused ({status}): {msg}", **kw)
    return BadContent(msg, **kw)


def classify_exception(exc: BaseException, phase: Phase) -> PublishError:
    """Connection-level failures. Connect errors mean nothing reached the platform; a read timeout or a
    dropped connection after the request was written leaves the outcome unknown for a commit."""
    import httpx

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return TransientBeforeSend(f"could not reach the platform: {type(exc).__name__}")
    if phase == "commit":
        return OutcomeUnknown(f"lost the answer to the publishing request ({type(exc).__name__}); the post may "
                              "exist")
    return TransientBeforeSend(f"network error: {type(exc).__name__}")
