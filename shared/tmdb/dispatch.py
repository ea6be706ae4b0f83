"""Arming a planned TMDb post to fire at its time: the ONE place that knows how (switch it here).

Today, like RSS (shared/rss/queue.py): one delayed QStash message per post, to `/api/internal/tmdb/publish`,
carrying (postId, version) and `Upstash-Not-Before` = the post's time, deduplicated per version. A post changed
after it was armed (rescheduled, edited, deleted, published by hand) has a newer version, so the old message
finds a mismatch and does nothing (delivery.deliver). QStash delays at most 7 days (free plan): a post further
out is armed by `sweep`, which every refresh runs (and which also re-sends messages QStash could not take).

Callers use only `arm(posts)` after their transaction committed and `sweep(now)`; nothing else here is public.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

log = logging.getLogger("screndly.tmdb.dispatch")

PUBLISH_PATH = "/api/internal/tmdb/publish"
HORIZON = timedelta(days=7)  # QStash's longest delay on the free plan
SWEEP_LIMIT = 100


def _message(post: dict, now: datetime):
    from shared.messaging.publisher import OutgoingMessage

    at = post["scheduled_at"]
    not_before = int(at.timestamp()) if at > now + timedelta(seconds=1) else None
    return OutgoingMessage(path=PUBLISH_PATH, body={"postId": str(post["id"]), "version": post["version"]},
                           not_before=not_before, deduplication_id=f"tmdb-post-{post['id']}-v{post['version']}",
                           retries=3)


def arm(posts: list[dict], now: datetime | None = None) -> int:
    """Arm `scheduled` posts (dicts with id, version, scheduled_at, status). Returns messages sent. QStash being
    unreachable is logged, not raised: the posts stay unarmed and the next sweep sends them."""
    now = now or datetime.now(timezone.utc)
    due = [p for p in posts if p.get("status") == "scheduled" and p.get("scheduled_at")
           and p["scheduled_at"] <= now + HORIZON]
    if not due:
        return 0
    from shared.db import connection
    from shared.messaging.publisher import publish_batch

    msgs = [_message(p, now) for p in due]
    try:
        ids = publish_batch(msgs)
    except Exception as exc:
        log.exception("arming %d TMDb posts failed", len(msgs))
        from shared import activity

        try:
            activity.log("tmdb", "error", f"could not schedule {len(msgs)} post delivery message(s); the next "
                         "refresh retries", {"error": f"{type(exc).__name__}: {exc}"[:300]})
        except Exception:
            log.exception("could not record the arming failure")
        return 0
    with connection() as conn:
        conn.execute(
            "UPDATE tmdb_posts p SET message_id = v.mid FROM unnest(%s::uuid[], %s::int[], %s::text[]) "
            "AS v(id, version, mid) WHERE p.id = v.id AND p.version = v.version",
            ([m.body["postId"] for m in msgs], [m.body["version"] for m in msgs], ids))
    return len(ids)


def sweep(now: datetime | None = None) -> int:
    """Arm scheduled posts that have no message yet and are now within QStash's reach."""
    now = now or datetime.now(timezone.utc)
    from shared.db import connection

    with connection() as conn:
        rows = conn.execute(
            "SELECT id, version, scheduled_at, status FROM tmdb_posts WHERE status = 'scheduled' "
            "AND message_id IS NULL AND scheduled_at <= %s ORDER BY scheduled_at LIMIT %s",
            (now + HORIZON, SWEEP_LIMIT)).fetchall()
    return arm(rows, now)
