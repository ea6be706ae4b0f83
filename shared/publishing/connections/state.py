"""The OAuth `state`: a signed (HS256), expiring JWT carrying {platform, codeVerifier, nonce, redirectUri}.

The SPA decodes it without verifying to recover the platform and verifier (frontend-contract §1.3). We verify
signature, expiry and audience, and the nonce is single-use: issuing stores it in Redis with the flow's TTL,
the callback deletes it atomically (GETDEL), so a replayed or never-issued state is refused. The PKCE verifier
we use is the one stored with the nonce, never one taken from the request body.
"""

from __future__ import annotations

import json
import secrets
import time

import jwt

from shared.config import get_config

STATE_TTL_SECONDS = 600
_AUDIENCE = "screndly:oauth-state"


class StateError(Exception):
    pass


def _secret() -> str:
    secret = get_config().jwt_secret
    if not secret:
        raise StateError("JWT_SECRET is not set")
    return secret


def issue_state(platform: str, verifier: str, redirect_uri: str, *, now: float | None = None) -> str:
    from shared.redis_client import get_redis

    now = time.time() if now is None else now
    nonce = secrets.token_urlsafe(24)
    claims = {"platform": platform, "codeVerifier": verifier, "nonce": nonce, "redirectUri": redirect_uri,
              "iat": int(now), "exp": int(now) + STATE_TTL_SECONDS, "aud": _AUDIENCE}
    get_redis().set(f"oauth:nonce:{nonce}", json.dumps({"platform": platform, "verifier": verifier,
                                                        "redirectUri": redirect_uri}), ex=STATE_TTL_SECONDS)
    return jwt.encode(claims, _secret(), algorithm="HS256")


def consume_state(state: str | None) -> dict:
    """Verify and burn a state. Returns {platform, verifier, redirectUri}."""
    if not state:
        raise StateError("missing OAuth state")
    try:
        claims = jwt.decode(state, _secret(), algorithms=["HS256"], audience=_AUDIENCE,
                            options={"require": ["exp", "iat", "nonce", "platform"]})
    except jwt.ExpiredSignatureError as exc:
        raise StateError("the OAuth state has expired; start the connection again") from exc
    except jwt.PyJWTError as exc:
        raise StateError("the OAuth state is not valid") from exc
    from shared.redis_client import get_redis

    stored = get_redis().getdel(f"oauth:nonce:{claims['nonce']}")
    if not stored:
        raise StateError("the OAuth state was already used or was never issued")
    data = json.loads(stored)
    if data.get("platform") != claims["platform"]:
        raise StateError("the OAuth state is not valid")
    return {"platform": claims["platform"], "verifier": data["verifier"], "redirectUri": data["redirectUri"]}
