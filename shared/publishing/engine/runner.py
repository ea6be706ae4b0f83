"""Run one publication as its sender: claim it (a lease with a heartbeat), check rate-limit memory, fresh
token, validate, call the adapter, settle. Every write goes through the claim token.

Only the worker whose claim UPDATE returned the row posts. Whatever happens after the platform may have
received the publishing request, the row never goes back to `planned`: it ends `published` (answer or
look-up), `failed` (with a proof that nothing was posted) or `unconfirmed` (we cannot tell; the owner is
notified and nothing is re-posted automatically). Checkers (checks.py) settle what a run leaves open.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from shared import activity
from shared.config import get_config
from shared.db.rows import one
from shared.publishing.adapters import get_adapter
from shared.publishing.adapters.base import Account, PublishContext, post_text
from shared.publishing.adapters.http import shared_client
from shared.publishing.engine import checks, listeners, outcomes, ratelimit
from shared.publishing.engine import publications as pubs

# the checkers' entry points, re-exported: the internal routes and the maintenance tick call them from here
from shared.publishing.engine.checks import RunResult, check, run_overdue, settle, sweep_stuck  # noqa: F401
from shared.publishing.engine.content import resolve, video_hints
from shared.publishing.engine.errors import (
    AuthFailed,
    BadContent,
    ClaimLost,
    NotConnected,
    OutcomeUnknown,
    PublishError,
    RateLimitedError,
    StillProcessing,
    TransientBeforeSend,
)
from shared.publishing.engine.lease import Lease, LeasedHttp

logger = logging.getLogger("screndly.publishing")

MAX_TRANSIENT_ATTEMPTS = 5


def _now() -> datetime:
    return datetime.now(timezone.utc)


def prefs(family: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    if settings is None:
        from shared.settings.store import read_setting

        settings = {"platformSettings": read_setting("platformSettings", {})}
    ps = settings.get("platformSettings") or {}
    return dict(ps.get(family) or {}) if isinstance(ps, dict) else {}


def _account_for(row: dict, dry_run: bool) -> Account:
    from shared.publishing.connections import store
    from shared.publishing.connections.refresh import ensure_fresh

    preloaded: store.Connection | Literal[False] | None = (
        store.from_row(row["_connection"]) if "_connection" in row else False)
    try:
        conn = ensure_fresh(row["family"], preloaded=preloaded)
    except NotConnected:
        if dry_run:  # still validated and recorded, but reported as skipped: nothing could have been posted
            return Account(platform=row["family"], account_id="dry-run", access_token="", metadata={
                "skipped": f"{outcomes.display(row)} is not connected: connect it in Platforms"})
        raise
    except AuthFailed as exc:
        if dry_run:
            return Account(platform=row["family"], account_id="dry-run", access_token="", metadata={
                "skipped": f"{outcomes.display(row)} needs to be reconnected: {exc.message}"})
        raise
    return Account(platform=conn.platform, account_id=conn.account_id, access_token=conn.access_token,
                   username=conn.username, metadata=conn.metadata, extra=conn.extra)


def _validate(row: dict, content, raw: dict, x_tier: str = "free") -> list[dict]:
    from shared.publishing.media.fetch import MediaFetcher
    from shared.publishing.media.probe import probe
    from shared.publishing.validation import PostDraft, validate

    problems: list[dict] = []
    images = []
    fetcher = MediaFetcher()
    for u in content.image_urls:
        facts, problem = probe(u, "image", fetcher=fetcher)
        images.append(facts)
        if problem:
            problems.append({"rule": f"{row['platform']}.media_unreachable", "message": problem})
    video = None
    if content.video_url:
        video, problem = probe(content.video_url, "video", video_hints(raw), fetcher)
        if problem:
            problems.append({"rule": f"{row['platform']}.media_unreachable", "message": problem})
    extra_videos = []
    for u in content.video_urls:  # an Instagram carousel's further videos
        facts, problem = probe(u, "video", None, fetcher)
        extra_videos.append(facts)
        if problem:
            problems.append({"rule": f"{row['platform']}.media_unreachable", "message": problem})
    tier = x_tier or "free"
    draft = PostDraft(target=row["platform"], text=post_text(row["platform"], content),
                      title=content.title, link=content.link, images=tuple(images), video=video,
                      extra_videos=tuple(extra_videos),
                      board_id=content.board_id, x_tier=tier, playlist_count=len(content.playlist_ids))
    return problems + [v.as_dict() for v in validate(draft)]


def context(row: dict, account: Account, content, lease: Lease) -> PublishContext:
    """The adapter's context: every request asks the lease first, every checkpoint is a fenced heartbeat."""
    cfg = get_config()

    def exhausted(reset_at: float) -> None:
        if account.account_id != "dry-run":
            ratelimit.remember(row["family"], account.account_id, reset_at, "account")

    http = LeasedHttp(shared_client(cfg.publish_http_timeout_seconds), token=account.access_token,
                      retry_base=cfg.publish_retry_base_seconds, on_exhausted=exhausted, lease=lease)
    return PublishContext(
        target=row["platform"], account=account, content=content, http=http,
        progress=dict(row.get("progress") or {}),
        checkpoint=lambda **values: lease.checkpoint(values),
        poll_interval=cfg.publish_poll_interval_seconds, poll_budget=cfg.publish_poll_budget_seconds,
        may_send=lease.role == "sender")


def schedule_run(row: dict, at: datetime, reason: str) -> None:
    """A delayed QStash message runs the publication at `at`; a message that arrives for a row that is no
    longer due (or no longer planned) does nothing."""
    from shared.messaging.publisher import OutgoingMessage, publish

    epoch = int(at.timestamp()) + 1
    try:
        publish(OutgoingMessage(path="/api/internal/publishing/run", body={"publicationId": str(row["id"])},
                                not_before=epoch, deduplication_id=f"pub-{row['id']}-{epoch}", retries=3))
    except Exception as exc:  # the maintenance sweep runs overdue planned rows, so nothing is lost
        activity.log("publishing", "warn", f"could not schedule publication {row['id']} ({reason}): {exc}",
                     {"publicationId": str(row["id"])})


def _release(row: dict, lease: Lease, at: datetime, kind: str, message: str, reason: str,
             progress: dict[str, Any] | None = None, **details: Any) -> RunResult:
    """Back to planned (nothing was sent, or the platform refused it), with a delayed run at `at`."""
    released = pubs.release(str(row["id"]), lease.token, at, kind, message, progress)
    if released is None:  # superseded meanwhile: the row is someone else's now
        current = pubs.get(str(row["id"])) or row
        return RunResult(current["state"], current, {"claimLost": True})
    schedule_run(released, at, reason)
    return RunResult("planned", released, details)


def _read_prefs_settings() -> dict[str, Any]:
    from shared.settings.store import read_settings

    return read_settings(["platformSettings"])


def run(pub_id: str, settings: dict[str, Any] | None = None) -> RunResult:
    """Claim a due planned publication and send it. Anyone may call this for any row at any time (a
    QStash redelivery, a second worker): only the claim's winner sends."""
    cfg = get_config()
    started = time.monotonic()
    row = pubs.claim(pub_id, cfg.publish_lease_seconds)
    if row is None:
        current = pubs.get(pub_id)
        return RunResult(current["state"] if current else "missing", current or {}, {"claimed": False})
    lease = Lease(pub_id, str(row["claim_token"]), seconds=cfg.publish_lease_seconds, role="sender",
                  started=started, send_margin=cfg.publish_http_timeout_seconds)
    with lease:
        try:
            return execute(row, lease, settings)
        except ClaimLost as exc:
            # another worker owns the row now; it settles or runs it. Touch nothing.
            activity.log("publishing", "warn", f"stopped publishing to {row['platform']}: {exc}",
                         {"publicationId": pub_id, "platform": row["platform"]})
            current = pubs.get(pub_id) or row
            return RunResult(current["state"], current, {"claimLost": True})


def execute(row: dict, lease: Lease, settings: dict[str, Any] | None = None) -> RunResult:
    pub_id = str(row["id"])
    dry_run = bool(row["dry_run"])
    try:
        account = _account_for(row, dry_run)
    except NotConnected:
        return RunResult("failed", outcomes.failed(row, lease, "not_connected",
                                                   f"{outcomes.display(row)} is not connected: connect it in "
                                                   "Platforms", "not_sent"))
    except AuthFailed as exc:
        return RunResult("failed", outcomes.failed(row, lease, "auth", exc.message, "not_sent"))
    except TransientBeforeSend as exc:
        return _retry_later(row, lease, exc)

    if not dry_run:
        until = ratelimit.blocked_until(row["family"], account.account_id)
        if until:
            at = datetime.fromtimestamp(until, timezone.utc)
            return _release(row, lease, at, "rate_limited", f"waiting for the rate limit to reset at "
                            f"{at.isoformat()}", "rate limited", rateLimitedUntil=at.isoformat())

    raw = dict(row["content"] or {})
    try:
        content, ctx, violations = _prepare(row, account, raw, lease, dry_run, settings)
    except ClaimLost:
        raise
    except Exception as exc:  # storage or a media host hiccup before anything was sent: try again later
        logger.exception("preparing publication %s failed", pub_id)
        err = exc if isinstance(exc, TransientBeforeSend) else TransientBeforeSend(
            f"could not prepare the post: {type(exc).__name__}: {exc}")
        return _retry_later(row, lease, err)
    if violations:
        msg = "; ".join(f"{v['rule']}: {v['message']}" for v in violations)
        return RunResult("failed", outcomes.failed(row, lease, "content", msg, "not_sent",
                                                   {"violations": violations}), {"violations": violations})
    if dry_run:
        return _dry_run(row, lease, content, account)
    return _send(row, lease, ctx, account)


def _dry_run(row: dict, lease: Lease, content, account: Account) -> RunResult:
    pub_id = str(row["id"])
    would = {"platform": row["platform"], "text": post_text(row["platform"], content),
             "title": content.title, "imageUrls": list(content.image_urls), "videoUrl": content.video_url,
             "boardId": content.board_id, "privacy": content.privacy}
    if account.metadata.get("skipped"):
        would["skipped"] = account.metadata["skipped"]
    settled = one(pubs.settle_dry_run(pub_id, lease.token, would) or pubs.get(pub_id))  # the row we hold
    listeners.settled(settled)
    activity.log("publishing", "info", f"dry run: would post to {row['platform']}" + (
                     f" (skipped: {would['skipped']})" if would.get("skipped") else ""),
                 {"publicationId": pub_id, "platform": row["platform"], "source": row["source"],
                  "text": would["text"][:500]})
    return RunResult("dry_run", settled, {"wouldPost": would})


def _send(row: dict, lease: Lease, ctx: PublishContext, account: Account) -> RunResult:
    pub_id = str(row["id"])
    adapter = get_adapter(row["family"])

    def sent() -> bool:
        return bool(ctx.progress.get("commit_sent"))

    def after_send(exc: PublishError) -> bool:
        """The post may exist: the publishing request went out and this error is not the platform's answer
        to it (a status check, a later step, a 200-with-error body). Only a look-up may settle it: a `failed`
        row would be re-armed by the owner's next request and posted twice."""
        return sent() and getattr(exc, "phase", None) != "commit"

    def by_lookup(exc: PublishError) -> RunResult:
        if getattr(exc, "phase", None) == "commit" and not sent():
            # a publishing request went out without its checkpoint: record it, so nothing reads it as unsent
            ctx.save(commit_sent=True)
        settled = checks.settle_by_lookup(row, ctx, lease, exc.message, account)
        return RunResult(settled["state"], settled)

    try:
        result = adapter.publish(ctx)
    except AuthFailed as exc:
        from shared.publishing.connections.refresh import mark_needs_reconnect

        mark_needs_reconnect(row["family"], exc.message)
        if after_send(exc):
            return by_lookup(exc)
        return RunResult("failed", outcomes.failed(row, lease, "auth", exc.message,
                                                   "refused" if sent() else "not_sent"))
    except BadContent as exc:
        if after_send(exc):
            return by_lookup(exc)
        return RunResult("failed", outcomes.failed(row, lease, "content", exc.message,
                                                   "refused" if sent() else "not_sent",
                                                   {"status": exc.status, "code": exc.code}))
    except RateLimitedError as exc:
        # refused (429 or a quota answer): the request was not carried out, so it runs again after the reset
        ratelimit.remember(row["family"], account.account_id, exc.reset_at, exc.scope)
        at = datetime.fromtimestamp(exc.reset_at, timezone.utc)
        activity.log("publishing", "warn", f"{row['platform']} rate limit: retrying after {at.isoformat()}",
                     {"publicationId": pub_id, "platform": row["platform"], "resetAt": at.isoformat()})
        return _release(row, lease, at, "rate_limited", exc.message, "rate limited",
                        {"commit_sent": False} if sent() else None, rateLimitedUntil=at.isoformat())
    except StillProcessing as exc:
        if not sent():
            # media still processing before anything was published: run again later from the checkpoint
            # (the container / media id is kept, so nothing is uploaded or created twice)
            at = _now() + timedelta(seconds=get_config().publish_settle_delay_seconds)
            return _release(row, lease, at, "processing", exc.message, "media processing",
                            retryAt=at.isoformat(), processing=True)
        parked = outcomes.parked(row, lease, exc.message)
        return RunResult(parked["state"], parked, {"processing": True})
    except TransientBeforeSend as exc:
        never_sent = getattr(exc, "phase", None) == "commit" and getattr(exc, "never_sent", False)
        if sent() and not never_sent:
            return by_lookup(exc)
        return _retry_later(row, lease, exc)
    except OutcomeUnknown as exc:
        return by_lookup(exc)
    except PublishError as exc:
        if sent() or getattr(exc, "phase", None) == "commit":
            return by_lookup(exc)
        return RunResult("failed", outcomes.failed(row, lease, exc.kind, exc.message, "not_sent"))
    except ClaimLost:
        raise
    except Exception as exc:  # a bug or an unexpected answer: never re-post when the commit may have gone out
        logger.exception("publication %s crashed", pub_id)
        if sent():
            return RunResult("unconfirmed", outcomes.unconfirmed(
                row, lease, f"internal error after the post was sent: {type(exc).__name__}"))
        return RunResult("failed", outcomes.failed(row, lease, "internal",
                                                   f"internal error: {type(exc).__name__}: {exc}", "not_sent"))
    settled = outcomes.published(row, lease, result, account)
    return RunResult(settled["state"], settled)


def _prepare(row: dict, account: Account, raw: dict, lease: Lease, dry_run: bool,
             settings: dict[str, Any] | None) -> tuple[Any, PublishContext, list[dict]]:
    """Resolve content (fresh presigned media URLs), pick a default board, validate. Sends no post."""
    from shared.publishing.media.urls import pullable

    p = prefs(row["family"], settings if settings is not None else _read_prefs_settings())
    content = resolve(row["platform"], raw, p, pull=pullable)
    ctx = context(row, account, content, lease)
    if row["family"] == "pinterest" and not content.board_id and not dry_run:
        from dataclasses import replace

        from shared.publishing.adapters.pinterest import default_board

        try:
            content = replace(content, board_id=default_board(ctx))
        except PublishError:
            pass  # validation then names the missing board; the platform error is not the owner's question
        ctx.content = content
    violations = _validate(row, content, raw, str(p.get("tier") or "free"))
    return content, ctx, violations


def _retry_later(row: dict, lease: Lease, exc: PublishError) -> RunResult:
    """Nothing reached the platform's publishing step: run again with backoff, or give up (nothing posted)."""
    attempts = int(row["attempts"])
    if attempts >= MAX_TRANSIENT_ATTEMPTS:
        settled = outcomes.failed(row, lease, "transient", f"gave up after {attempts} attempts: {exc.message}",
                                  "not_sent")
        if settled.get("state") == "failed" and pubs.mark_notified(str(row["id"])):
            activity.notify("error", f"{outcomes.display(row)} post not sent",
                            f"{outcomes.display(row)} could not be reached after {attempts} attempts "
                            f"({exc.message}). Nothing was posted; you can try again.", source="system",
                            action_page="platforms")
        return RunResult(settled["state"], settled)
    base = get_config().publish_retry_base_seconds
    at = _now() + timedelta(seconds=min(3600.0, 30 * base * 2 ** (attempts - 1)))
    return _release(row, lease, at, "transient", exc.message, "transient error", {"commit_sent": False},
                    retryAt=at.isoformat())
