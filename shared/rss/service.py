"""What the RSS routes do: validation beyond pydantic, DB work and the contract's JSON shapes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from shared.db import connection, transaction
from shared.db.rows import one
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.rss import queue, repo
from shared.rss.pipeline import PLATFORMS

DEFAULT_PLATFORMS = {"x": True, "threads": True, "facebook": False, "pinterest": False}
# what a feed without filters filters by (shared/rss/filters.py): the RSSFeed the SPA reads always has all three
DEFAULT_FILTERS = {"scope": "title_or_body", "required": [], "blocked": []}


def _iso(v: datetime | None) -> str | None:
    return v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if v else None


def feed_json(f: dict) -> dict[str, Any]:
    return {
        "id": str(f["id"]), "name": f["name"], "url": f["url"], "favicon": f["favicon"], "enabled": f["enabled"],
        "displayOrder": f["display_order"], "interval": f["interval_minutes"], "imageCount": f["image_count"],
        "platformImageCounts": f["platform_image_counts"], "dedupeDays": f["dedupe_days"],
        "filters": {**DEFAULT_FILTERS, **(f["filters"] or {})}, "serperEnabled": f["serper_enabled"],
        "tmdbEnabled": f["tmdb_enabled"],
        "serperPriority": f["serper_priority"], "openaiWebSearchEnabled": f["openai_web_search_enabled"],
        "imageSourcePriority": f["image_source_priority"], "rehostImages": f["rehost_images"],
        "autoPost": f["auto_post"], "platformsEnabled": {**DEFAULT_PLATFORMS, **(f["platforms_enabled"] or {})},
        "trickle": f["trickle"], "status": f["status"], "lastProcessedAt": _iso(f["last_processed_at"]),
        "nextRunAt": _iso(f["next_run_at"]), "errorMessage": f["error_message"],
        "consecutiveFailures": f["consecutive_failures"], "createdAt": _iso(f["created_at"]),
        "updatedAt": _iso(f["updated_at"]),
    }


# contract field -> (column, converter)
_FIELDS: dict[str, tuple[str, Any]] = {
    "name": ("name", str), "enabled": ("enabled", bool), "displayOrder": ("display_order", int),
    "interval": ("interval_minutes", int), "imageCount": ("image_count", str),
    "platformImageCounts": ("platform_image_counts", Jsonb), "dedupeDays": ("dedupe_days", int),
    "filters": ("filters", Jsonb), "serperEnabled": ("serper_enabled", bool), "tmdbEnabled": ("tmdb_enabled", bool),
    "serperPriority": ("serper_priority", bool), "openaiWebSearchEnabled": ("openai_web_search_enabled", bool),
    "imageSourcePriority": ("image_source_priority", str), "rehostImages": ("rehost_images", bool),
    "autoPost": ("auto_post", bool), "platformsEnabled": ("platforms_enabled", Jsonb), "trickle": ("trickle", str),
    "status": ("status", str), "favicon": ("favicon", str), "url": ("url", str),
}


def _columns(data: dict[str, Any], platforms_base: dict | None = None) -> dict[str, Any]:
    """Contract fields -> columns. Platforms not named keep `platforms_base` (the feed's current flags on update,
    the defaults on create)."""
    out = {}
    for key, value in data.items():
        if key in _FIELDS and value is not None:
            col, conv = _FIELDS[key]
            out[col] = conv(value)
    if "platforms_enabled" in out:
        flags = data["platformsEnabled"]
        base = {**DEFAULT_PLATFORMS, **(platforms_base or {})}
        out["platforms_enabled"] = Jsonb({p: bool(flags.get(p, base.get(p, False)))
                                          for p in set(PLATFORMS) | set(flags)})
    return out


def list_feeds() -> list[dict]:
    with connection() as conn:
        return [feed_json(f) for f in repo.list_feeds(conn)]


def _favicon(site: str | None, feed_url: str) -> str:
    p = urlsplit(site or feed_url)
    return f"{p.scheme or 'https'}://{p.netloc}/favicon.ico"


async def _fetch_feed(url: str):
    from shared.net.fetch import FetchError, fetch, make_client
    from shared.rss.parser import NotAFeed, parse_feed

    async with make_client(4) as client:
        try:
            result = await fetch(client, url)
            parsed = parse_feed(result.body, content_type=result.content_type, url=result.url)
        except FetchError as exc:
            raise ValidationFailed(f"could not fetch the feed: {exc.message}",
                                   details={"url": url, "kind": exc.kind}) from exc
        except NotAFeed as exc:
            raise ValidationFailed(f"not a feed: {exc.message}",
                                   details={"url": url, "discovered": exc.discovered}) from exc
    return result, parsed


def _refuse_taken_url(url: str, except_id: str | None = None) -> None:
    """One feed per URL (POST and PUT alike): a second one would fetch and post the same items twice."""
    with connection() as conn:
        other = conn.execute("SELECT id, name FROM rss_feeds WHERE url = %s AND id IS DISTINCT FROM %s::uuid",
                             (url, except_id)).fetchone()
    if other:
        raise Conflict(f"this feed URL is already added (as \"{other['name']}\")",
                       details={"url": url, "feedId": str(other["id"])})


def create_feed(data: dict[str, Any]) -> dict:
    """Fetch once (fills name and favicon, rejects non-feeds), then store the feed already seeded: the items it
    has today are remembered, not posted."""
    from shared import activity
    from shared.rss.pipeline import _entry_rows

    url = data["url"]
    _refuse_taken_url(url)
    result, parsed = asyncio.run(_fetch_feed(url))
    if result.permanent_redirect_to:
        _refuse_taken_url(result.permanent_redirect_to)
    cols = _columns({k: v for k, v in data.items() if k not in ("url",)})
    if cols.get("status") == "error":
        cols.pop("status")
    cols.setdefault("name", parsed.title or urlsplit(result.url).netloc)
    cols.setdefault("favicon", _favicon(parsed.link, result.url))
    cols["url"] = result.permanent_redirect_to or url
    cols["site_url"] = parsed.link
    cols["etag"], cols["last_modified"] = result.etag, result.last_modified
    cols["seeded"] = True
    now = datetime.now(timezone.utc)
    cols["last_fetched_at"] = now
    cols["next_run_at"] = now + timedelta(minutes=int(cols.get("interval_minutes", 10)))
    names = list(cols)
    with transaction() as conn:
        if "display_order" not in cols:
            top = one(conn.execute("SELECT COALESCE(MIN(display_order), 0) - 1 AS o FROM rss_feeds").fetchone())["o"]
            cols["display_order"] = top
            names.append("display_order")
        row = one(conn.execute(
            f"INSERT INTO rss_feeds ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) RETURNING id",
            [cols[n] for n in names]).fetchone())
        from shared.config import get_config

        rows = _entry_rows(parsed.entries[: get_config().rss_item_limit_per_fetch], "seen")
        repo.insert_items(conn, str(row["id"]), [{k: v for k, v in r.items() if k != "_entry"} for r in rows])
        activity.log("rss", "info", f"feed added: {cols['name']}",
                     {"feedId": str(row["id"]), "url": cols["url"], "existingItems": len(rows)}, conn=conn)
        out = feed_json(one(repo.get_feed(conn, str(row["id"]))))
    _feeds_changed(out["id"])
    return out


def _feeds_changed(*ids: str) -> None:
    """The feed checks keep their own copy of every feed in Redis (shared/rss/timing.py): update it."""
    from shared.rss.timing import feeds_changed

    feeds_changed(list(ids))


def update_feed(feed_id: str, data: dict[str, Any]) -> dict:
    with connection() as conn:
        current = repo.get_feed(conn, feed_id)
    if current is None:
        raise NotFound("feed not found")
    cols = _columns(data, current["platforms_enabled"])
    now = datetime.now(timezone.utc)
    status = cols.pop("status", None)
    # "error" is set by the server only; an unchanged status (a client echoing the feed back) changes nothing
    if status == "active" and current["status"] != "active":
        # resuming clears the failure streak so the backoff starts over, and runs the feed soon
        cols.update(status="active", consecutive_failures=0, error_message=None, next_run_at=now)
    elif status == "paused" and current["status"] != "paused":
        cols["status"] = "paused"
    if cols.get("enabled") and not current["enabled"]:
        cols["next_run_at"] = now
    seed_rows: list[dict] = []
    if "url" in cols and cols["url"] != current["url"]:
        # a new address is checked like a new feed, and what it holds today is remembered, not posted
        from shared.rss.pipeline import _entry_rows

        _refuse_taken_url(cols["url"], feed_id)
        result, parsed = asyncio.run(_fetch_feed(cols["url"]))
        if result.permanent_redirect_to:
            _refuse_taken_url(result.permanent_redirect_to, feed_id)
        cols.update(url=result.permanent_redirect_to or cols["url"], etag=result.etag,
                    last_modified=result.last_modified, site_url=parsed.link)
        from shared.config import get_config

        seed_rows = _entry_rows(parsed.entries[: get_config().rss_item_limit_per_fetch], "seen")
    else:
        cols.pop("url", None)
    if "interval_minutes" in cols and "next_run_at" not in cols:
        base = current["last_fetched_at"] or datetime.now(timezone.utc)
        cols["next_run_at"] = min(current["next_run_at"], base + timedelta(minutes=cols["interval_minutes"]))
    # a change the delivery would apply at the slot (disabled, paused, a platform or autoPost off): carried posts
    # of this feed go back to their delivery first (a post being sent right now answers 409, nothing changed)
    change = (queue.owner_change("i.feed_id = %s", (feed_id,), "feed edited", {"feedId": feed_id})
              if _holds_posts_back(current, cols) else transaction())
    with change as conn:
        if cols:
            sets = ", ".join(f"{c} = %s" for c in cols)
            conn.execute(f"UPDATE rss_feeds SET {sets}, updated_at = now() WHERE id = %s", (*cols.values(), feed_id))
        if seed_rows:
            repo.insert_items(conn, feed_id, [{k: v for k, v in r.items() if k != "_entry"} for r in seed_rows])
        out = feed_json(one(repo.get_feed(conn, feed_id)))
    _feeds_changed(feed_id)
    return out


def _holds_posts_back(current: dict, cols: dict[str, Any]) -> bool:
    """Whether a feed edit turns something off that its posts' delivery checks (queue.cancel_reason). A client
    echoing the feed back changes nothing and gives no carried post back."""
    if (cols.get("enabled") is False and current["enabled"]) or (cols.get("auto_post") is False and
                                                                current["auto_post"]):
        return True
    if cols.get("status") == "paused" and current["status"] != "paused":
        return True
    if "platforms_enabled" in cols:
        now, was = cols["platforms_enabled"].obj, current["platforms_enabled"] or {}
        return any(was.get(p) and not now.get(p) for p in was)
    return False


def delete_feed(feed_id: str) -> None:
    from shared import activity

    # its items and their planned posts go with it: carried ones give their publications up first
    with queue.owner_change("i.feed_id = %s", (feed_id,), "feed deleted", {"feedId": feed_id}) as conn:
        row = conn.execute("DELETE FROM rss_feeds WHERE id = %s RETURNING name", (feed_id,)).fetchone()
        if row is None:
            raise NotFound("feed not found")
        activity.log("rss", "info", f"feed deleted: {row['name']}", {"feedId": feed_id}, conn=conn)
    _feeds_changed(feed_id)


def reorder(ordered_ids: list[str]) -> list[dict]:
    with transaction() as conn:
        known = {str(r["id"]) for r in conn.execute("SELECT id FROM rss_feeds")}
        unknown = [i for i in ordered_ids if i not in known]
        if unknown:
            raise ValidationFailed("unknown feed ids in orderedIds", details={"unknown": unknown})
        if len(set(ordered_ids)) != len(ordered_ids):
            raise ValidationFailed("orderedIds contains duplicates")
        conn.execute("UPDATE rss_feeds f SET display_order = v.ord, updated_at = now() "
                     "FROM unnest(%s::uuid[], %s::int[]) AS v(id, ord) WHERE f.id = v.id",
                     (ordered_ids, list(range(len(ordered_ids)))))
        return [feed_json(f) for f in repo.list_feeds(conn)]


def get_feed_or_404(feed_id: str) -> dict:
    with connection() as conn:
        f = repo.get_feed(conn, feed_id)
    if f is None:
        raise NotFound("feed not found")
    return f


# --- previews ------------------------------------------------------------------------------------------------
def preview_url(url: str) -> dict:
    from shared.rss.images import first_content_image
    from shared.rss.textutil import strip_html, summarize

    result, parsed = asyncio.run(_fetch_feed(url))
    samples = []
    for e in parsed.entries[:5]:
        image = e.images[0].url if e.images else first_content_image(e.body_html, e.body_base or result.url)
        samples.append({"title": e.title, "link": e.link, "description": summarize(strip_html(e.summary_html or
                                                                                              e.content_html), 200),
                        "pubDate": _iso(e.published_at), "imageUrl": image})
    return {"title": parsed.title, "description": strip_html(parsed.description) or None, "link": parsed.link,
            "favicon": _favicon(parsed.link, result.url), "itemCount": len(parsed.entries), "sampleItems": samples,
            "finalUrl": result.url}


async def _dry_run(feed: dict) -> dict:
    from shared.net.fetch import make_client
    from shared.rss.config import load_run_settings
    from shared.rss.images import select_images, wanted_count
    from shared.rss.pipeline import RunContext, image_sources, make_caption
    from shared.rss.textlength import caption_length
    from shared.rss.textutil import strip_html, summarize

    _, parsed = await _fetch_feed(feed["url"])
    if not parsed.entries:
        raise ValidationFailed("the feed has no items to preview")
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    latest = max(parsed.entries, key=lambda e: (e.published_at or oldest, -e.position))
    settings = await asyncio.to_thread(load_run_settings)
    async with make_client(8) as client:
        ctx = RunContext(client=client, settings=settings)
        sel = await select_images(client, entry=latest, count=wanted_count(feed["image_count"], latest.link or ""),
                                  **image_sources(settings, feed, latest))
        caption, source = await make_caption(ctx, feed, latest)
    platform = "x" if (feed["platforms_enabled"] or {}).get("x", True) else "threads"
    return {"title": latest.title, "link": latest.link, "pubDate": _iso(latest.published_at),
            "snippet": summarize(strip_html(latest.body_html), 280),
            "images": [{"url": i.url, "reason": i.reason, "source": i.source, "width": i.width, "height": i.height}
                       for i in sel.selected],
            "rejectedImages": sel.rejected[:10], "caption": caption,
            "captionCharCount": caption_length(caption, platform), "captionPlatform": platform,
            "captionSource": source}


def preview_feed(feed_id: str) -> dict:
    return asyncio.run(_dry_run(get_feed_or_404(feed_id)))


# --- activity ------------------------------------------------------------------------------------------------
_API_STATUS = {"new": "pending", "pending": "pending", "queued": "pending", "published": "published",
               "failed": "failed", "filtered": "filtered", "duplicate": "filtered"}


def display_title(i: dict) -> str:
    """The item's headline as text. Rows stored before titles were cleaned at parse time are cleaned here
    (plain-text rules: clean text passes unchanged); an entry without a title shows the start of its summary."""
    from shared.rss.textutil import clean_title, summarize

    return clean_title(i["title"], is_html=False) or summarize(i.get("summary") or "", 100)


def item_json(i: dict, posts: list[dict]) -> dict[str, Any]:
    images = [im for im in (i["images"] or []) if not im.get("rejected") and im.get("reason")]
    results = i["platform_results"] or []
    return {
        "id": str(i["id"]), "feedId": str(i["feed_id"]) if i["feed_id"] else None, "feedName": i.get("feed_name"),
        "title": display_title(i), "link": i["link"], "description": i["summary"], "contentHtml": i["content_html"],
        "imageUrl": images[0]["url"] if images else None, "imageUrls": [im["url"] for im in images],
        "imageSource": i["image_source"], "imageReason": images[0]["reason"] if images else None,
        "selectedImages": [{"url": im["url"], "reason": im["reason"], "source": im["source"]} for im in images],
        "status": _API_STATUS.get(i["status"], i["status"]), "stage": i["status"], "reason": i["reason"],
        "caption": i["caption"], "captionSource": i["caption_source"],
        "timestamp": _iso(i["updated_at"]), "firstSeenAt": _iso(i["first_seen_at"]),
        "publishedAt": _iso(i["posted_at"]), "pubDate": _iso(i["published_at"]),
        "scheduledFor": _iso(i["scheduled_for"]), "platforms": list(i["platforms"] or []),
        "platformPostIds": {r["platform"]: r.get("id") for r in results if r.get("id")},
        "platformResults": results, "dryRun": any(r.get("dryRun") for r in results), "error": i["error"],
        "plannedPosts": [{"platform": p["platform"], "scheduledAt": _iso(p["scheduled_at"]), "status": p["status"],
                          "version": p["version"]} for p in posts],
    }


def activity(limit: int) -> dict:
    with connection() as conn:
        rows = conn.execute(
            "SELECT i.*, f.name AS feed_name FROM rss_items i LEFT JOIN rss_feeds f ON f.id = i.feed_id "
            "WHERE i.status <> 'seen' AND NOT i.dismissed ORDER BY i.updated_at DESC LIMIT %s", (limit,)).fetchall()
        summary = conn.execute(
            "SELECT count(*) AS total, count(*) FILTER (WHERE status = 'published') AS published, "
            "count(*) FILTER (WHERE status IN ('new', 'pending', 'queued')) AS pending, "
            "count(*) FILTER (WHERE status = 'failed') AS failed, "
            "count(*) FILTER (WHERE status IN ('filtered', 'duplicate')) AS filtered, "
            "count(*) FILTER (WHERE status = 'queued') AS queued "
            "FROM rss_items WHERE status <> 'seen' AND NOT dismissed").fetchone() or {}
        posts = repo.planned_posts(conn, [str(r["id"]) for r in rows])
    return {"items": [item_json(r, posts[str(r["id"])]) for r in rows], "summary": dict(summary)}


def get_activity_item(item_id: str) -> dict:
    with connection() as conn:
        row = repo.get_item(conn, item_id)
        if row is None or row["dismissed"]:
            raise NotFound("activity item not found")
        return item_json(row, repo.planned_posts(conn, [item_id])[item_id])


def retry_item(item_id: str) -> dict:
    """Retry a failed item. Failed platform posts get new slots and new messages (new versions); an item that
    failed before it was planned runs through the pipeline again from what was stored."""
    from shared import activity as act
    from shared.rss import queue
    from shared.rss.config import load_run_settings

    settings = load_run_settings()
    now = datetime.now(timezone.utc)
    with connection() as conn:
        item = repo.get_item(conn, item_id)
        if item is None or item["dismissed"]:
            raise NotFound("activity item not found")
        if item["status"] != "failed":
            raise ValidationFailed(f"only failed items can be retried (this one is {_API_STATUS[item['status']]})")
        feed = repo.get_feed(conn, str(item["feed_id"])) if item["feed_id"] else None
    if feed is None:
        raise ValidationFailed("the item's feed was deleted")
    outgoing: list = []
    with transaction() as conn:
        posts = repo.planned_posts(conn, [item_id])[item_id]
        failed_posts = [p for p in posts if p["status"] == "failed"]
        verdicts = {p["platform"]: queue.retry_verdict(p) for p in failed_posts}
        hopeless = {pf: why for pf, (retry, why) in verdicts.items() if not retry}
        if failed_posts and len(hopeless) == len(failed_posts):
            raise Conflict("a retry would not help: " + "; ".join(f"{pf}: {why}" for pf, why in hopeless.items()),
                           details={"platforms": hopeless})
        failed = [p["platform"] for p in failed_posts if p["platform"] not in hopeless]
        if failed:
            planned, problems = queue.plan_posts(conn, item_id, failed, settings.posting, now, approved=True)
            if not planned:
                raise ValidationFailed("no slot for the failed platforms: " + "; ".join(problems))
            outgoing = [queue.message_for(p, now) for p in planned]
            repo.update_item(conn, item_id, status="queued", error=None,
                             scheduled_for=min(p["scheduled_at"] for p in planned))
            act.log("rss", "info", f"retry: {item['title'][:120]}", {"itemId": item_id, "platforms": failed,
                                                                    "problems": problems, "notRetried": hopeless},
                    conn=conn)
    if not failed_posts:
        if item["caption"]:
            queue.enqueue_item(feed, item_id, settings, now, outgoing, approved=True)
        else:
            outgoing = asyncio.run(_rerun_pipeline(feed, item, settings))
    queue.send_or_log(outgoing, {"itemId": item_id})
    return get_activity_item(item_id)


async def _rerun_pipeline(feed: dict, item: dict, settings) -> list:
    from shared.net.fetch import make_client
    from shared.rss.parser import Entry, ImageRef
    from shared.rss.pipeline import RunContext, handle_item

    entry = Entry(guid=item["guid"], link=item["link"], title=item["title"], summary_html=item["summary"] or "",
                  content_html=item["content_html"] or "", published_at=item["published_at"],
                  images=[ImageRef(url=i["url"], source=i.get("source") or "enclosure", width=i.get("width"),
                                   height=i.get("height")) for i in (item["images"] or [])
                          if i.get("url") and not i.get("rejected") and not i.get("reason")])
    async with make_client(8) as client:
        ctx = RunContext(client=client, settings=settings)
        await handle_item(ctx, feed, item, entry)
        return list(ctx.outgoing)


def delete_item(item_id: str) -> None:
    """Hide the entry and cancel what it had planned. The row stays so the item is never fetched as new again."""
    from shared import activity as act

    # carried posts give their publications up first (409 while one is being sent), then are cancelled below
    with queue.owner_change("p.item_id = %s", (item_id,), "activity entry deleted", {"itemId": item_id}) as conn:
        row = conn.execute("UPDATE rss_items SET dismissed = true, updated_at = now() WHERE id = %s AND NOT dismissed "
                           "RETURNING title", (item_id,)).fetchone()
        if row is None:
            raise NotFound("activity item not found")
        conn.execute("UPDATE rss_planned_posts SET status = 'cancelled', version = version + 1, updated_at = now() "
                     "WHERE item_id = %s AND status = 'planned'", (item_id,))
        act.log("rss", "info", f"activity entry deleted: {row['title'][:120]}", {"itemId": item_id}, conn=conn)


def approve_item(item_id: str) -> dict:
    """Approve a pending item: plan its posts now, as autoPost would have."""
    from dataclasses import replace

    from shared.rss import queue
    from shared.rss.config import load_run_settings

    with connection() as conn:
        item = repo.get_item(conn, item_id)
        if item is None or item["dismissed"]:
            raise NotFound("activity item not found")
        if item["status"] != "pending":
            raise ValidationFailed(f"only pending items can be approved (this one is {item['status']})")
        feed = repo.get_feed(conn, str(item["feed_id"])) if item["feed_id"] else None
    if feed is None:
        raise ValidationFailed("the item's feed was deleted")
    if not queue.enabled_platforms(feed):
        raise ValidationFailed("the feed has no platform enabled")
    if not (item["caption"] or item["title"]) and not any(
            i.get("url") and not i.get("rejected") for i in item["images"] or []):
        raise ValidationFailed("nothing to publish: the item has no text and no image",
                               details={"reason": item["reason"]})
    settings = replace(load_run_settings(), global_posting=True)
    outgoing: list = []
    queue.enqueue_item({**feed, "auto_post": True}, item_id, settings, datetime.now(timezone.utc), outgoing,
                       approved=True)
    queue.send_or_log(outgoing, {"itemId": item_id})
    return get_activity_item(item_id)
