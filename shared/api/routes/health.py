"""GET /health: Postgres, Redis and storage each answer, or 503 says which did not."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shared.services import health as health_service

router = APIRouter()


@router.get("/health", tags=["system"], summary="Check Postgres, Redis and storage")
def health():
    report = health_service.check_all()
    status = 200 if report["status"] == "healthy" else 503
    return JSONResponse(report, status_code=status)
