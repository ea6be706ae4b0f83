"""Queue: new items become planned posts, each delivered at its time by the dispatcher.

- `autoPost` off (or `globalRSSPosting` off, or no platform enabled): the item waits as `pending` for approval.
- On: one planned post per enabled platform, placed by `schedule.place` under a per-platform advisory lock (two
  feeds planning at once cannot take the same slot). Post times snap to the post grid (`postAlignMinutes`, or
  the governor's coarser one) unless the database is awake anyway, so posts to several platforms share one
  wake-up. A platform that cannot take the post (Pinterest without a board) is not planned; the item says why.
- Each planned post is armed in the dispatcher (shared/scheduling/dispatch.py) at its time: no QStash message
  per post. The dispatcher runs `deliver_due` when it is time; a post re-planned later is simply re-armed.
  Older delayed messages (`/api/internal/rss/publish`, version-checked) still work.
- Delivery publishes through `shared.publishing.gateway.publish` with idempotency key `rss:<item>:<platform>`:
  the engine behind it refuses a second post for the same key, so a repeated delivery never posts twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from shared.db.rows import one
from shared.rss import repo
from shared.rss.schedule import NoSlot, place

if TYPE_CHECKING:
    from shared.activity import Level

log = logging.getLogger("screndly.rss.queue")

PUBLISH_PATH = "/api/internal/rss/publish"
PLACEMENT_HORIZON = timedelta(days=7)
POST_KIND = "rss.post"  # the dispatcher kind that delivers planned posts (shared/rss/timing.py)
AWAKE_NOW = timedelta(minutes=4)  # a slot this close to planning time is taken as is: the database is awake
EARLY_TOLERANCE = timedelta(seconds=60)  # a post armed a little early (clock skew) still goes


def enabled_platforms(feed: dict) -> list[str]:
    from shared.rss.pipeline import PLATFORMS

    flags = feed.get("platforms_enabled") or {}
    return [p for p in PLATFORMS if flags.get(p)]


def message_for(post: dict, now: datetime) -> tuple[str, str, float]:
    """What arms a planned post in the dispatcher: (kind, planned post id, epoch seconds)."""
    return (POST_KIND, str(post["id"]), post["scheduled_at"].timestamp())


def cannot_post(platform: str, pinterest_board: str) -> str | None:
    """Why a platform cannot take an RSS post at all (so none is planned), else None. Pure."""
    if platform == "pinterest" and not pinterest_board:
        return ("pinterest: no board chosen (set the RSS Pinterest board, rssPinterestBoard, or a default board "
                "in Pinterest's platform settings); nothing was planned for Pinterest")
    return None


def plan_posts(conn, item_id: str, platforms: list[str], rules, now: datetime,
               approved: bool = False, pinterest_board: str | None = None) -> tuple[list[dict], list[str]]:
    """Inside the caller's transaction: place and upsert one post per platform. Returns (posts, problems).
    `approved`: the owner asked for these posts (approve, retry), not autoPost."""
    if pinterest_board is None and "pinterest" in platforms:
        from shared.rss.config import pinterest_board as board_setting

        pinterest_board = board_setting(conn)
    posts, problems = [], []
    for platform in sorted(platforms):  # fixed lock order: no deadlock between two planners
        why = cannot_post(platform, pinterest_board or "")
        if why:
            problems.append(why)
            continue
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"rss:place:{platform}",))
        taken = repo.taken_slots(conn, platform, repo.horizon_start(now))
        try:
            at = place(platform, now, taken, rules, horizon=PLACEMENT_HORIZON, awake_until=now + AWAKE_NOW)
        except NoSlot as exc:
            problems.append(f"{platform}: {exc}")
            continue
        post = repo.upsert_planned_post(conn, item_id, platform, at, approved)
        if post is not None:
            posts.append(post)
    return posts, problems


def enqueue_item(feed: dict, item_id: str, settings, now: datetime, outgoing: list,
                 approved: bool = False) -> str:
    """Decide pending vs queued for a captioned item; appends what arms its posts (`message_for`) to
    `outgoing`."""
    from shared import activity
    from shared.db import transaction

    platforms = enabled_platforms(feed)
    meta = {"feedId": str(feed["id"]), "itemId": item_id}
    with transaction() as conn:
        item = conn.execute("SELECT title FROM rss_items WHERE id = %s", (item_id,)).fetchone()
        title = (item or {}).get("title", "")[:120]
        if not feed.get("auto_post") or not settings.global_posting or not platforms:
            why = ("autoPost is off" if not feed.get("auto_post") else
                   "global RSS posting is off" if not settings.global_posting else "no platform is enabled")
            repo.update_item(conn, item_id, status="pending", reason=f"waiting for approval ({why})",
                             platforms=platforms)
            activity.log("rss", "info", f"pending approval: {title}", {**meta, "why": why}, conn=conn)
            return "pending"
        posts, problems = plan_posts(conn, item_id, platforms, settings.posting, now, approved,
                                     pinterest_board=getattr(settings, "pinterest_board", None))
        if not posts:
            reason = "no slot for any platform: " + "; ".join(problems)
            repo.update_item(conn, item_id, status="failed", error=reason, platforms=platforms)
            activity.log("rss", "error", f"failed: {title} ({reason})", meta, conn=conn)
            return "failed"
        first = min(p["scheduled_at"] for p in posts)
        repo.update_item(conn, item_id, status="queued", platforms=[p["platform"] for p in posts],
                         scheduled_for=first, reason="; ".join(problems) or None, error=None)
        activity.log("rss", "info", f"queued: {title}",
                     {**meta, "slots": {p["platform"]: p["scheduled_at"].isoformat() for p in posts},
                      "skipped": problems}, conn=conn)
    outgoing.extend(message_for(p, now) for p in posts)
    return "queued"


def send(outgoing: list) -> int:
    """Arm the planned posts in the dispatcher (one Redis command; a QStash wake-up only when one is due before
    the next armed one). A failure leaves them planned: the RSS housekeeping sweep arms them."""
    if not outgoing:
        return 0
    from shared.scheduling import dispatch

    dispatch.arm(outgoing)
    return len(outgoing)


def send_or_log(outgoing: list, meta: dict | None = None) -> int:
    """`send`, for callers that already committed the plan: Redis or QStash being down must not fail the
    request; the posts stay planned and the housekeeping sweep arms them."""
    try:
        return send(outgoing)
    except Exception as exc:
        from shared import activity

        log.exception("arming %d planned posts failed", len(outgoing))
        try:
            activity.log("rss", "error", f"could not arm {len(outgoing)} planned post(s); "
                         "the next housekeeping run arms them", {**(meta or {}),
                                                                 "error": f"{type(exc).__name__}: {exc}"[:300]})
        except Exception:
            log.exception("could not record the arming failure")
        return 0


def unarmed(now: datetime, armed: set[str], horizon: timedelta = timedelta(hours=2)) -> list[tuple[str, str, float]]:
    """Planned posts due within `horizon` that the dispatcher does not hold (Redis was down when they were
    planned, or lost them): what arms them again. A post that already went is not `planned` any more."""
    from shared.db import connection

    with connection() as conn:
        rows = conn.execute(
            "SELECT id, scheduled_at FROM rss_planned_posts WHERE status = 'planned' AND scheduled_at <= %s "
            "ORDER BY scheduled_at LIMIT 500", (now + horizon,)).fetchall()
    return [(POST_KIND, str(r["id"]), r["scheduled_at"].timestamp()) for r in rows if str(r["id"]) not in armed]


def deliver_due(planned_post_id: str, now: datetime) -> dict:
    """The dispatcher's delivery: publish the post if it is still planned and its time has come. A post that
    was re-planned for later answers `rearm` with its new time; anything else that changed is a no-op."""
    from shared.db import connection

    with connection() as conn:
        post = conn.execute("SELECT version, status, scheduled_at FROM rss_planned_posts WHERE id = %s",
                            (planned_post_id,)).fetchone()
    if post is None:
        return {"stale": True, "why": "planned post no longer exists"}
    if post["status"] != "planned":
        return {"stale": True, "why": f"planned post is already {post['status']}"}
    if post["scheduled_at"] > now + EARLY_TOLERANCE:
        return {"rearm": post["scheduled_at"].timestamp()}
    return deliver(planned_post_id, post["version"])


def cancel_reason(feed: dict | None, platform: str, *, approved: bool, global_posting: bool) -> str | None:
    """Why a planned post must not go out any more, judged at delivery time from the feed and settings as they
    are now (the owner may have changed them since the post was planned); None when it may go out."""
    if feed is None:
        return "the feed was deleted"
    if not feed.get("enabled"):
        return "the feed is disabled"
    if feed.get("status") == "paused":
        return "the feed is paused"
    if not (feed.get("platforms_enabled") or {}).get(platform):
        return f"{platform} is turned off for this feed"
    if not approved and not global_posting:
        return "global RSS posting is off"
    if not approved and not feed.get("auto_post"):
        return "autoPost is off for this feed"
    return None


# --- delivery ------------------------------------------------------------------------------------------------
_OUTCOME_TO_STATUS = {"published": "posted", "dry_run": "dry_run", "failed": "failed", "unconfirmed": "failed"}


def deliver(planned_post_id: str, version: int) -> dict:
    """Publish one planned post if the message is still current. Idempotent: a stale or repeated message is a
    no-op that says why."""
    from shared.db import transaction

    with transaction() as conn:
        post = conn.execute("SELECT * FROM rss_planned_posts WHERE id = %s FOR UPDATE",
                            (planned_post_id,)).fetchone()
        if post is None:
            return {"stale": True, "why": "planned post no longer exists"}
        if post["version"] != version:
            return {"stale": True, "why": f"planned post changed (version {post['version']} != {version})"}
        if post["status"] != "planned":
            return {"stale": True, "why": f"planned post is already {post['status']}"}
        item = repo.get_item(conn, str(post["item_id"]))
        if item is None or item["dismissed"]:
            conn.execute("UPDATE rss_planned_posts SET status = 'cancelled', updated_at = now() WHERE id = %s",
                         (planned_post_id,))
            return {"stale": True, "why": "item was deleted"}
        feed = repo.get_feed(conn, str(item["feed_id"])) if item["feed_id"] else None
        from shared.settings.store import read_settings

        rss_settings = read_settings(_SETTING_KEYS, conn=conn)
        global_posting = bool(rss_settings.get("globalRSSPosting", True))
        why = cancel_reason(feed, post["platform"], approved=bool(post.get("approved")), global_posting=global_posting)
        if why:
            return _cancel(conn, post, item, why)
        conn.execute("UPDATE rss_planned_posts SET status = 'publishing', updated_at = now() WHERE id = %s",
                     (planned_post_id,))
    platform = post["platform"]
    request = publish_request(post, item, feed, rss_settings)
    try:
        outcome = publish_for_rss(request, approved=bool(post.get("approved")))
    except Exception as exc:  # the engine failed: record it; never auto-retry a publish blindly
        log.exception("publish failed for planned post %s", planned_post_id)
        error = f"{type(exc).__name__}: {exc}"[:500]
        result = {"platform": platform, "status": "failed", "error": error,
                  "postedAt": datetime.now(timezone.utc).isoformat()}
        return record(planned_post_id, "failed", result, error)
    if outcome.status in ("scheduled", "skipped"):
        # accepted but not settled (rate limit, transient retry, platform processing, another worker on it):
        # the engine's settle listener (on_publication_settled) brings the final state
        return _wait(planned_post_id, item, platform, outcome)
    return record(planned_post_id, *result_of(outcome, platform))


_SETTING_KEYS = ["globalRSSPosting", "rssPinterestBoard", "platformSettings"]


def publish_request(post: dict, item: dict, feed: dict | None, rss_settings: dict):
    """What a planned post publishes, resolved from the item, feed and settings as they are now: the delivery
    at the slot and the carry ahead (carry_ahead) both build it here, under the same idempotency key."""
    from shared.publishing.gateway import PublishRequest
    from shared.rss.textlength import shorten

    platform = post["platform"]
    images = [i["url"] for i in (item["images"] or []) if not i.get("rejected")]
    per_platform = str(((feed or {}).get("platform_image_counts") or {}).get(platform) or "")
    if per_platform in ("1", "2", "3"):  # the feed's per-platform override of imageCount
        images = images[: int(per_platform)]
    text = shorten(item["caption"] or item["title"], platform)
    content = {"text": text, "title": item["title"], "link": item.get("link"), "imageUrls": images}
    if platform == "pinterest":
        from shared.rss.config import board_of

        content["boardId"] = board_of(rss_settings) or None
    return PublishRequest(idempotency_key=f"rss:{item['id']}:{platform}", platform=platform, source="rss",
                          source_ref=str(item["id"]), content=content)


def publish_for_rss(request, approved: bool):
    """Publish one planned post through the gateway. An approved post (the owner approved or retried it) runs a
    failed attempt again, but only when the engine holds proof that attempt posted nothing."""
    from shared.publishing.gateway import publish

    outcome = publish(request)
    if approved and confirmed_absent(outcome):
        from shared.publishing.engine import publications
        from shared.publishing.engine.service import rearm

        failed_row = publications.get(str(outcome.details["publicationId"]))
        if failed_row is not None and rearm(failed_row, "an approved RSS retry"):
            outcome = publish(request)
    return outcome


def result_of(outcome, platform: str) -> tuple[str, dict, str | None]:
    """A final gateway outcome -> (planned post status, platform result for the item, error)."""
    status = _OUTCOME_TO_STATUS.get(outcome.status, "failed")
    error = outcome.error or (None if status != "failed" else f"publisher answered {outcome.status}")
    if outcome.status == "unconfirmed":  # the platform may have the post: a retry reuses the same key
        error = "unconfirmed: the platform did not confirm the post; check it before retrying" + (
            f" ({outcome.error})" if outcome.error else "")
    shown = "skipped" if outcome.details.get("skipped") else "posted" if status in ("posted", "dry_run") else status
    result = {"platform": platform, "status": shown,
              "dryRun": status == "dry_run", "id": outcome.platform_post_id, "url": outcome.url,
              "error": error, "kind": outcome.details.get("kind"),
              "publicationId": outcome.details.get("publicationId"),
              "provenAbsent": bool(outcome.details.get("provenAbsent")),
              "postedAt": (outcome.posted_at or datetime.now(timezone.utc)).isoformat()}
    return status, result, error


def record(planned_post_id: str, status: str, result: dict, error: str | None) -> dict:
    """Write a planned post's final state once (from the delivery, or from the engine's settle listener,
    whichever comes first), settle its item, log it, and notify when the item is done. One exception: a post
    recorded failed as *unconfirmed* becomes posted when the engine's re-checks later find it on the platform
    (the owner would otherwise see "failed" for a post that is live)."""
    from shared import activity
    from shared.db import transaction

    with transaction() as conn:
        post = conn.execute(
            "UPDATE rss_planned_posts SET status = %s, outcome = %s, error = %s, updated_at = now() "
            "WHERE id = %s AND (status IN ('publishing', 'waiting') OR (status = 'failed' AND %s = 'posted' "
            "AND error LIKE 'unconfirmed:%%')) RETURNING item_id, platform",
            (status, _json(result), error, planned_post_id, status)).fetchone()
        if post is None:  # already recorded (the listener ran inside the publish call) or cancelled/replanned
            row = conn.execute("SELECT p.platform, p.status, i.status AS item_status FROM rss_planned_posts p "
                               "JOIN rss_items i ON i.id = p.item_id WHERE p.id = %s", (planned_post_id,)).fetchone()
            return {"status": row["status"] if row else status, "platform": result["platform"],
                    "item": (row or {}).get("item_status")}
        item = one(repo.get_item(conn, str(post["item_id"])))  # posts reference their item (foreign key)
        platform = post["platform"]
        final = _settle_item(conn, str(item["id"]))
        level: Level = "error" if status == "failed" else "info"
        verb = {"posted": "posted", "dry_run": "dry run: recorded (not sent)", "failed": "failed",
                "skipped": "skipped"}[status]
        activity.log("rss", level, f"{verb} on {platform}: {item['title'][:120]}" + (f" ({error})" if error else ""),
                     {"itemId": str(item["id"]), "feedId": str(item["feed_id"]), "platform": platform,
                      "status": status, "error": error}, conn=conn)
        if final in ("published", "failed"):
            ok = final == "published"
            activity.notify("success" if ok else "error",
                            ("Posted" if ok else "Post failed") + f": {item['title'][:80]}",
                            "" if ok else (error or "one or more platforms failed"), source="rss",
                            action_page="rss", conn=conn)
    return {"status": status, "platform": platform, "item": final}


def _wait(planned_post_id: str, item: dict, platform: str, outcome) -> dict:
    from shared import activity
    from shared.db import transaction

    d = outcome.details
    why = ("the platform is processing it" if d.get("processing") else
           "another worker is publishing it" if outcome.status == "skipped" else
           f"it runs again at {d['scheduledAt']}" if d.get("scheduledAt") else "it runs again later")
    if outcome.error:
        why += f" ({outcome.error})"
    waiting = {"platform": platform, "status": "waiting", "why": why, "publicationId": d.get("publicationId"),
               "scheduledAt": d.get("scheduledAt")}
    with transaction() as conn:
        row = conn.execute("UPDATE rss_planned_posts SET status = 'waiting', outcome = %s, error = NULL, "
                           "updated_at = now() WHERE id = %s AND status = 'publishing' RETURNING id",
                           (_json(waiting), planned_post_id)).fetchone()
        if row is None:  # the engine settled it already and the listener recorded it
            return {"status": "settled", "platform": platform, "item": None}
        activity.log("rss", "info", f"waiting on {platform}: {item['title'][:120]} ({why})",
                     {"itemId": str(item["id"]), "feedId": str(item["feed_id"]), "platform": platform,
                      "status": "waiting", "publicationId": d.get("publicationId")}, conn=conn)
    return {"status": "waiting", "platform": platform, "item": "queued", "why": why}


def confirmed_absent(outcome) -> bool:
    """The engine's structured "safe to post again": a failed publication it holds proof about."""
    return (outcome.status == "failed" and bool(outcome.details.get("provenAbsent"))
            and bool(outcome.details.get("publicationId")))


def retry_verdict(post: dict) -> tuple[bool, str | None]:
    """Can a retry of this failed planned post change anything? The gateway re-runs only failures that posted
    nothing and may clear up (not connected, auth, transient); anything else it answers from its record.
    Returns (retry, why not). Pure."""
    outcome = post.get("outcome") or {}
    kind, error = outcome.get("kind"), post.get("error") or outcome.get("error") or ""
    if error.startswith("unconfirmed"):
        return False, ("the platform may already have this post (unconfirmed): check the account; a retry "
                       "would not post it again")
    if kind == "content":
        return False, f"the post breaks the platform's rules ({error}); a retry would send the same content"
    if kind == "internal":
        return False, f"publishing hit an internal error ({error}); the same request would fail the same way"
    if kind == "unknown":
        if outcome.get("provenAbsent") and outcome.get("publicationId"):
            return True, None  # the engine holds proof nothing was posted: it may run it again
        return False, f"the outcome on the platform is unknown ({error}); check the account before posting again"
    return True, None


def on_publication_settled(source: str, source_ref: str | None, platform: str, publication: dict) -> None:
    """The engine's settle listener (registered in shared/rss/__init__.py): a publication RSS handed over has
    reached its final state; record it on the planned post that is publishing or waiting for it."""
    from shared.db import connection
    from shared.publishing.gateway import outcome_of

    key = str(publication.get("idempotency_key") or "").removeprefix("dry_run:")
    if source != "rss" or not source_ref or key != f"rss:{source_ref}:{platform}":
        return
    with connection() as conn:
        post = conn.execute("SELECT id FROM rss_planned_posts WHERE item_id = %s AND platform = %s "
                            "AND (status IN ('publishing', 'waiting') OR (status = 'failed' "
                            "AND error LIKE 'unconfirmed:%%'))", (source_ref, platform)).fetchone()
    if post is None:
        return
    record(str(post["id"]), *result_of(outcome_of(publication, platform, "settled"), platform))


def reconcile_waiting(limit: int = 20, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Safety net for a settle the listener missed (a listener failure, a process without RSS loaded): ask the
    engine about posts that have waited a while. One query, plus one per waiting post (bounded)."""
    from shared.db import connection
    from shared.publishing.engine import publications

    with connection() as conn:
        rows = conn.execute(
            "SELECT p.id, p.item_id, p.platform, p.outcome->>'publicationId' AS pub FROM rss_planned_posts p "
            "WHERE p.status = 'waiting' AND p.updated_at < now() - %s::interval ORDER BY p.updated_at LIMIT %s",
            (f"{int(older_than.total_seconds())} seconds", limit)).fetchall()
    n = 0
    for r in rows:
        pub = publications.get(r["pub"]) if r["pub"] else None
        if pub and pub.get("state") in publications.TERMINAL:
            on_publication_settled(str(pub.get("source")), str(pub.get("source_ref")), r["platform"], pub)
            n += 1
        else:
            with connection() as conn:  # still waiting: look again in `older_than`
                conn.execute("UPDATE rss_planned_posts SET updated_at = now() WHERE id = %s AND status = 'waiting'",
                             (r["id"],))
    return n


def _cancel(conn, post: dict, item: dict, why: str) -> dict:
    """Inside deliver's transaction: the post will not go out; the item waits for approval if nothing else of
    it is left to publish."""
    from shared import activity

    conn.execute("UPDATE rss_planned_posts SET status = 'cancelled', error = %s, updated_at = now() WHERE id = %s",
                 (f"cancelled: {why}", post["id"]))
    final = _settle_item(conn, str(item["id"]), cancelled_because=why)
    activity.log("rss", "info", f"cancelled on {post['platform']}: {item['title'][:120]} ({why})",
                 {"itemId": str(item["id"]), "feedId": str(item["feed_id"]) if item["feed_id"] else None,
                  "platform": post["platform"], "status": "cancelled", "reason": why}, conn=conn)
    return {"status": "cancelled", "platform": post["platform"], "why": why, "item": final}


def _json(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _settle_item(conn, item_id: str, cancelled_because: str | None = None) -> str | None:
    """When every planned post of the item has finished: published if none failed, else failed. When all of
    them were cancelled (`cancelled_because`), the item goes back to waiting for approval: nothing is lost.

    The item row is locked first: two deliveries of the same item finishing together serialise here, and the
    second one (READ COMMITTED: a fresh snapshot per statement) sees the first's result and settles the item."""
    conn.execute("SELECT id FROM rss_items WHERE id = %s FOR UPDATE", (item_id,))
    posts = conn.execute("SELECT platform, status, outcome, error FROM rss_planned_posts WHERE item_id = %s "
                         "AND status <> 'cancelled'", (item_id,)).fetchall()
    results = [p["outcome"] for p in posts if p["outcome"]]
    if not posts:
        repo.update_item(conn, item_id, status="pending", scheduled_for=None,
                         reason=f"waiting for approval (planned posts cancelled: {cancelled_because or 'cancelled'})")
        return "pending"
    if any(p["status"] in ("planned", "publishing", "waiting") for p in posts):
        repo.update_item(conn, item_id, platform_results=results)
        return None
    failed = [p for p in posts if p["status"] == "failed"]
    dry = any(p["status"] == "dry_run" for p in posts)
    if failed:
        errors = "; ".join(f"{p['platform']}: {p['error']}" for p in failed)
        repo.update_item(conn, item_id, status="failed", error=errors[:1000], platform_results=results)
        return "failed"
    conn.execute("UPDATE rss_items SET status = 'published', posted_at = now(), platform_results = %s, error = NULL, "
                 "reason = %s, updated_at = now() WHERE id = %s",
                 (_json(results), "dry run: recorded, nothing was sent to the platforms" if dry else None, item_id))
    return "published"


# --- carried ahead (PUBLISH_STAGING; shared/publishing/staging/ahead.py) --------------------------------------
# A planned post due within the staging horizon gets its publication created and staged in an awake window; the
# post then waits (`waiting`, carried_by = the publication) and its `rss.post` item is disarmed: the slot wakes no
# database, and the settle listener records the outcome as for any waiting post. Owner changes that would cancel
# it at delivery (feed disabled, paused or deleted, a platform or autoPost turned off, global posting off, the
# item dismissed) first release the stage (409 while it is being sent), then give the post back to its own
# delivery at the slot, which applies them as it always did.
CARRY_LOCK = "rss:carry"  # owner changes take it exclusively, hand-overs shared: a hand-over never misses one
CARRY_BATCH = 50


def carry_ahead(horizon_seconds: float, lead_seconds: float) -> dict[str, int]:
    """The staging window's provider: carry the planned posts due within the horizon (oldest first)."""
    from shared import clock
    from shared.db import connection
    from shared.publishing.staging.eligibility import TARGETS

    now = clock.now()  # the application's clock, as the deliveries judge "due" (the simulation moves it)
    with connection() as conn:
        rows = conn.execute(
            "SELECT id FROM rss_planned_posts WHERE status = 'planned' AND platform = ANY(%s) "
            "AND scheduled_at > %s AND scheduled_at <= %s ORDER BY scheduled_at LIMIT %s",
            (list(TARGETS), now + timedelta(seconds=lead_seconds), now + timedelta(seconds=horizon_seconds),
             CARRY_BATCH)).fetchall()
    from shared.publishing.staging import ahead

    return ahead.carry_each("rss", "plannedPostId", [str(r["id"]) for r in rows], carry_one)


def _judge(conn, post_id: str, *, lock: bool) -> tuple[dict | None, dict | None, dict | None, dict, str | None]:
    """(post, item, feed, settings, why it may not be carried) as the delivery would judge it now."""
    from shared.settings.store import read_settings

    post = conn.execute("SELECT * FROM rss_planned_posts WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                        (post_id,)).fetchone()
    if post is None or post["status"] != "planned":
        return post, None, None, {}, "no longer planned"
    item = repo.get_item(conn, str(post["item_id"]))
    if item is None or item["dismissed"]:
        return post, item, None, {}, "the item was dismissed"
    feed = repo.get_feed(conn, str(item["feed_id"])) if item["feed_id"] else None
    rss_settings = read_settings(_SETTING_KEYS, conn=conn)
    why = cancel_reason(feed, post["platform"], approved=bool(post.get("approved")),
                        global_posting=bool(rss_settings.get("globalRSSPosting", True)))
    return post, item, feed, rss_settings, why


def carry_one(post_id: str) -> str | None:
    """Carry one planned post: None when handed over to its staged publication, else why it stays on its own
    delivery at the slot (a post the delivery would cancel is left to it, as with staging off)."""
    from shared import activity
    from shared.db import connection, transaction
    from shared.publishing.staging import ahead

    with connection() as conn:
        post, item, feed, rss_settings, why = _judge(conn, post_id, lock=False)
    if why or post is None or item is None:
        return why or "gone"
    request = publish_request(post, item, feed, rss_settings)
    pub_id, why = ahead.carry(request, post["scheduled_at"])
    if pub_id is None:
        return why
    handed = False
    with transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (CARRY_LOCK,))
        now_post, _, _, _, why = _judge(conn, post_id, lock=True)
        if (why is None and now_post is not None and now_post["version"] == post["version"]
                and now_post["scheduled_at"] == post["scheduled_at"]):
            slot = post["scheduled_at"].astimezone(timezone.utc).isoformat()
            waiting = {"platform": post["platform"], "status": "waiting", "publicationId": pub_id,
                       "scheduledAt": slot, "why": "pre-staged: it goes out at its time"}
            conn.execute("UPDATE rss_planned_posts SET status = 'waiting', carried_by = %s, outcome = %s, "
                         "error = NULL, updated_at = now() WHERE id = %s", (pub_id, _json(waiting), post_id))
            activity.log("rss", "info", f"pre-staged on {post['platform']}: {item['title'][:120]} (goes out {slot})",
                         {"itemId": str(item["id"]), "feedId": str(item["feed_id"]), "platform": post["platform"],
                          "status": "waiting", "publicationId": pub_id}, conn=conn)
            handed = True
        elif now_post is None or now_post["status"] not in ("waiting", "publishing"):
            # the owner changed it meanwhile: their change wins. Withdrawn under the post's lock: a delivery that
            # took the post right after this commit would otherwise find the publication and wait on it while it
            # is deleted
            ahead.withdraw([pub_id])
            return why or "changed meanwhile"
    if not handed:
        # another window handed it over, or its delivery ran and found this very publication: it is theirs
        return "carried or delivered meanwhile"
    ahead.disarm(POST_KIND, post_id)  # an item left behind finds the post waiting and does nothing
    return None


class OwnerChange:
    """An owner's change that the delivery would have applied at the slot, for the carried posts in `scope` (a
    condition on rss_planned_posts p joined with rss_items i). Built before the change: releases their stages
    (409 while one is being sent; nothing changed). `in_transaction(conn)`, first thing in the change's own
    transaction: deletes their publications (still planned) and puts the posts back to `planned`, to be
    delivered (and cancelled, or published) at their slot as with staging off. `failed()` if that transaction
    did not commit, `after()` once it did. With staging off and nothing carried: one indexed query, no more."""

    def __init__(self, scope: str, params: tuple, what: str, meta: dict):
        from shared.config import get_config
        from shared.db import connection
        from shared.publishing.staging import ahead

        self.scope, self.params, self.what, self.meta = scope, params, what, meta
        with connection() as conn:
            carried = self._carried(conn, lock=False)
        self.active = bool(carried) or bool(get_config().publish_staging)
        self.released = ahead.release([str(r["carried_by"]) for r in carried], "rss", what, meta) if carried else []
        self.reverted: list[tuple[str, str, float]] = []

    def _carried(self, conn, *, lock: bool) -> list[dict]:
        return conn.execute(
            "SELECT p.id, p.carried_by, p.scheduled_at FROM rss_planned_posts p JOIN rss_items i ON i.id = p.item_id "
            f"WHERE p.carried_by IS NOT NULL AND p.status = 'waiting' AND ({self.scope}) ORDER BY p.id"
            + (" FOR UPDATE OF p" if lock else ""), self.params).fetchall()

    def in_transaction(self, conn) -> None:
        from shared.publishing.staging import ahead

        if not self.active:
            return
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (CARRY_LOCK,))
        rows = self._carried(conn, lock=True)
        dropped = ahead.drop(conn, [str(r["carried_by"]) for r in rows], "rss", self.what, self.meta)
        back = [r for r in rows if str(r["carried_by"]) in dropped]
        if back:
            conn.execute("UPDATE rss_planned_posts SET status = 'planned', carried_by = NULL, outcome = NULL, "
                         "error = NULL, version = version + 1, updated_at = now() WHERE id = ANY(%s::uuid[])",
                         ([str(r["id"]) for r in back],))
        self.reverted = [(POST_KIND, str(r["id"]), r["scheduled_at"].timestamp()) for r in back]

    def failed(self) -> None:
        from shared.publishing.staging import ahead

        ahead.keep_at_slot(self.released)

    def after(self) -> None:
        send_or_log(self.reverted, self.meta)


@contextmanager
def owner_change(scope: str, params: tuple, what: str, meta: dict) -> Iterator[Any]:
    """`with owner_change(...) as conn:` the owner's change, in one transaction with the carried posts' return
    to their delivery (see OwnerChange)."""
    from shared.db import transaction

    change = OwnerChange(scope, params, what, meta)
    try:
        with transaction() as conn:
            change.in_transaction(conn)
            yield conn
    except BaseException:
        change.failed()
        raise
    change.after()


def settings_guard(patch: dict) -> OwnerChange | None:
    """The settings save's guard. Turning global RSS posting off cancels, at delivery, every post the owner did
    not approve; a change of publishMode decides, at delivery, whether a post is sent or only recorded (a dry
    run is never carried): the carried posts concerned go back to their delivery first."""
    from shared.settings.store import read_settings

    now = read_settings(["publishMode", "globalRSSPosting"])  # a client echoing a value back changes nothing
    if "publishMode" in patch and (patch["publishMode"] or "") != (now.get("publishMode") or ""):
        return OwnerChange("true", (), "publish mode changed", {})
    if "globalRSSPosting" in patch and not patch["globalRSSPosting"] and now.get("globalRSSPosting", True):
        return OwnerChange("NOT p.approved", (), "global RSS posting off", {})
    return None
