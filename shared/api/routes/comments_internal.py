"""QStash-called comment route: the poll. An idle tick (nothing switched on, or not due) is answered from the
Redis switch alone: 1 command, no database, no run-once bookkeeping (a replayed idle tick does nothing anyway)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shared.api.envelope import ok
from shared.messaging.receiver import Delivery, run_once, verify_qstash

router = APIRouter(prefix="/api/internal/comments", tags=["internal"], include_in_schema=False)  # QStash only


@router.post("/poll")
def poll(delivery: Delivery = Depends(verify_qstash)):
    from shared.comments import switch

    gate = switch.gate()
    if not gate.run:
        return ok({"ran": False, "reason": gate.reason})
    from shared.comments import service

    return ok(run_once(delivery, lambda: {"ran": True, **service.poll().as_dict()}))
