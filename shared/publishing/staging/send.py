"""Send a staged post at its slot, with Redis only: no Postgres statement on this path (the write-back in the
next awake window records everything: the publication's state, activity log, notification, listeners).

Never twice: the claim is a Lua compare-and-set in Redis with a lease (record.py); before the publishing
request the holder moves the stage `claimed` -> `sending`, only while it still holds it and its lease
outlasts the HTTP timeout (the engine's send margin), so a sender whose lease ran out cannot send after a
new claimant took over. Once `sending`, nothing sends it again: its outcome is written by its sender, or a
look-up decides in the write-back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from shared import clock
from shared.config import get_config
from shared.publishing.adapters.base import Account, PostResult, PublishContext
from shared.publishing.adapters.http import PlatformHttp
from shared.publishing.engine.errors import (
    AuthFailed,
    BadContent,
    ClaimLost,
    OutcomeUnknown,
    PublishError,
    RateLimitedError,
    StillProcessing,
    TransientBeforeSend,
)
from shared.publishing.staging import durability, record
from shared.publishing.staging.stage import content_from_json, secret_aad

log = logging.getLogger("screndly.publishing.staging")


class StageLease:
    """The staged sender's claim: the Redis twin of engine/lease.py. A heartbeat thread extends it while the
    sender is alive (an upload or a slow answer never lets the write-back take a live send for a dead one);
    before each request the sender makes sure the lease outlasts it."""

    def __init__(self, pub_id: str, claimant: str, *, seconds: float, margin: float, lease_until: float):
        self.pub_id = pub_id
        self.claimant = claimant
        self.seconds = float(seconds)
        self._margin = min(float(margin), self.seconds / 2)
        # our idea of the expiry, on the local clock, never later than Redis's: measured from before the claim
        self._deadline = time.monotonic() + max(0.0, lease_until - clock.time())
        self.lost = False
        self.not_durable = ""  # why the `sending` checkpoint was not confirmed durable (then nothing is sent)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StageLease:
        self._thread = threading.Thread(target=self._beat_loop, name=f"stage-{self.pub_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat_loop(self) -> None:
        while not self._stop.wait(max(0.05, self.seconds / 5)):
            if self.lost:
                return
            self._extend()

    def remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _extend(self) -> bool:
        t0 = time.monotonic()
        try:
            until = record.extend(self.pub_id, self.claimant, self.seconds)
        except Exception as exc:  # Redis hiccuped: the lease runs on; before_send decides in time
            log.warning("extending the stage lease of %s failed: %s", self.pub_id, exc)
            return False
        if until is None:
            self.lost = True
            return False
        self._deadline = max(self._deadline, t0 + self.seconds)
        return True

    def checkpoint(self, progress: dict[str, Any], values: dict[str, Any]) -> int:
        merged = {**progress, **values}
        if values.get("commit_sent"):
            ok = record.to_sending(self.pub_id, self.claimant, self._margin, merged)
            if not ok and self._extend():  # the lease was short: extend once, then ask again
                ok = record.to_sending(self.pub_id, self.claimant, self._margin, merged)
            if ok:  # the checkpoint must survive a failover or a restart before the request may go out
                confirmed, why = durability.confirm()
                if not confirmed:
                    self.not_durable, ok = why, False
        else:
            ok = record.save_progress(self.pub_id, self.claimant, merged)
        if not ok and not progress.get("commit_sent"):
            self.lost = True
        return 1 if ok else 0

    def before_send(self, phase: str) -> None:
        if self.lost:
            raise ClaimLost("the stage was taken over or frozen; not sending")
        if self.remaining() < self._margin and (not self._extend() or self.remaining() < self._margin):
            self.lost = True
            raise ClaimLost("could not extend the stage lease; not sending")


class StagedHttp(PlatformHttp):
    def __init__(self, *args: Any, lease: StageLease, **kw: Any):
        super().__init__(*args, **kw)
        self.lease = lease

    def send(self, method: str, url: str, *, phase, **kw: Any):
        self.lease.before_send(phase)
        return super().send(method, url, phase=phase, **kw)


def holds(pub_id: str) -> bool:
    """A stage record exists for this publication (the run route then sends from Redis, or does nothing)."""
    return record.exists(pub_id)


def send(pub_id: str, claimant: str | None = None) -> str:
    """Claim the stage and send it. Returns the outcome recorded for the write-back (`published`, `failed`,
    `release`: nothing was sent, `lookup`: it may have been), or why nothing was done here (`busy`, `pending`:
    the stage never became ready, `early`, `late`, `missing`, `lost`: the stage was taken before sending)."""
    from shared.publishing.adapters import get_adapter
    from shared.publishing.adapters.http import shared_client
    from shared.publishing.engine import ratelimit
    from shared.security.secretbox import get_secretbox

    cfg = get_config()
    claimant = claimant or uuid.uuid4().hex
    verdict, detail = record.claim(pub_id, claimant, cfg.publish_stage_lease_seconds)
    if verdict != "ok":
        return "pending" if verdict == "busy" and detail == "pending" else verdict
    lease = StageLease(pub_id, claimant, seconds=cfg.publish_stage_lease_seconds,
                       margin=cfg.publish_http_timeout_seconds, lease_until=float(detail))
    rec = record.read(pub_id)
    progress: dict[str, Any] = record.decode(rec.get("progress"), {}) or {}

    def finish(outcome: dict[str, Any], *, write_back_now: bool = False) -> str:
        if record.finish(pub_id, claimant, outcome, progress):
            from shared.publishing.staging.timing import want_write_back

            want_write_back(clock.time(), within=0.0 if write_back_now else None)
            return outcome["kind"]
        return "lost"

    try:
        secret = json.loads(get_secretbox().decrypt(rec["secret"], secret_aad(pub_id, rec["token"])))
    except Exception as exc:  # a rotated-away key, a damaged record: nothing was sent, the database path runs it
        return finish({"kind": "release", "reason": f"the stage's token could not be opened ({type(exc).__name__})"})
    family, account_id = rec["family"], rec["account_id"]
    until = ratelimit.blocked_until(family, account_id)  # rate-limit memory lives in Redis already
    if until:
        return finish({"kind": "release", "at": until, "errorKind": "rate_limited",
                       "reason": f"waiting for the rate limit to reset at "
                                 f"{datetime.fromtimestamp(until, timezone.utc).isoformat()}"})
    account = Account(platform=family, account_id=account_id, access_token=secret["access_token"],
                      username=rec.get("username") or None, metadata=record.decode(rec.get("metadata"), {}) or {},
                      extra=secret.get("extra") or {})

    def exhausted(reset_at: float) -> None:
        ratelimit.remember(family, account_id, reset_at, "account")

    def checkpoint(**values: Any) -> int:
        saved = lease.checkpoint(progress, values)
        if saved:
            progress.update(values)
        return saved

    http = StagedHttp(shared_client(cfg.publish_http_timeout_seconds), token=account.access_token,
                      retry_base=cfg.publish_retry_base_seconds, on_exhausted=exhausted, lease=lease)
    ctx = PublishContext(target=rec["target"], account=account,
                         content=content_from_json(record.decode(rec.get("content"), {}) or {}), http=http,
                         progress=progress, checkpoint=checkpoint, poll_interval=cfg.publish_poll_interval_seconds,
                         poll_budget=cfg.publish_poll_budget_seconds, may_send=True)
    try:
        with lease:
            result = get_adapter(family).publish(ctx)
    except ClaimLost:
        if lease.not_durable and not ctx.progress.get("commit_sent"):
            # nothing was sent; the database path publishes it now rather than at the next window
            return finish({"kind": "release", "reason": lease.not_durable, "errorKind": "not_durable"},
                          write_back_now=True)
        if ctx.progress.get("commit_sent"):  # our request may be out: a look-up decides (if the stage is ours)
            return finish({"kind": "lookup", "reason": "the stage lease was lost after the post was sent"})
        return "lost"
    except Exception as exc:
        if isinstance(exc, RateLimitedError):
            ratelimit.remember(family, account_id, exc.reset_at, exc.scope)
        return finish(outcome_of_error(exc, bool(ctx.progress.get("commit_sent"))))
    return finish(published(result))


def published(result: PostResult) -> dict[str, Any]:
    return {"kind": "published", "postId": result.post_id, "url": result.url, "details": result.details or {}}


def outcome_of_error(exc: BaseException, sent: bool) -> dict[str, Any]:
    """The engine's reading of an adapter error (runner._send), as an outcome for the write-back (pure)."""
    phase = getattr(exc, "phase", None)
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    after_send = sent and phase != "commit"  # the post may exist and this is not the platform's answer to it
    if isinstance(exc, AuthFailed):
        if after_send:
            return {"kind": "lookup", "reason": message, "auth": message}
        return {"kind": "failed", "errorKind": "auth", "message": message, "proof": "refused" if sent else "not_sent",
                "auth": message}
    if isinstance(exc, BadContent):
        if after_send:
            return {"kind": "lookup", "reason": message}
        return {"kind": "failed", "errorKind": "content", "message": message,
                "proof": "refused" if sent else "not_sent", "details": {"status": exc.status, "code": exc.code}}
    if isinstance(exc, RateLimitedError):  # refused: nothing was carried out
        return {"kind": "release", "at": exc.reset_at, "errorKind": "rate_limited", "reason": message,
                "scope": exc.scope}
    if isinstance(exc, StillProcessing):
        return {"kind": "lookup", "reason": message} if sent else {"kind": "release", "reason": message,
                                                                    "errorKind": "processing"}
    if isinstance(exc, TransientBeforeSend):
        never_sent = phase == "commit" and getattr(exc, "never_sent", False)
        if sent and not never_sent:
            return {"kind": "lookup", "reason": message}
        return {"kind": "release", "reason": message, "errorKind": "transient"}
    if isinstance(exc, OutcomeUnknown):
        return {"kind": "lookup", "reason": message}
    if isinstance(exc, PublishError):
        if sent or phase == "commit":
            return {"kind": "lookup", "reason": message}
        return {"kind": "failed", "errorKind": exc.kind, "message": message, "proof": "not_sent"}
    log.error("staged publication crashed: %r", exc)
    if sent:
        return {"kind": "lookup", "reason": f"internal error after the post was sent: {type(exc).__name__}"}
    return {"kind": "failed", "errorKind": "internal", "message": f"internal error: {type(exc).__name__}: {exc}",
            "proof": "not_sent"}
