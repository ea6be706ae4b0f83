"""The holder's settles: one fenced write each (publications.py), its activity-log line, the owner's
notification and the settle listeners.

A write that finds the claim gone means this worker was superseded (its lease expired and a checker took the
row over). Its answer is then evidence, never a state change: a post id goes to `late_results` and the log,
and an unconfirmed row it concerns is checked at once by a fresh checker claim, which settles it from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from shared import activity
from shared.config import get_config
from shared.publishing.adapters.base import Account, PostResult
from shared.publishing.engine import listeners
from shared.publishing.engine import publications as pubs
from shared.publishing.engine.lease import Lease
from shared.publishing.platforms import DISPLAY

MAX_RECHECKS = 10  # 1 h, 2 h, 4 h, 8 h, 16 h, then daily: about a week of re-checks, then it stays unconfirmed
SAFE_TO_POST_AGAIN = "Safe to post again."  # words for the owner; code reads `absent_proof` / provenAbsent


def now() -> datetime:
    return datetime.now(timezone.utc)


def display(row: dict) -> str:
    return DISPLAY.get(row["family"], row["family"])


def _ids(row: dict) -> dict[str, Any]:
    return {"publicationId": str(row["id"]), "platform": row["platform"], "source": row["source"]}


def _superseded(row: dict, lease: Lease, what: str) -> dict:
    """Our claim is gone: say so, move nothing, and hand back the row as it is now."""
    current = pubs.get(str(row["id"])) or row
    activity.log("publishing", "info", f"a worker that had lost its claim on a {row['platform']} publication "
                 f"finished ({what}); not recorded: the publication is {current['state']}",
                 {**_ids(row), "superseded": True, "role": lease.role})
    return current


def published(row: dict, lease: Lease, result: PostResult, account: Account | None,
              follow_up: bool = True) -> dict:
    from shared.db import connection

    pub_id = str(row["id"])
    with connection() as c:  # one checkout for the settle, the last-post stamp and the log line
        settled = pubs.settle_published(pub_id, lease.token, result.post_id, result.url, result.details, conn=c)
        if account is not None and account.account_id != "dry-run":
            c.execute("UPDATE platform_connections SET last_post_at=now() WHERE platform=%s", (row["family"],))
        if settled is not None:
            how = (result.details or {}).get("settledBy")
            activity.log("publishing", "info", f"published to {row['platform']}" + (f" (found by {how})" if how
                                                                                   else ""),
                         {**_ids(row), "postId": result.post_id, "url": result.url,
                          **({"warnings": result.details.get("warnings")} if result.details.get("warnings")
                             else {})}, conn=c)
    if settled is not None:
        listeners.settled(settled)  # committed: the connection autocommits
        return settled
    return late_result(row, lease, result, follow_up)


def late_result(row: dict, lease: Lease, result: PostResult, follow_up: bool = True) -> dict:
    """The platform accepted a post this worker sent, but the row is no longer ours: keep the post id as
    evidence, and let a checker (a fresh claim) settle the row from it."""
    pub_id = str(row["id"])
    current = pubs.record_late_result(pub_id, lease.token, {"postId": result.post_id, "url": result.url,
                                                            "at": now().isoformat(), "role": lease.role})
    state = (current or row)["state"]
    activity.log("publishing", "warn", f"{row['platform']} accepted post {result.post_id} from a worker that had "
                 f"lost its claim; kept as evidence (the publication is {state})",
                 {**_ids(row), "postId": result.post_id, "url": result.url, "evidence": True})
    if follow_up and current is not None and current["state"] == "unconfirmed":
        from shared.publishing.engine.checks import check

        return check(pub_id).publication or current
    return current or row


def failed(row: dict, lease: Lease, kind: str, message: str, proof: str, details: dict | None = None) -> dict:
    """Nothing was posted, and `proof` says how we know (publications.PROOFS)."""
    from shared.db import connection

    with connection() as c:
        settled = pubs.settle_failed(str(row["id"]), lease.token, kind, message, proof, details, conn=c)
        if settled is not None:
            activity.log("publishing", "error" if kind != "content" else "warn",
                         f"publishing to {row['platform']} failed ({kind}): {message}",
                         {**_ids(row), "kind": kind, "absentProof": proof,
                          **({"details": details} if details else {})}, conn=c)
    if settled is None:
        return _superseded(row, lease, f"failed: {message}")
    listeners.settled(settled)
    return settled


def next_recheck(rechecks: int) -> datetime | None:
    """When an unconfirmed post is looked up again, after `rechecks` re-checks so far (None: stop)."""
    if rechecks >= MAX_RECHECKS:
        return None
    base = get_config().publish_recheck_base_seconds
    return now() + timedelta(seconds=base * min(2 ** rechecks, 24))


def unconfirmed(row: dict, lease: Lease, message: str) -> dict:
    """We cannot tell whether the post exists. The owner is told once, in the same transaction as the state
    change (a worker killed in between cannot leave an unconfirmed post nobody was told about); a checker
    looks again later."""
    from shared.db import transaction

    rechecks = 0 if row["state"] == "publishing" else int(row.get("checks") or 0)
    with transaction() as c:
        settled = pubs.settle_unconfirmed(str(row["id"]), lease.token, message, next_recheck(rechecks), conn=c)
        if settled is not None:
            if row["state"] == "publishing":
                activity.log("publishing", "warn", f"post to {row['platform']} is unconfirmed: {message}",
                             {**_ids(row), "nextCheckAt": settled["next_check_at"].isoformat()
                              if settled["next_check_at"] else None}, conn=c)
            if not settled["notified"]:
                notify_unconfirmed(row, message, conn=c)
    if settled is None:
        return _superseded(row, lease, f"unconfirmed: {message}")
    listeners.settled(settled)
    return settled


def notify_unconfirmed(row: dict, reason: str, conn=None) -> None:
    if pubs.mark_notified(str(row["id"]), conn=conn):
        activity.notify(
            "warning", f"Check your {display(row)} account",
            f"We could not confirm whether the post to {display(row)} went out ({reason}). Check the account "
            "before posting it again, to avoid a duplicate. We will not re-post it automatically; we keep "
            "looking for it (hours apart) and record what we find in the activity log.",
            source=row["source"] if row["source"] in ("rss", "tmdb", "comment") else "system",
            action_page="platforms", conn=conn)


def parked(row: dict, lease: Lease, message: str) -> dict:
    """The platform is processing the sent post: a checker looks again after the settle delay."""
    delay = get_config().publish_settle_delay_seconds
    settled = pubs.park(str(row["id"]), lease.token, now() + timedelta(seconds=delay), None)
    if settled is None:
        return _superseded(row, lease, f"still processing: {message}")
    schedule_settle(settled, delay)
    activity.log("publishing", "info", f"{row['platform']} is processing the post; checking again later",
                 {**_ids(row), "checks": settled["checks"]})
    return settled


def schedule_settle(row: dict, delay: float) -> None:
    """A delayed QStash message for the check; if it is lost, the maintenance sweep finds the row due."""
    from shared.messaging.publisher import OutgoingMessage, publish

    dedup = f"settle-{row['id']}-{row.get('attempts') or 0}-{row.get('checks') or 0}"
    try:
        publish(OutgoingMessage(path="/api/internal/publishing/settle", body={"publicationId": str(row["id"])},
                                delay_seconds=max(1, round(delay)), deduplication_id=dedup, retries=3))
    except Exception as exc:
        activity.log("publishing", "warn", f"could not schedule a status check for {row['id']}: {exc}",
                     {"publicationId": str(row["id"])})
