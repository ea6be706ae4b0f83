"""Settling posts whose outcome is not known yet, by looking them up: after a lost answer (by the sender that
holds the claim), and by checkers: the delayed check of a post the platform is processing, the take-over of
a claim whose lease expired (its worker died or stalled), the back-off re-checks of `unconfirmed` posts.

A look-up answers one of four things (`Answer`):
- found: published (a late answer kept as evidence counts: the platform accepted our request);
- absent, with a proof: failed, "safe to post again" (the only state a re-arm accepts);
- processing: the platform is working on the post; a `publishing` row is parked and checked again soon;
- unknown: everything else (not found yet, look-up failed, a request of ours may still be in flight):
  `unconfirmed`, the owner told once, re-checked with back-off, never re-posted automatically.

A checker never sends (its lease refuses anything but `confirm` requests). The one exception to "look up
only" is a take-over of a row whose publishing request was never sent (`commit_sent` is written under the
claim token before that request, so a superseded worker can no longer send it): nothing can exist, so the
row goes back to `planned` and a new sender claim runs it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from shared import activity
from shared.config import get_config
from shared.publishing.adapters import get_adapter
from shared.publishing.adapters.base import Account, NotPublished, PostResult, PublishContext
from shared.publishing.engine import outcomes
from shared.publishing.engine import publications as pubs
from shared.publishing.engine.errors import (
    ClaimLost,
    PublishError,
    RateLimitedError,
    StillProcessing,
    TransientBeforeSend,
)
from shared.publishing.engine.lease import Lease

logger = logging.getLogger("screndly.publishing")

SETTLE_EARLY_SECONDS = 5.0  # a delayed settle message may arrive this much before the row's check is due


@dataclass
class RunResult:
    state: str
    publication: dict
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    kind: Literal["found", "absent", "processing", "unknown"]
    reason: str = ""
    result: PostResult | None = None
    proof: str | None = None


def evidence(pub_id: str) -> PostResult | None:
    """A post id a superseded worker got from the platform for this attempt (publications.late_results)."""
    row = pubs.get(pub_id)
    for item in reversed((row or {}).get("late_results") or []):
        if item.get("postId"):
            return PostResult(str(item["postId"]), item.get("url"), {"settledBy": "a late answer"})
    return None


def look(row: dict, ctx: PublishContext) -> Answer:
    found_late = evidence(str(row["id"]))
    if found_late is not None:
        return Answer("found", result=found_late)
    try:
        found = get_adapter(row["family"]).lookup(ctx)
    except StillProcessing as exc:
        return Answer("processing", exc.message)
    except ClaimLost:
        raise
    except PublishError as exc:
        return Answer("unknown", f"the look-up failed ({exc.message})")
    except Exception as exc:  # a look-up bug must not lose the unconfirmed state
        logger.exception("lookup for %s crashed", row["id"])
        return Answer("unknown", f"the look-up failed ({type(exc).__name__})")
    if isinstance(found, PostResult):
        return Answer("found", result=PostResult(found.post_id, found.url,
                                                 {"settledBy": "a look-up", **(found.details or {})}))
    if isinstance(found, NotPublished):
        proof = "platform_state" if ctx.progress.get("commit_sent") else "not_sent"
        return Answer("absent", found.reason, proof=proof)
    return Answer("unknown", "the platform does not show the post")


def apply(row: dict, lease: Lease, answer: Answer, reason: str, account: Account | None) -> dict:
    if answer.kind == "found" and answer.result is not None:
        return outcomes.published(row, lease, answer.result, account)
    if answer.kind == "absent":
        how = "the platform's state shows nothing was posted" if answer.proof == "platform_state" else \
            "the publishing request was never sent"
        return outcomes.failed(row, lease, "unknown",
                               f"{reason}; {how} ({answer.reason}). {outcomes.SAFE_TO_POST_AGAIN}",
                               answer.proof or "platform_state")
    if answer.kind == "processing" and row["state"] == "publishing" \
            and int(row.get("checks") or 0) < get_config().publish_settle_max_checks:
        return outcomes.parked(row, lease, answer.reason)
    if row["state"] == "unconfirmed":  # a re-check: keep the first reason, push the next check out
        return outcomes.unconfirmed(row, lease, row.get("last_error") or reason)
    if answer.kind == "processing":
        reason = f"{reason}; the platform never finished processing the post"
    return outcomes.unconfirmed(row, lease, f"{reason} ({answer.reason})" if answer.reason else reason)


def settle_by_lookup(row: dict, ctx: PublishContext, lease: Lease, reason: str, account: Account | None) -> dict:
    return apply(row, lease, look(row, ctx), reason, account)


# --- checkers ------------------------------------------------------------------------------------------

def _lease_seconds() -> float:
    return float(get_config().publish_lease_seconds)


def check(pub_id: str, early_seconds: float = 0.0) -> RunResult:
    """Claim the row as a checker (if it is due, or its holder's lease expired) and settle it by looking."""
    cfg = get_config()
    started = time.monotonic()
    row = pubs.claim_check(pub_id, _lease_seconds(), early_seconds)
    if row is None:
        current = pubs.get(pub_id)
        return RunResult(current["state"] if current else "missing", current or {}, {"claimed": False})
    lease = Lease(pub_id, str(row["claim_token"]), seconds=_lease_seconds(), role="checker", started=started,
                  send_margin=cfg.publish_http_timeout_seconds)
    with lease:
        try:
            settled, run_again = _check_claimed(row, lease)
        except ClaimLost as exc:
            logger.info("check of %s stopped: %s", pub_id, exc)
            current = pubs.get(pub_id) or row
            return RunResult(current["state"], current, {"claimLost": True})
    if run_again:
        from shared.publishing.engine.runner import run

        return run(pub_id)
    return RunResult(settled["state"], settled, {"tookOver": row.get("superseded") is not None})


def _check_claimed(row: dict, lease: Lease) -> tuple[dict, bool]:
    pub_id = str(row["id"])
    progress = row.get("progress") or {}
    if row.get("superseded") is not None:
        activity.log("publishing", "warn", f"took over a {row['platform']} publication whose worker stopped "
                     "(its lease expired); looking the post up, never re-sending it",
                     {"publicationId": pub_id, "platform": row["platform"],
                      "commitSent": bool(progress.get("commit_sent"))})
    if row["state"] == "publishing" and not progress.get("commit_sent"):
        released = pubs.release(pub_id, lease.token, outcomes.now(), "transient",
                                "the worker stopped before posting; running again")
        return released or pubs.get(pub_id) or row, released is not None
    if row["state"] == "publishing":
        reason = "the worker stopped after sending the post" if row.get("superseded") is not None else \
            "the platform was processing the post"
    else:
        reason = row.get("last_error") or "the post could not be confirmed"
    try:
        ctx, account = context_for_check(row, lease)
    except (TransientBeforeSend, RateLimitedError, StillProcessing) as exc:
        return apply(row, lease, Answer("processing", f"cannot look it up now: {exc.message}"), reason, None), False
    except PublishError as exc:
        return apply(row, lease, Answer("unknown", f"cannot look it up: {exc.message}"), reason, None), False
    return settle_by_lookup(row, ctx, lease, reason, account), False


def context_for_check(row: dict, lease: Lease) -> tuple[PublishContext, Account]:
    from shared.publishing.connections.refresh import ensure_fresh
    from shared.publishing.engine.content import resolve
    from shared.publishing.engine.runner import context, prefs
    from shared.publishing.media.urls import pullable

    conn = ensure_fresh(row["family"])
    account = Account(platform=conn.platform, account_id=conn.account_id, access_token=conn.access_token,
                      username=conn.username, metadata=conn.metadata, extra=conn.extra)
    content = resolve(row["platform"], dict(row["content"] or {}), prefs(row["family"]), pull=pullable)
    return context(row, account, content, lease), account


def settle(pub_id: str) -> RunResult:
    """The delayed check of a post the platform was processing (a QStash message; repeats are harmless:
    only one checker claims a due row, and a row that is not due is left alone)."""
    res = check(pub_id, early_seconds=SETTLE_EARLY_SECONDS)
    if res.details.get("claimed") is False:
        res.details["stale"] = True
    return res


def sweep_stuck(limit: int = 50, budget_seconds: float = 40.0) -> dict[str, int]:
    """The maintenance sweep: every row a checker should look at now (expired leases, due processing checks,
    due re-checks of unconfirmed posts), within a time budget that fits one function invocation (what is left
    stays due for the next tick). Counts by the state each ends in."""
    counts: Counter = Counter({"published": 0, "failed": 0, "unconfirmed": 0})
    deadline = time.monotonic() + budget_seconds
    for r in pubs.due_for_check(limit):
        if time.monotonic() > deadline:
            break
        res = check(str(r["id"]))
        if res.details.get("claimed") is False:
            continue
        counts[res.state] += 1
    return dict(counts)


def run_overdue(grace_seconds: float = 600, limit: int = 20) -> int:
    """Planned rows whose QStash message never arrived (publish failed, message lost): run them now."""
    from shared.publishing.engine.runner import run

    n = 0
    for r in pubs.overdue_planned(grace_seconds, limit):
        run(str(r["id"]))
        n += 1
    return n
