"""Session JWTs (HS256) for the single owner.

A token is bound to every secret that defines a session, so changing one ends every earlier session with no
state to look up: the JWT_SECRET signs it, and its `pwv` claim is a MAC of APP_PASSWORD_HASH (a new password,
hence a new hash, voids every token issued under the old one). Revocations the owner asks for (sign out here,
sign out everywhere) are state: shared/auth/sessions.py. `iatms` is the issue time in milliseconds, so a login
right after "sign out everywhere" is not caught by it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from shared.config import get_config


class TokenError(Exception):
    pass


def issue_session_token(now: float | None = None) -> tuple[str, int]:
    import jwt  # lazy: PyJWT pulls cryptography.x509 (~90 ms)

    cfg = get_config()
    now = now if now is not None else time.time()
    iat = int(now)
    exp = iat + cfg.jwt_expiry_hours * 3600
    token = jwt.encode(
        {"sub": "owner", "iat": iat, "iatms": int(now * 1000), "exp": exp, "jti": uuid.uuid4().hex,
         "typ": "session", "pwv": password_version()},
        cfg.jwt_secret,
        algorithm="HS256",
    )
    return token, exp


def password_version() -> str:
    cfg = get_config()
    return hmac.new(cfg.jwt_secret.encode(), b"password|" + cfg.app_password_hash.encode(),
                    hashlib.sha256).hexdigest()[:16]


def issued_ms(claims: dict) -> int:
    return int(claims.get("iatms") or int(claims.get("iat", 0)) * 1000)


def verify_session_token(token: str) -> dict:
    # the stdlib check, not PyJWT: verifying is on every request's path, PyJWT's import is not (shared/auth/hs256.py)
    from shared.auth import hs256

    cfg = get_config()
    try:
        claims = hs256.verify(token, cfg.jwt_secret)
    except hs256.ExpiredToken as exc:
        raise TokenError("token expired") from exc
    except hs256.InvalidToken as exc:
        raise TokenError("invalid token") from exc
    if claims.get("typ") != "session":
        raise TokenError("invalid token")
    if not hmac.compare_digest(str(claims.get("pwv", "")), password_version()):
        raise TokenError("session ended: the password changed")
    return claims
