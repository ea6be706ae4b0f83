"""Arming a planned TMDb post to fire at its time: the ONE place that knows how (switch it here).

Like RSS's planned posts (shared/rss/timing.py), each scheduled TMDb post is a dispatcher item
(shared/scheduling/dispatch.py) of kind `tmdb.post`, keyed by the post's id, with the post's time as its score:
no QStash message per post (a post for tomorrow costs nothing until then; posts due at the same time share one
wake-up, and the hourly safety net reaches a post on the full hour for free).

Stale-safe: the handler re-reads the post when its item comes due.
- rescheduled: arming again moves the one item (same member, new score); an item that still fires at the old
  time finds the post's time later and re-arms it there: never published early;
- deleted, published (by hand or by an earlier delivery), failed, queued: the item does nothing;
- due and `scheduled`: `delivery.deliver(post, version)` publishes it; that marks the post `publishing` in the
  transaction that checks it, so a repeated item (a lease that ran out) finds it busy, and the gateway's
  idempotency key makes a repeat publish return the first outcome.

Callers use only `arm(posts)` after their transaction committed and `sweep(now)` (every refresh: arms scheduled
posts the dispatcher does not hold, e.g. after Redis lost its data; not those carried by their pre-staged
publications, delivery.carry_ahead, whose item was disarmed on purpose).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from shared.scheduling.dispatch import Kind, Tick, register

log = logging.getLogger("screndly.tmdb.dispatch")

KIND = "tmdb.post"
PUBLISH_PATH = "/api/internal/tmdb/publish"  # the old delayed messages' route: still answers them, stale-safe
SWEEP_LIMIT = 500
EARLY_SLACK = timedelta(seconds=1)

register(Kind(KIND, "shared.tmdb.dispatch:deliver_due", needs_db=True, order=35))


def arm(posts: list[dict], now: datetime | None = None) -> int:
    """Arm `scheduled` posts (dicts with id, scheduled_at, status). Returns how many were armed. Redis being
    unreachable is logged, not raised: the posts stay unarmed and the next sweep arms them."""
    from shared.scheduling import dispatch

    items = [(KIND, str(p["id"]), p["scheduled_at"].timestamp()) for p in posts
             if p.get("status") == "scheduled" and p.get("scheduled_at")]
    if not items:
        return 0
    try:
        dispatch.arm(items)
    except Exception as exc:
        log.exception("arming %d TMDb posts failed", len(items))
        from shared import activity

        try:
            activity.log("tmdb", "error", f"could not schedule {len(items)} post(s) for delivery; the next "
                         "refresh retries", {"error": f"{type(exc).__name__}: {exc}"[:300]})
        except Exception:
            log.exception("could not record the arming failure")
        return 0
    return len(items)


def sweep(now: datetime | None = None) -> int:
    """Arm scheduled posts the dispatcher does not hold (Redis lost them, an arm failed)."""
    from shared.db import connection
    from shared.scheduling import dispatch

    now = now or datetime.now(timezone.utc)
    with connection() as conn:
        rows = conn.execute(
            "SELECT id, scheduled_at, status FROM tmdb_posts WHERE status = 'scheduled' "
            "AND scheduled_at IS NOT NULL AND carried_by IS NULL ORDER BY scheduled_at LIMIT %s",
            (SWEEP_LIMIT,)).fetchall()
    if not rows:
        return 0
    held = {dispatch.split(m)[1] for m in dispatch.pending(KIND)}
    return arm([r for r in rows if str(r["id"]) not in held], now)


def disarm(post_id: str) -> None:
    from shared.scheduling import dispatch

    try:
        dispatch.disarm(KIND, [post_id])
    except Exception:  # the item will find the post gone and do nothing
        log.warning("could not disarm TMDb post %s", post_id, exc_info=True)


def deliver_due(t: Tick, refs: list[str]) -> None:
    """The dispatcher's handler: publish the due posts; re-arm those whose time moved later."""
    from shared import clock
    from shared.db import connection
    from shared.errors import NotFound, uuid_or_not_found

    ids = []
    for ref in refs:
        try:
            ids.append(uuid_or_not_found(ref))
        except NotFound:
            continue
    if not ids:
        return
    with connection() as conn:
        rows = {str(r["id"]): r for r in conn.execute(
            "SELECT id, version, status, scheduled_at FROM tmdb_posts WHERE id = ANY(%s::uuid[])",
            ([str(i) for i in ids],)).fetchall()}
    now = clock.now()
    for ref in refs:
        post = rows.get(ref)
        if post is None or post["status"] != "scheduled" or post["scheduled_at"] is None:
            t.count("tmdb.stale")  # deleted, published, failed or unscheduled since it was armed
            continue
        if post["scheduled_at"] > now + EARLY_SLACK:  # moved later: never early
            t.arm(KIND, ref, post["scheduled_at"].timestamp())
            t.count("tmdb.rearmed")
            continue
        _deliver(t, ref, int(post["version"]), retry=True)


def _deliver(t: Tick, ref: str, version: int, *, retry: bool) -> None:
    from shared import clock
    from shared.tmdb import delivery

    try:
        res = delivery.deliver(ref, version)
    except Exception:  # one post's surprise never holds the others
        log.exception("delivery of TMDb post %s failed", ref)
        t.count("tmdb.delivery_errors")
        return
    if res.get("stale") and retry:
        # changed since it was read (the owner saved it while this tick held its item): read it again and follow
        # the new version, so a post moved or edited at that moment is never left without its item
        post = _read(ref)
        if post is not None and post["status"] == "scheduled" and post["scheduled_at"] is not None:
            if post["scheduled_at"] > clock.now() + EARLY_SLACK:
                t.arm(KIND, ref, post["scheduled_at"].timestamp())  # the commit keeps the owner's arm if there is one
                t.count("tmdb.rearmed")
                return
            _deliver(t, ref, int(post["version"]), retry=False)
            return
    t.count("tmdb.stale" if res.get("stale") else "tmdb.delivered")
    if not res.get("stale"):
        from shared.usage import meter

        meter.count("tmdb.runs")
        meter.gauge("tmdb.last_run", t.now)


def _read(ref: str) -> dict | None:
    from shared.db import connection

    with connection() as conn:
        return conn.execute("SELECT id, version, status, scheduled_at FROM tmdb_posts WHERE id = %s",
                            (ref,)).fetchone()
