"""POST /api/internal/cleanup: the daily cleanup, called by its QStash schedule (shared/messaging/schedules.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shared.api.envelope import ok
from shared.messaging.receiver import Delivery, run_once, verify_qstash

router = APIRouter(prefix="/api/internal", tags=["internal"], include_in_schema=False)  # QStash only: not in /docs


@router.post("/cleanup")
def cleanup(delivery: Delivery = Depends(verify_qstash)):
    from shared.maintenance.cleanup import run_cleanup

    return ok(run_once(delivery, run_cleanup))
