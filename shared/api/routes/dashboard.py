"""The dashboard (contract §1.8): GET /api/dashboard/stats, /api/dashboard/system-stats,
GET /api/automation/status and GET /api/usage. Each answers from one or two aggregate queries, cached for a
few seconds in the warm instance, because the frontend polls them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shared.api.auth import require_auth
from shared.api.envelope import ok_response

router = APIRouter(tags=["dashboard"], dependencies=[Depends(require_auth)])


@router.get("/api/dashboard/stats", summary="Dashboard statistics")
def dashboard_stats():
    from shared.dashboard.stats import dashboard_stats as build

    return ok_response(build())


@router.get("/api/dashboard/system-stats", summary="System statistics for today")
def system_stats():
    from shared.dashboard.stats import system_stats as build

    return ok_response(build())


@router.get("/api/automation/status", summary="When each automation last ran and runs next")
def automation_status():
    from shared.dashboard.automation import status

    return ok_response(status())


@router.get("/api/usage", summary="Free-tier usage, projections and the budget governor")
def usage(fresh: bool = Query(False, description="skip the 30 s cache and fold Redis batches now")):
    from shared.usage.report import usage_report

    return ok_response(usage_report(fresh=fresh))
