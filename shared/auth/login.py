"""POST /api/auth/login and /api/auth/verify.

Login keeps the frontend's exact shape: `{success:true, token}` or `{success:false, error:"<string>",
remainingAttempts}` (plus `code`/`message`, which the api client also reads). "Server configuration error" is
a magic string the frontend checks before falling back to its dev password: keep it verbatim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from shared import activity
from shared.auth import lockout, sessions
from shared.config import get_config
from shared.security.passwords import hash_is_usable, verify_password
from shared.security.tokens import TokenError, issue_session_token, verify_session_token

SERVER_CONFIGURATION_ERROR = "Server configuration error"
logger = logging.getLogger("screndly.auth")


@dataclass
class LoginOutcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _failure(status: int, code: str, error: str, **extra: Any) -> LoginOutcome:
    return LoginOutcome(status, {"success": False, "error": error, "code": code, "message": error, **extra})


def login(password: str, client: str) -> LoginOutcome:
    cfg = get_config()
    if not hash_is_usable(cfg.app_password_hash) or not cfg.jwt_secret:
        _record("error", "Login refused: APP_PASSWORD_HASH (an argon2 hash) or JWT_SECRET is not configured", {})
        return _failure(500, "API_ERROR", SERVER_CONFIGURATION_ERROR)

    try:
        gate = lockout.count_attempt(client, max_attempts=cfg.login_max_attempts,
                                     window_seconds=cfg.login_window_seconds)
    except Exception as exc:  # fail closed: without the counter there is no lockout, so no password check
        _record("error", "Login refused: the attempt counter (Redis) is unreachable", {"error": type(exc).__name__})
        out = _failure(503, "SERVICE_UNAVAILABLE", "Login is temporarily unavailable. Try again in a minute.")
        out.headers["Retry-After"] = "60"
        return out
    if not gate.allowed:
        minutes = max(1, round(gate.retry_after / 60))
        out = _failure(429, "RATE_LIMIT_EXCEEDED",
                       f"Too many failed login attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                       remainingAttempts=0, retryAfter=gate.retry_after)
        out.headers["Retry-After"] = str(gate.retry_after)
        return out

    if gate.attack_started:
        _record("warn", "Login slowed down: many attempts from many addresses",
                {"attemptsBeforeSlowdown": lockout.GLOBAL_FREE},
                notify=("Login under attack", ("Many login attempts from many addresses in the last "
                        f"{cfg.login_window_seconds // 60} minutes; every attempt is now slowed down. Your own "
                        "login still works. A long password is what keeps them out.")))
    lockout.wait(gate.delay)

    if not verify_password(password, cfg.app_password_hash):
        if gate.remaining == 0:
            _record("warn", "Login locked after repeated failures", {"client": client},
                    notify=("Login locked", (f"{cfg.login_max_attempts} wrong passwords from {client}; login from "
                            f"there is locked for {cfg.login_window_seconds // 60} minutes.")))
        return _failure(401, "UNAUTHORIZED", "Invalid password", remainingAttempts=gate.remaining)

    try:
        lockout.clear(client)
    except Exception:  # the counter expires on its own; a Redis blip must not refuse the right password
        pass
    token, exp = issue_session_token()
    _record("info", "Signed in", {"client": client})
    return LoginOutcome(200, {"success": True, "token": token, "expiresAt": exp})


def _record(level, message: str, metadata: dict, notify: tuple[str, str] | None = None) -> None:
    """Login needs Redis, not Postgres: when the database is down the entry goes to the function log instead
    of failing (or delaying) the login."""
    from shared.errors import ServiceUnavailable

    try:
        activity.log("auth", level, message, metadata)
        if notify:
            activity.notify("warning", notify[0], notify[1], source="system")
    except ServiceUnavailable:
        logger.warning("auth %s: %s %s (activity log unavailable)", level, message, metadata)


def token_is_valid(token: str) -> bool:
    try:
        sessions.check(verify_session_token(token))
        return True
    except TokenError:
        return False
