"""Run one publication: claim it, check rate-limit memory, fresh token, validate, call the adapter, settle.

Only the worker whose claim UPDATE returned the row posts. Whatever happens after the platform may have
received the publishing request, the row never goes back to `planned`: it ends `published` (answer or
look-up), `failed` (the platform confirms nothing was posted) or `unconfirmed` (we cannot tell; the owner is
notified and nothing is re-posted automatically).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shared import activity
from shared.config import get_config
from shared.publishing.adapters import get_adapter
from shared.publishing.adapters.base import Account, NotPublished, PostResult, PublishContext, post_text
from shared.publishing.adapters.http import PlatformHttp, shared_client
from shared.publishing.engine import listeners
from shared.publishing.engine import publications as pubs
from shared.publishing.engine import ratelimit
from shared.publishing.engine.content import resolve, video_hints
from shared.publishing.engine.errors import (
    AuthFailed, BadContent, ClaimLost, NotConnected, OutcomeUnknown, PublishError, RateLimitedError, StillProcessing,
    TransientBeforeSend,
)
from shared.publishing.platforms import DISPLAY

logger = logging.getLogger("screndly.publishing")

MAX_TRANSIENT_ATTEMPTS = 5
SETTLE_DELAY_SECONDS = 60
MAX_SETTLE_CHECKS = 30


@dataclass
class RunResult:
    state: str
    publication: dict
    details: dict[str, Any] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _prefs(family: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    if settings is None:
        from shared.settings.store import read_setting

        settings = {"platformSettings": read_setting("platformSettings", {})}
    ps = settings.get("platformSettings") or {}
    return dict(ps.get(family) or {}) if isinstance(ps, dict) else {}


def _display(row: dict) -> str:
    return DISPLAY.get(row["family"], row["family"])


def _notify_unconfirmed(row: dict, reason: str) -> None:
    if pubs.mark_notified(str(row["id"])):
        activity.notify(
            "warning", f"Check your {_display(row)} account",
            f"We could not confirm whether the post to {_display(row)} went out ({reason}). Check the account "
            "before posting it again, to avoid a duplicate. We will not re-post it automatically.",
            source=row["source"] if row["source"] in ("rss", "tmdb") else "system", action_page="platforms")


def _account_for(row: dict, dry_run: bool) -> Account:
    from shared.publishing.connections import store
    from shared.publishing.connections.refresh import ensure_fresh

    preloaded = store.from_row(row["_connection"]) if "_connection" in row else False
    try:
        conn = ensure_fresh(row["family"], preloaded=preloaded)
    except NotConnected:
        if dry_run:  # still validated and recorded, but reported as skipped: nothing could have been posted
            return Account(platform=row["family"], account_id="dry-run", access_token="", metadata={
                "skipped": f"{_display(row)} is not connected: connect it in Platforms"})
        raise
    except AuthFailed as exc:
        if dry_run:
            return Account(platform=row["family"], account_id="dry-run", access_token="", metadata={
                "skipped": f"{_display(row)} needs to be reconnected: {exc.message}"})
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


def _context(row: dict, account: Account, content, token: str) -> PublishContext:
    cfg = get_config()
    def exhausted(reset_at: float) -> None:
        if account.account_id != "dry-run":
            ratelimit.remember(row["family"], account.account_id, reset_at, "account")

    http = PlatformHttp(shared_client(cfg.publish_http_timeout_seconds), token=account.access_token,
                        retry_base=cfg.publish_retry_base_seconds, on_exhausted=exhausted)
    pub_id = str(row["id"])
    return PublishContext(
        target=row["platform"], account=account, content=content, http=http,
        progress=dict(row.get("progress") or {}),
        checkpoint=lambda **values: pubs.checkpoint(pub_id, token, values),
        poll_interval=cfg.publish_poll_interval_seconds, poll_budget=cfg.publish_poll_budget_seconds)


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


def schedule_settle(row: dict, delay: int = SETTLE_DELAY_SECONDS) -> None:
    from shared.messaging.publisher import OutgoingMessage, publish

    checks = int((row.get("progress") or {}).get("settle_checks") or 0)
    try:
        publish(OutgoingMessage(path="/api/internal/publishing/settle", body={"publicationId": str(row["id"])},
                                delay_seconds=delay, deduplication_id=f"settle-{row['id']}-{checks}", retries=3))
    except Exception as exc:
        activity.log("publishing", "warn", f"could not schedule a status check for {row['id']}: {exc}",
                     {"publicationId": str(row["id"])})


def _published(row: dict, result: PostResult, account: Account | None) -> dict:
    from shared.db import connection

    with connection() as c:  # one checkout for the settle, the last-post stamp and the log line
        settled = pubs.settle_published(str(row["id"]), result.post_id, result.url, result.details, conn=c)
        if settled is None:
            settled = c.execute("SELECT * FROM publications WHERE id=%s", (row["id"],)).fetchone()
        if account is not None and account.account_id != "dry-run":
            c.execute("UPDATE platform_connections SET last_post_at=now() WHERE platform=%s", (row["family"],))
        activity.log("publishing", "info", f"published to {row['platform']}",
                     {"publicationId": str(row["id"]), "platform": row["platform"], "postId": result.post_id,
                      "url": result.url, "source": row["source"],
                      **({"warnings": result.details.get("warnings")} if result.details.get("warnings") else {})},
                     conn=c)
    listeners.settled(settled)  # committed: the connection autocommits
    return settled


def _failed(row: dict, token: str | None, kind: str, message: str, details: dict | None = None) -> dict:
    from shared.db import connection

    with connection() as c:
        settled = pubs.settle_failed(str(row["id"]), token, kind, message, details, conn=c)
        if settled is None:
            settled = c.execute("SELECT * FROM publications WHERE id=%s", (row["id"],)).fetchone()
        activity.log("publishing", "error" if kind != "content" else "warn",
                     f"publishing to {row['platform']} failed ({kind}): {message}",
                     {"publicationId": str(row["id"]), "platform": row["platform"], "kind": kind,
                      "source": row["source"], **({"details": details} if details else {})}, conn=c)
    listeners.settled(settled)
    return settled


def _unconfirmed(row: dict, token: str | None, message: str) -> dict:
    settled = pubs.settle_unconfirmed(str(row["id"]), token, message) or pubs.get(str(row["id"]))
    if settled and settled["state"] == "unconfirmed":
        activity.log("publishing", "warn", f"post to {row['platform']} is unconfirmed: {message}",
                     {"publicationId": str(row["id"]), "platform": row["platform"], "source": row["source"]})
        _notify_unconfirmed(row, message)
    listeners.settled(settled)
    return settled


def _settle_by_lookup(row: dict, ctx: PublishContext, token: str | None, reason: str,
                      account: Account | None) -> dict:
    """After an unknown outcome: ask the platform. Found -> published; confirmed absent -> failed (safe for
    the owner to retry); cannot tell -> unconfirmed + notification."""
    try:
        found = get_adapter(row["family"]).lookup(ctx)
    except StillProcessing:
        # the platform has the post and is processing it: check again later instead of guessing
        if token:
            pubs.extend_claim(str(row["id"]), token)
        schedule_settle(row)
        return pubs.get(str(row["id"])) or row
    except PublishError as exc:
        logger.info("lookup for %s failed: %s", row["id"], exc.message)
        found = None
    except Exception:  # a look-up bug must not lose the unconfirmed state
        logger.exception("lookup for %s crashed", row["id"])
        found = None
    if isinstance(found, PostResult):
        return _published(row, found, account)
    if isinstance(found, NotPublished):
        return _failed(row, token, "unknown", f"{reason}; the platform confirms nothing was posted "
                                              f"({found.reason}). Safe to post again.")
    return _unconfirmed(row, token, reason)


def _settled_result(row: dict) -> RunResult:
    return RunResult(row.get("state") or "unconfirmed", row)


def _read_prefs_settings() -> dict[str, Any]:
    from shared.settings.store import read_settings

    return read_settings(["platformSettings"])


def run(pub_id: str, settings: dict[str, Any] | None = None) -> RunResult:
    row = pubs.claim(pub_id)
    if row is None:
        current = pubs.get(pub_id)
        return RunResult(current["state"] if current else "missing", current or {}, {"claimed": False})
    return execute(row, settings)


def execute(row: dict, settings: dict[str, Any] | None = None) -> RunResult:
    token = str(row["claim_token"])
    pub_id = str(row["id"])
    dry_run = bool(row["dry_run"])
    account: Account | None = None
    try:
        account = _account_for(row, dry_run)
    except NotConnected:
        return RunResult("failed", _failed(row, token, "not_connected",
                                           f"{_display(row)} is not connected: connect it in Platforms"))
    except AuthFailed as exc:
        return RunResult("failed", _failed(row, token, "auth", exc.message))
    except TransientBeforeSend as exc:
        return _retry_later(row, token, exc)

    if not dry_run:
        until = ratelimit.blocked_until(row["family"], account.account_id)
        if until:
            at = datetime.fromtimestamp(until, timezone.utc)
            released = pubs.release(pub_id, token, at, "rate_limited", f"waiting for the rate limit to reset at "
                                                                       f"{at.isoformat()}")
            schedule_run(released or row, at, "rate limited")
            return RunResult("planned", released or row, {"rateLimitedUntil": at.isoformat()})

    raw = dict(row["content"] or {})
    try:
        content, ctx, violations = _prepare(row, account, raw, token, dry_run, settings)
    except Exception as exc:  # storage or a media host hiccup before anything was sent: try again later
        logger.exception("preparing publication %s failed", pub_id)
        err = exc if isinstance(exc, TransientBeforeSend) else TransientBeforeSend(
            f"could not prepare the post: {type(exc).__name__}: {exc}")
        return _retry_later(row, token, err)
    if violations:
        msg = "; ".join(f"{v['rule']}: {v['message']}" for v in violations)
        return RunResult("failed", _failed(row, token, "content", msg, {"violations": violations}),
                         {"violations": violations})
    if dry_run:
        would = {"platform": row["platform"], "text": post_text(row["platform"], content),
                 "title": content.title, "imageUrls": list(content.image_urls), "videoUrl": content.video_url,
                 "boardId": content.board_id, "privacy": content.privacy}
        if account.metadata.get("skipped"):
            would["skipped"] = account.metadata["skipped"]
        settled = pubs.settle_dry_run(pub_id, token, would) or pubs.get(pub_id)
        listeners.settled(settled)
        activity.log("publishing", "info", f"dry run: would post to {row['platform']}" + (
                         f" (skipped: {would['skipped']})" if would.get("skipped") else ""),
                     {"publicationId": pub_id, "platform": row["platform"], "source": row["source"],
                      "text": would["text"][:500]})
        return RunResult("dry_run", settled, {"wouldPost": would})

    adapter = get_adapter(row["family"])

    def after_send(exc: PublishError) -> bool:
        """The post may exist: the publishing request went out and this error is not the platform's answer
        to it (a status check, a later step, a 200-with-error body). Only a look-up may settle it: a `failed`
        row would be re-armed by the owner's next request and posted twice."""
        return bool(ctx.progress.get("commit_sent")) and getattr(exc, "phase", None) != "commit"

    try:
        result = adapter.publish(ctx)
    except AuthFailed as exc:
        from shared.publishing.connections.refresh import mark_needs_reconnect

        mark_needs_reconnect(row["family"], exc.message)
        if after_send(exc):
            return RunResult("unconfirmed", _settle_by_lookup(row, ctx, token, exc.message, account))
        return RunResult("failed", _failed(row, token, "auth", exc.message))
    except BadContent as exc:
        if after_send(exc):
            return _settled_result(_settle_by_lookup(row, ctx, token, exc.message, account))
        return RunResult("failed", _failed(row, token, "content", exc.message,
                                           {"status": exc.status, "code": exc.code}))
    except RateLimitedError as exc:
        ratelimit.remember(row["family"], account.account_id, exc.reset_at, exc.scope)
        at = datetime.fromtimestamp(exc.reset_at, timezone.utc)
        released = pubs.release(pub_id, token, at, "rate_limited", exc.message,
                                {"commit_sent": False} if ctx.progress.get("commit_sent") else None)
        activity.log("publishing", "warn", f"{row['platform']} rate limit: retrying after {at.isoformat()}",
                     {"publicationId": pub_id, "platform": row["platform"], "resetAt": at.isoformat()})
        schedule_run(released or row, at, "rate limited")
        return RunResult("planned", released or row, {"rateLimitedUntil": at.isoformat()})
    except StillProcessing as exc:
        if not ctx.progress.get("commit_sent"):
            # media still processing before anything was published: run again later from the checkpoint
            # (the container / media id is kept, so nothing is uploaded or created twice)
            at = _now() + timedelta(seconds=SETTLE_DELAY_SECONDS)
            released = pubs.release(pub_id, token, at, "processing", exc.message)
            schedule_run(released or row, at, "media processing")
            return RunResult("planned", released or row, {"retryAt": at.isoformat(), "processing": True})
        pubs.extend_claim(pub_id, token)
        schedule_settle(row)
        activity.log("publishing", "info", f"{row['platform']} is processing the post; checking again later",
                     {"publicationId": pub_id, "platform": row["platform"]})
        return RunResult("publishing", pubs.get(pub_id) or row, {"processing": True})
    except TransientBeforeSend as exc:
        never_sent = getattr(exc, "phase", None) == "commit" and getattr(exc, "never_sent", False)
        if ctx.progress.get("commit_sent") and not never_sent:
            return RunResult("unconfirmed", _settle_by_lookup(row, ctx, token, exc.message, account))
        return _retry_later(row, token, exc)
    except OutcomeUnknown as exc:
        return RunResult("unconfirmed", _settle_by_lookup(row, ctx, token, exc.message, account))
    except PublishError as exc:
        if after_send(exc):
            return _settled_result(_settle_by_lookup(row, ctx, token, exc.message, account))
        return RunResult("failed", _failed(row, token, exc.kind, exc.message))
    except ClaimLost as exc:
        # another worker owns the row now; it settles or runs it. Touch nothing.
        activity.log("publishing", "warn", f"stopped publishing to {row['platform']}: {exc}",
                     {"publicationId": pub_id, "platform": row["platform"]})
        current = pubs.get(pub_id) or row
        return RunResult(current["state"], current, {"claimLost": True})
    except Exception as exc:  # a bug or an unexpected answer: never re-post when the commit may have gone out
        logger.exception("publication %s crashed", pub_id)
        if ctx.progress.get("commit_sent"):
            return RunResult("unconfirmed", _unconfirmed(row, token, f"internal error after the post was sent: "
                                                                     f"{type(exc).__name__}"))
        return RunResult("failed", _failed(row, token, "internal", f"internal error: {type(exc).__name__}: {exc}"))
    return RunResult("published", _published(row, result, account))


def _prepare(row: dict, account: Account, raw: dict, token: str, dry_run: bool,
             settings: dict[str, Any] | None) -> tuple[Any, PublishContext, list[dict]]:
    """Resolve content (fresh presigned media URLs), pick a default board, validate. Sends no post."""
    from shared.publishing.media.urls import pullable

    prefs = _prefs(row["family"], settings if settings is not None else _read_prefs_settings())
    content = resolve(row["platform"], raw, prefs, pull=pullable)
    ctx = _context(row, account, content, token)
    if row["family"] == "pinterest" and not content.board_id and not dry_run:
        from dataclasses import replace

        from shared.publishing.adapters.pinterest import default_board

        try:
            content = replace(content, board_id=default_board(ctx))
        except PublishError:
            pass  # validation then names the missing board; the platform error is not the owner's question
        ctx.content = content
    violations = _validate(row, content, raw, str(prefs.get("tier") or "free"))
    return content, ctx, violations


def _retry_later(row: dict, token: str, exc: PublishError) -> RunResult:
    attempts = int(row["attempts"])
    if attempts >= MAX_TRANSIENT_ATTEMPTS:
        settled = _failed(row, token, "transient", f"gave up after {attempts} attempts: {exc.message}")
        if pubs.mark_notified(str(row["id"])):
            activity.notify("error", f"{_display(row)} post not sent",
                            f"{_display(row)} could not be reached after {attempts} attempts ({exc.message}). "
                            "Nothing was posted; you can try again.", source="system", action_page="platforms")
        return RunResult("failed", settled)
    base = get_config().publish_retry_base_seconds
    at = _now() + timedelta(seconds=min(3600.0, 30 * base * 2 ** (attempts - 1)))
    released = pubs.release(str(row["id"]), token, at, "transient", exc.message, {"commit_sent": False})
    schedule_run(released or row, at, "transient error")
    return RunResult("planned", released or row, {"retryAt": at.isoformat()})


# --- settling: processing posts, stuck claims ------------------------------------------------------

def _ctx_for_settle(row: dict) -> tuple[PublishContext, Account | None]:
    from shared.publishing.connections.refresh import ensure_fresh
    from shared.publishing.media.urls import pullable

    conn = ensure_fresh(row["family"])
    account = Account(platform=conn.platform, account_id=conn.account_id, access_token=conn.access_token,
                      username=conn.username, metadata=conn.metadata, extra=conn.extra)
    content = resolve(row["platform"], dict(row["content"] or {}), _prefs(row["family"]), pull=pullable)
    return _context(row, account, content, str(row["claim_token"])), account


def settle(pub_id: str) -> RunResult:
    """The delayed status check for a post the platform was still processing."""
    row = pubs.get(pub_id)
    if row is None or row["state"] != "publishing":
        return RunResult(row["state"] if row else "missing", row or {}, {"stale": True})
    checks = int((row["progress"] or {}).get("settle_checks") or 0) + 1
    pubs.checkpoint(pub_id, str(row["claim_token"]), {"settle_checks": checks})
    row["progress"] = {**(row["progress"] or {}), "settle_checks": checks}
    try:
        ctx, account = _ctx_for_settle(row)
        found = get_adapter(row["family"]).lookup(ctx)
    except (StillProcessing, TransientBeforeSend, RateLimitedError):
        found = None
    except PublishError as exc:
        return RunResult("unconfirmed", _unconfirmed(row, str(row["claim_token"]), exc.message))
    if isinstance(found, PostResult):
        return RunResult("published", _published(row, found, account))
    if isinstance(found, NotPublished):
        return RunResult("failed", _failed(row, str(row["claim_token"]), "content", found.reason))
    if checks >= MAX_SETTLE_CHECKS:
        return RunResult("unconfirmed", _unconfirmed(row, str(row["claim_token"]),
                                                     "the platform never finished processing the post"))
    pubs.extend_claim(pub_id, str(row["claim_token"]))
    schedule_settle(row)
    return RunResult("publishing", row, {"processing": True})


def sweep_stuck(lease_seconds: int | None = None) -> dict[str, int]:
    """Claims that outlived their lease (the worker died, maybe after the platform said yes): look the post
    up where the platform allows; otherwise `unconfirmed` with a notification. Never re-posted."""
    lease = get_config().publish_lease_seconds if lease_seconds is None else lease_seconds
    counts = {"published": 0, "failed": 0, "unconfirmed": 0}
    for r in pubs.stuck(lease):
        row = pubs.take_over(str(r["id"]), lease)
        if row is None:
            continue  # another sweeper took it
        token = str(row["claim_token"])
        try:
            ctx, account = _ctx_for_settle(row)
        except PublishError as exc:
            if (row["progress"] or {}).get("commit_sent"):
                settled = _unconfirmed(row, token, f"the worker stopped mid-publish ({exc.message})")
            else:  # nothing was sent, and we cannot run it now: a clear failure, safe to retry
                settled = _failed(row, token, exc.kind, f"the worker stopped before posting; {exc.message}")
            counts[settled["state"]] = counts.get(settled["state"], 0) + 1
            continue
        if not (row["progress"] or {}).get("commit_sent"):
            # the publishing request was never sent: nothing can exist, so it is safe to run again
            released = pubs.release(str(row["id"]), token, _now(), "transient",
                                    "the worker stopped before posting; running again")
            if released:
                res = run(str(row["id"]))
                counts[res.state] = counts.get(res.state, 0) + 1
            continue
        settled = _settle_by_lookup(row, ctx, token, "the worker stopped after sending the post", account)
        counts[settled["state"]] = counts.get(settled["state"], 0) + 1
    return counts


def run_overdue(grace_seconds: int = 600) -> int:
    """Planned rows whose QStash message never arrived (publish failed, message lost): run them now."""
    n = 0
    for r in pubs.overdue_planned(grace_seconds):
        run(str(r["id"]))
        n += 1
    return n
