"""POST /api/auth/login and /api/auth/verify: the only public /api routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.auth import login as login_service
from shared.auth.client_ip import client_id
from shared.config import get_config

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    password: str = Field(max_length=1024)


class VerifyBody(BaseModel):
    token: str = Field(max_length=8192)


@router.post("/login")
def login(body: LoginBody, request: Request):
    client = client_id(request.headers.get("x-forwarded-for"), request.client.host if request.client else None,
                       get_config().forwarded_for_trusted_hops)
    outcome = login_service.login(body.password, client)
    return JSONResponse(outcome.body, status_code=outcome.status, headers=outcome.headers)


@router.post("/verify")
def verify(body: VerifyBody):
    valid = login_service.token_is_valid(body.token)
    return {"success": True, "data": {"valid": valid}, "valid": valid}
