"""Stage planned publications in an awake window (the database is up anyway): resolve and validate the content,
seal the account's token, write the Redis record, then move the row `planned` -> `staged` under the stage
token, then mark the record `ready` and arm the send at the slot.

The order is what makes a crash harmless: the record is created `pending` (no sender takes it) before the row
is staged, and only becomes `ready` after the row is staged. A process killed in between leaves a pending
record next to a staged row (the write-back returns the row to `planned` after the grace: nothing was sent) or
a pending record next to a planned row (dropped by the next stage pass, or frozen and forgotten by the
write-back; the row runs on the database path either way).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import asdict
from typing import Any

from shared import clock
from shared.config import get_config
from shared.publishing.adapters.base import Content
from shared.publishing.staging import eligibility, record
from shared.publishing.staging.lookup_hints import lookup_hints

log = logging.getLogger("screndly.publishing.staging")

MIN_LEAD_SECONDS = 60.0  # a post due sooner than this is not worth staging: the database path runs it now


def limits() -> eligibility.Limits:
    cfg = get_config()
    return eligibility.Limits(grace_seconds=cfg.publish_stage_grace_seconds,
                              token_margin_seconds=cfg.publish_stage_token_margin_seconds,
                              media_url_ttl_seconds=min(cfg.publish_media_url_ttl_seconds, 7 * 24 * 3600))


def secret_aad(pub_id: str, stage_token: str) -> str:
    """The sealed token is bound to this publication and this stage: it opens nowhere else."""
    return f"stage:{pub_id}:{stage_token}"


def token_fingerprint(access_token: str) -> str:
    """Which token a stage sealed, without the token: tells a 401 of a token replaced since (a refresh racing
    the send) from a refusal of the account's current one."""
    import hashlib

    return hashlib.sha256(access_token.encode()).hexdigest()[:16]


def content_to_json(content: Content) -> dict[str, Any]:
    return asdict(content)


def content_from_json(data: dict[str, Any]) -> Content:
    tuples = ("image_urls", "video_urls", "playlist_ids", "tags")
    fields: dict[str, Any] = {k: (tuple(v) if k in tuples and v is not None else v) for k, v in data.items()
                              if k in Content.__dataclass_fields__}
    return Content(**fields)


def stage_due(limit: int = 50) -> dict[str, int]:
    """Stage every eligible planned publication due within the horizon. Counts by verdict."""
    from shared.publishing.engine import publications as pubs

    cfg = get_config()
    counts = {"staged": 0, "skipped": 0}
    rows = pubs.stageable(cfg.publish_stage_horizon_seconds, MIN_LEAD_SECONDS, eligibility.TARGETS, limit)
    if rows and not durable_here():
        return {"staged": 0, "skipped": len(rows), "not_durable": len(rows)}
    _refresh_first({r["family"] for r in rows})
    for row in rows:
        try:
            why = stage_one(row)
        except Exception:  # one post's surprise leaves it on the database path; the others go on
            log.exception("staging publication %s failed", row["id"])
            why = "error"
        counts["staged" if why is None else "skipped"] += 1
    return counts


def durable_here() -> bool:
    """Can this Redis confirm a checkpoint as PUBLISH_STAGE_DURABILITY asks (one command per window that has
    something to stage)? If not, staging would only release every post at its slot: the posts stay on the
    database path, on time, and the log says why."""
    import time

    from shared.publishing.staging import durability

    confirmed, why = durability.can_confirm(time.monotonic())
    if not confirmed:
        log.warning("not staging: %s (PUBLISH_STAGE_DURABILITY=%s)", why, get_config().publish_stage_durability)
        _tell_the_owner_once_a_day(why)
    return confirmed


INERT_NOTE_KEY = "staging:inert:noted"
INERT_NOTE_SECONDS = 86400
_inert_noted = False  # this process said it (or found it said) already: no Redis command per window after that


def _tell_the_owner_once_a_day(why: str) -> None:
    """Pre-staging is on but this Redis cannot confirm a checkpoint: posts go out on the database path, on time but
    with the database woken at their slots. The server log says it every window; the owner's activity log once a
    day (a Redis SET NX shared by every instance, at most one per process), so the setting's effect is visible
    where the owner looks, not only in the deployment's logs."""
    global _inert_noted
    if _inert_noted:
        return
    try:
        from shared import activity
        from shared.redis_client import get_redis

        if get_redis().set(INERT_NOTE_KEY, "1", nx=True, ex=INERT_NOTE_SECONDS):
            activity.log("publishing", "warn",
                         "Pre-staging is inactive: Redis cannot confirm a post's checkpoint as "
                         f"PUBLISH_STAGE_DURABILITY={get_config().publish_stage_durability} asks ({why}). Scheduled "
                         "posts still go out on time; the database wakes at their times instead of earlier.",
                         {"setting": get_config().publish_stage_durability, "reason": why[:300]})
        _inert_noted = True
    except Exception:  # a note must never stop the window (the posts stay on the database path regardless)
        log.warning("could not record that pre-staging is inactive", exc_info=True)


def _refresh_first(families: set[str]) -> None:
    """Refresh tokens near expiry before staging: a refresh drops the account's stages (they sealed the old
    token), so it must not come between two stages of one pass."""
    from shared.publishing.connections.refresh import ensure_fresh

    for family in sorted(families):
        with contextlib.suppress(Exception):  # not connected and the like: stage_one says so per post
            ensure_fresh(family)


def stage_one(row: dict) -> str | None:
    """Stage one planned row; None when staged, else why it stays on the database path."""
    from shared.publishing.connections.refresh import ensure_fresh
    from shared.publishing.engine import publications as pubs
    from shared.publishing.engine.content import resolve
    from shared.publishing.engine.errors import PublishError
    from shared.publishing.engine.runner import _validate, prefs
    from shared.publishing.media.urls import pullable
    from shared.security.secretbox import get_secretbox

    pub_id = str(row["id"])
    raw = dict(row["content"] or {})
    slot = row["not_before"].timestamp()
    now = clock.time()
    try:
        conn = ensure_fresh(row["family"])
    except PublishError as exc:  # not connected, needs reconnecting: the database path records that
        return f"no usable connection ({exc.message})"
    expires = conn.expires_at.timestamp() if conn.expires_at else None
    why = eligibility.why_not(row["platform"], raw, dry_run=bool(row["dry_run"]), now=now, slot=slot,
                              token_expires_at=expires, limits=limits())
    if why:
        return why
    p = prefs(row["family"])
    content = resolve(row["platform"], raw, p, pull=pullable)
    if row["family"] == "pinterest" and not content.board_id:
        return "a pin without a board (the database path picks the default board)"
    violations = _validate(row, content, raw, str(p.get("tier") or "free"))
    if violations:  # the database path fails it at its time, with its usual record and notification
        return "validation: " + "; ".join(f"{v['rule']}" for v in violations)
    token = str(uuid.uuid4())
    sealed = get_secretbox().encrypt(
        json.dumps({"access_token": conn.access_token, "extra": conn.extra or {}}),
        secret_aad(pub_id, token))
    cfg = get_config()
    progress = {k: v for k, v in dict(row.get("progress") or {}).items()
                if k not in ("commit_sent", "commit_at", "started_at")}
    fields = {
        "token": token, "slot": repr(slot), "grace_until": repr(slot + cfg.publish_stage_grace_seconds),
        "family": row["family"], "target": row["platform"], "source": row["source"],
        "account_id": conn.account_id, "username": conn.username or "", "metadata": conn.metadata or {},
        "secret": sealed, "content": content_to_json(content), "progress": progress, "claims": "0",
        "token_fp": token_fingerprint(conn.access_token),
    }
    if not record.create(pub_id, slot, fields):
        return "a stage of this publication is not written back yet"
    hints = lookup_hints(row["platform"], content, slot, slot + cfg.publish_stage_grace_seconds)
    # no longer planned, moved to another time meanwhile (the record was written for this slot), or due too soon
    if pubs.stage(pub_id, token, MIN_LEAD_SECONDS, row["not_before"], hints) is None:
        record.drop_pending(pub_id, token)
        return "no longer planned at this time"
    if not record.ready(pub_id, token):
        # the pending record was cancelled meanwhile (a connection change's drop_account wrote it back while the
        # row was still planned): no sender can ever claim this stage, so the row goes back to the database
        # path now. Row first: killed between the two, the cancelled record is the write-back's (back to
        # planned), whereas a staged row without a record would be handed to the look-up as possibly sent.
        pubs.unstage_to_planned(pub_id, token, None)
        record.forget(pub_id, token)
        return "the stage was cancelled before it was ready"
    _arm(pub_id, slot)
    return None


def _arm(pub_id: str, slot: float) -> None:
    """The send at the slot (a Redis-only dispatcher item). If arming fails, the row's own QStash run message
    still reaches the stage at its time (the run route sends staged rows from Redis)."""
    from shared.publishing.staging.timing import SEND_KIND
    from shared.scheduling import dispatch

    try:
        dispatch.arm([(SEND_KIND, pub_id, slot)])
    except Exception:
        log.warning("could not arm the staged send of %s", pub_id, exc_info=True)
