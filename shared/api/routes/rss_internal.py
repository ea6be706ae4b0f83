"""QStash-called RSS routes: the safety-net tick, fanned-out fetch chunks, and (older) delayed post deliveries."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends

from shared.api.envelope import ok
from shared.api.errors import ValidationFailed
from shared.messaging.receiver import Delivery, run_once, verify_qstash

router = APIRouter(prefix="/api/internal/rss", tags=["internal"], include_in_schema=False)  # QStash only: not in /docs


@router.post("/tick")
def tick(delivery: Delivery = Depends(verify_qstash)):
    """The hourly safety-net schedule: a dispatcher tick (feed checks, windows, due posts: see
    shared/scheduling/dispatch.py); between its firings the dispatcher arms its own wake-ups."""
    from shared.scheduling import dispatch

    return ok(run_once(delivery, dispatch.tick))


@router.post("/fetch")
def fetch_chunk(delivery: Delivery = Depends(verify_qstash)):
    from shared.rss import poller

    body = delivery.json() or {}
    ids = body.get("feedIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationFailed("feedIds must be a list of ids")
    return ok(run_once(delivery, lambda: asyncio.run(poller.tick(feed_ids=ids)).as_dict()))


@router.post("/publish")
def publish(delivery: Delivery = Depends(verify_qstash)):
    from shared.rss import queue

    body = delivery.json() or {}
    pid, version = body.get("plannedPostId"), body.get("version")
    if not isinstance(pid, str) or not isinstance(version, int):
        raise ValidationFailed("plannedPostId (string) and version (integer) are required")
    return ok(run_once(delivery, lambda: queue.deliver(pid, version)))
