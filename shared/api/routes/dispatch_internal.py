"""POST /api/internal/dispatch: the dispatcher's wake-up (QStash-called; see shared/scheduling/dispatch.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shared.api.envelope import ok
from shared.messaging.receiver import Delivery, run_once, verify_qstash

router = APIRouter(prefix="/api/internal", tags=["internal"], include_in_schema=False)  # QStash only: not in /docs


@router.post("/dispatch")
def dispatch_tick(delivery: Delivery = Depends(verify_qstash)):
    from shared.scheduling import dispatch

    return ok(run_once(delivery, dispatch.tick))
