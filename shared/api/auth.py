"""The Bearer check every protected route depends on: a session JWT, or the optional static API key."""

from __future__ import annotations

import hmac

from fastapi import Request

from shared.api.errors import Unauthorized
from shared.config import get_config
from shared.security.tokens import TokenError, verify_session_token


def require_auth(request: Request) -> dict:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or malformed Authorization header")
    token = token.strip()
    api_key = get_config().api_key
    if api_key and hmac.compare_digest(token.encode(), api_key.encode()):
        return {"sub": "api-key"}
    try:
        return verify_session_token(token)
    except TokenError as exc:
        raise Unauthorized(str(exc)) from exc
