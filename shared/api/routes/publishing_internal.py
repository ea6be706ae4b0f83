"""QStash-called publishing routes: run a due publication, check on one the platform is processing, and the
maintenance sweep (shared/publishing/maintenance.py: stuck claims -> settled, overdue planned rows -> run, tokens
near expiry -> refreshed, then the pre-staged posts' write-back)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from shared.api.envelope import ok
from shared.messaging.receiver import Delivery, run_once, verify_qstash

router = APIRouter(prefix="/api/internal/publishing", tags=["internal"], include_in_schema=False)  # QStash only


def _pub_id(delivery: Delivery) -> str | None:
    body = delivery.json() or {}
    pid = body.get("publicationId") if isinstance(body, dict) else None
    return str(pid) if pid else None


@router.post("/run")
def run(delivery: Delivery = Depends(verify_qstash)):
    from shared.publishing.engine.runner import run as run_publication

    pid = _pub_id(delivery)
    if not pid:
        return ok({"ignored": "no publicationId"})
    # a stale or repeated message finds the row claimed, settled or not yet due: the claim refuses it
    res = run_once(delivery, lambda: _run(pid, run_publication))
    return ok(res)


def _run(pid: str, run_publication) -> dict:
    """A staged publication is sent from Redis (no database statement); one without a stage, or whose stage
    never became ready, runs on the database path (whose claim refuses a row that is still staged)."""
    from shared.config import get_config

    # off: neither the staged sender's import nor a Redis look-up; a stage made before it was turned off is still
    # sent by its dispatcher item (the drain, docs/architecture/usage.md)
    if get_config().publish_staging:
        from shared.publishing.staging.send import holds, send

        if holds(pid):
            verdict = send(pid)
            # past its grace ("late") a stage is never sent from Redis: the database path may run the row now (its
            # claim refuses a row that is still staged)
            if verdict not in ("missing", "pending", "late"):
                return {"state": "staged", "staged": verdict}
    return {"state": run_publication(pid).state}


@router.post("/settle")
def settle(delivery: Delivery = Depends(verify_qstash)):
    from shared.publishing.engine.runner import settle as settle_publication

    pid = _pub_id(delivery)
    if not pid:
        return ok({"ignored": "no publicationId"})
    return ok(run_once(delivery, lambda: {"state": settle_publication(pid).state}))


@router.post("/maintenance")
def maintenance(delivery: Delivery = Depends(verify_qstash)):
    from shared.publishing.maintenance import run as run_maintenance

    return ok(run_once(delivery, run_maintenance))
