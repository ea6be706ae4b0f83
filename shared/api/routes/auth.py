"""POST /api/auth/login and /api/auth/verify (the only public /api routes), /logout and /logout-all."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared import activity
from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.api.errors import ValidationFailed
from shared.auth import client_ip, sessions
from shared.auth import login as login_service

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    password: str = Field(max_length=1024)


class VerifyBody(BaseModel):
    token: str = Field(max_length=8192)


@router.post("/login", summary="Log in with the password (get a token)")
def login(body: LoginBody, request: Request):
    """The owner's password for a session token. The answer keeps the SPA's shape: `{success: true, token,
    expiresAt}` with the token at the top level (not in `data`). Send it as `Authorization: Bearer <token>` on every
    other /api request; in these docs, paste it into **Authorize**. A wrong password answers 401 with
    `remainingAttempts`; after too many, 429 with `Retry-After`."""
    outcome = login_service.login(body.password, client_ip.from_request(request))
    return JSONResponse(outcome.body, status_code=outcome.status, headers=outcome.headers)


@router.post("/verify", summary="Check whether a token is still valid")
def verify(body: VerifyBody):
    """200 either way: `valid` says whether the token still opens the API (not expired, not signed out)."""
    valid = login_service.token_is_valid(body.token)
    return {"success": True, "data": {"valid": valid}, "valid": valid}


@router.post("/logout", summary="Sign out this session")
def logout(claims: dict = Depends(require_auth)):
    """Sign out this session: its token stops opening anything at once (other sessions stay signed in)."""
    if claims.get("sub") == "api-key":
        raise ValidationFailed("the static API key is not a session; remove API_KEY to revoke it")
    sessions.logout(claims)
    return ok({"signedOut": "this session"})


@router.post("/logout-all", summary="Sign out every session")
def logout_all(claims: dict = Depends(require_auth)):
    """Sign out everywhere: every token issued until now stops working (this one included)."""
    valid_after = sessions.logout_all()
    activity.log("auth", "warn", "Signed out everywhere", {"validAfterMs": valid_after})
    return ok({"signedOut": "every session", "validAfterMs": valid_after})
