"""The one door every capability (RSS, TMDb, media) uses to publish. Its signature is the contract between
capabilities; behind it is the publishing engine (shared/publishing/engine).

Calling it twice with the same `idempotency_key` never posts twice: the second call returns the first one's
outcome (or `skipped` with details.state="publishing" while another worker is still on it). Safe to call from
several threads at once. Status meanings:
- published / dry_run: done (dry run: validated and recorded, nothing posted);
- failed: nothing was posted; `error` says why (details.kind: auth, content, not_connected, transient, ...) and
  details.provenAbsent/absentProof how we know (the structured "safe to post again");
- unconfirmed: the platform may have the post; the owner was notified; it will not be re-posted; it is re-checked
  with back-off (details.nextCheckAt) and becomes published or failed when a look-up can tell;
- scheduled: it will run later (scheduledAt, a rate-limit reset, a retry, or the platform is processing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

OutcomeStatus = Literal["published", "failed", "unconfirmed", "dry_run", "scheduled", "skipped"]


@dataclass(frozen=True)
class PublishRequest:
    idempotency_key: str  # stable per (content, platform), e.g. "rss:<feed_item_id>:x"
    platform: str  # normalised lower-case name: x, threads, facebook, instagram, instagram_reels, tiktok, ...
    content: dict[str, Any]  # the contract's content fields: text, title, link, imageUrls, videoUrl, ...
    source: str  # rss | tmdb | compose | media
    source_ref: str | None = None


@dataclass
class PublishOutcome:
    status: OutcomeStatus
    platform: str
    platform_post_id: str | None = None
    url: str | None = None
    error: str | None = None
    posted_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


def outcome_of(row: dict, platform: str, how: str = "existing") -> PublishOutcome:
    state = row.get("state")
    details: dict[str, Any] = {"publicationId": str(row.get("id")), "state": state, "attempts": row.get("attempts"),
                               "existing": how in ("existing", "busy")}
    if row.get("error_kind"):
        details["kind"] = row["error_kind"]
    progress = row.get("progress") or {}
    if progress.get("errorDetails"):
        details.update(progress["errorDetails"])
    if state == "published":
        if (progress.get("result") or {}).get("warnings"):
            details["warnings"] = progress["result"]["warnings"]
        return PublishOutcome("published", platform, row.get("platform_post_id"), row.get("url"),
                              posted_at=row.get("published_at"), details=details)
    if state == "dry_run":
        details["wouldPost"] = progress.get("wouldPost")
        skipped = (progress.get("wouldPost") or {}).get("skipped")
        if skipped:  # the account is not connected: nothing could have been posted, say why
            details["skipped"] = skipped
        return PublishOutcome("dry_run", platform, error=skipped, posted_at=row.get("published_at"), details=details)
    if state == "failed":
        # the structured "safe to post again": how we know nothing was posted (only such rows can be re-armed)
        details["provenAbsent"] = bool(row.get("absent_proof"))
        if row.get("absent_proof"):
            details["absentProof"] = row["absent_proof"]
        return PublishOutcome("failed", platform, error=row.get("last_error"), details=details)
    if state == "unconfirmed":
        if row.get("next_check_at"):
            details["nextCheckAt"] = row["next_check_at"].astimezone(timezone.utc).isoformat()
        return PublishOutcome("unconfirmed", platform, error=row.get("last_error") or "outcome unknown",
                              details=details)
    if state in ("planned", "staged"):  # staged: prepared in Redis to go out at its time (publishing/staging)
        if row.get("not_before"):
            details["scheduledAt"] = row["not_before"].astimezone(timezone.utc).isoformat()
        return PublishOutcome("scheduled", platform, error=row.get("last_error"), details=details)
    return PublishOutcome("skipped", platform, error="another worker is publishing this right now",
                          details=details)


def publish(request: PublishRequest) -> PublishOutcome:
    from shared.publishing.engine.service import submit
    from shared.publishing.platforms import UnknownPlatform

    try:
        # a failure that posted nothing and may clear up (account connected later, platform back) is run
        # again by a repeated request; content failures and unconfirmed posts are answered from the record
        row, how = submit(key=request.idempotency_key, platform=request.platform, content=request.content,
                          source=request.source, source_ref=request.source_ref,
                          retry_failed_kinds=("not_connected", "auth", "transient"))
    except UnknownPlatform as exc:
        return PublishOutcome("failed", request.platform, error=str(exc), details={"kind": "content"})
    except ValueError as exc:  # e.g. an unreadable scheduledAt
        return PublishOutcome("failed", request.platform, error=str(exc), details={"kind": "content"})
    if row.get("state") == "publishing" and how == "ran":
        out = outcome_of(row, request.platform, how)
        out.status = "scheduled"  # accepted, the platform is processing it; a delayed check settles it
        out.error = None
        out.details["processing"] = True
        return out
    return outcome_of(row, request.platform, how)


def prepare(request: PublishRequest, at: datetime) -> tuple[dict, bool] | None:
    """Create the publication ahead of its slot under the request's idempotency key: `planned` for `at`, not run
    and not scheduled (its carrier runs it: a pre-staged send, or a later `publish` with the same key, which finds
    this row and never creates a second one). Returns (publication row, created); None in dry-run mode."""
    from shared.publishing.engine.service import prepare as _prepare

    return _prepare(key=request.idempotency_key, platform=request.platform, content=request.content,
                    source=request.source, source_ref=request.source_ref, at=at)


def drop_planned(publication_ids: list[str], conn=None) -> set[str]:
    """Delete publications prepared ahead that are still `planned` (nothing was sent); returns those deleted."""
    from shared.publishing.engine.publications import drop_planned as _drop

    return _drop(publication_ids, conn)


def keep_at_slot(publication_id: str) -> None:
    """A prepared publication whose carrier was taken away (an owner's change that then failed): a run message
    at its slot runs it on the database path, so it is neither lost nor late."""
    from shared.publishing.engine import publications as pubs
    from shared.publishing.engine.runner import schedule_run

    row = pubs.get(publication_id)
    if row is not None and row.get("state") == "planned" and row.get("not_before") is not None:
        schedule_run(row, row["not_before"], "its carrier was withdrawn")
