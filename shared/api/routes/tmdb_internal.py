"""QStash-called TMDb routes: the scheduled refreshes and delayed post deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shared.api.envelope import ok
from shared.api.errors import ValidationFailed
from shared.messaging.receiver import Delivery, run_once, verify_qstash

router = APIRouter(prefix="/api/internal/tmdb", tags=["internal"], include_in_schema=False)  # QStash only: not in /docs


@router.post("/refresh")
def refresh(delivery: Delivery = Depends(verify_qstash)):
    from shared.tmdb import service

    body = delivery.json() or {}
    trigger = str(body.get("trigger") or "scheduled")[:20]
    return ok(run_once(delivery, lambda: service.scheduled_refresh(trigger)))


@router.post("/publish")
def publish(delivery: Delivery = Depends(verify_qstash)):
    from shared.tmdb import delivery as tmdb_delivery

    body = delivery.json() or {}
    pid, version = body.get("postId"), body.get("version")
    if not isinstance(pid, str) or not isinstance(version, int):
        raise ValidationFailed("postId (string) and version (integer) are required")
    return ok(run_once(delivery, lambda: tmdb_delivery.deliver(pid, version)))
