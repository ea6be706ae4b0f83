"""Session JWTs (HS256) for the single owner."""

from __future__ import annotations

import time
import uuid

from shared.config import get_config


class TokenError(Exception):
    pass


def issue_session_token(now: float | None = None) -> tuple[str, int]:
    import jwt  # lazy: PyJWT pulls cryptography.x509 (~90 ms)

    cfg = get_config()
    iat = int(now if now is not None else time.time())
    exp = iat + cfg.jwt_expiry_hours * 3600
    token = jwt.encode(
        {"sub": "owner", "iat": iat, "exp": exp, "jti": uuid.uuid4().hex, "typ": "session"},
        cfg.jwt_secret,
        algorithm="HS256",
    )
    return token, exp


def verify_session_token(token: str) -> dict:
    import jwt

    cfg = get_config()
    try:
        claims = jwt.decode(token, cfg.jwt_secret, algorithms=["HS256"], options={"require": ["exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid token") from exc
    if claims.get("typ") != "session":
        raise TokenError("invalid token")
    return claims
