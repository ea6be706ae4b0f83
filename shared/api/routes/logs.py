"""GET /api/logs?limit=50&service=&level= (contract §1.8), refreshed every 60 s."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shared.api.auth import require_auth
from shared.api.envelope import ok_response
from shared.api.errors import ValidationFailed
from shared.services import logs as service

router = APIRouter(prefix="/api/logs", tags=["logs"], dependencies=[Depends(require_auth)])


@router.get("", summary="List activity log entries")
def list_logs(limit: int = Query(50, ge=1, le=500), service_name: str | None = Query(None, alias="service",
              max_length=64), level: str | None = Query(None, max_length=16)):
    lv = service.normalise_level(level)
    if lv is not None and lv not in service.LEVELS:
        raise ValidationFailed(f"level must be one of {', '.join(service.LEVELS)}", details={"level": level})
    return ok_response(service.list_logs(limit, service_name or None, lv))
