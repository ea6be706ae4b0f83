"""One feed, end to end: fetch -> parse -> store new entries -> filter -> dedupe -> images -> caption -> queue.

Each step that a user would want to see is written to the item (its status and reason) and to the activity log
(service "rss"). A failing step leaves the item with status `failed` and the reason; a failing fetch leaves the
feed's items untouched, counts a failure, backs off (5 min × 2^(n-1), max 24 h), notifies on the first failure,
and pauses the feed after `rss_auto_pause_failures` consecutive failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx

from shared.messaging.publisher import OutgoingMessage
from shared.net.fetch import FetchError, FetchResult, fetch
from shared.rss import backoff, repo
from shared.rss.config import RunSettings
from shared.rss.filters import FilterSettings, evaluate
from shared.rss.identity import canonical_url, dedupe_key, normalise_title, titles_near_duplicate
from shared.rss.parser import Entry, NotAFeed, ParsedFeed
from shared.rss.textutil import strip_html

if TYPE_CHECKING:
    from shared.activity import Level

log = logging.getLogger("screndly.rss")

PLATFORMS = ("x", "threads", "facebook", "pinterest")
NO_TEXT = "no text to post"  # an item without a title or any summary/content text waits for approval


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RunContext:
    client: httpx.AsyncClient
    settings: RunSettings
    now: Callable[[], datetime] = utcnow
    outgoing: list[OutgoingMessage] = field(default_factory=list)
    not_modified: list[tuple[str, datetime]] = field(default_factory=list)
    db_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    fetch_article_pages: bool = True

    async def db(self, fn, *args, **kwargs):
        """Run a sync DB function in a thread, at most 4 at once (the pool's size)."""
        async with self.db_slots:
            return await asyncio.to_thread(fn, *args, **kwargs)


@dataclass
class FeedRunResult:
    feed_id: str
    feed_name: str
    ok: bool = True
    not_modified: bool = False
    checked: int = 0  # entries in the document
    added: int = 0  # entries stored for the first time
    counts: Counter = field(default_factory=Counter)  # item outcomes: pending/queued/filtered/duplicate/failed
    error: str | None = None
    latest_title: str | None = None
    selection_mode: str | None = None
    seeded: bool = False

    def as_refresh_response(self) -> dict[str, Any]:
        out = {"feedId": self.feed_id, "feedName": self.feed_name, "itemsAdded": self.added,
               "checkedCount": self.checked, "pendingCount": self.counts["pending"] + self.counts["queued"],
               "failedCount": self.counts["failed"], "latestItemTitle": self.latest_title,
               "selectionMode": self.selection_mode, "notModified": self.not_modified, "seeded": self.seeded}
        if self.error:
            out["error"] = self.error
        return out


# --- fetch + store -----------------------------------------------------------------------------------------
def _entry_rows(entries: list[Entry], status: str) -> list[dict]:
    guid_counts = Counter(e.guid for e in entries if e.guid)
    rows, seen = [], set()
    for e in entries:
        # a guid shared by different entries identifies none of them (sloppy CMS): fall back to the link
        guid = e.guid if e.guid and guid_counts[e.guid] == 1 else None
        key = dedupe_key(guid=guid, link=e.link, title=e.title, content=e.body_html)
        if key in seen:
            continue
        seen.add(key)
        rows.append({
            "dedupe_key": key, "guid": e.guid, "title": e.title[:1000], "link": e.link,
            "canonical_url": canonical_url(e.link), "norm_title": normalise_title(e.title)[:500],
            # text and HTML are derived later, only for entries that turn out to be new (see handle_item)
            "summary": None, "content_html": None, "published_at": e.published_at,
            "status": status,
            "images": [{"url": i.url, "source": i.source, "width": i.width, "height": i.height} for i in e.images],
            "_entry": e,
        })
    return rows


def _store(feed: dict, rows: list[dict], result: FetchResult, now: datetime, next_run: datetime,
           memory: tuple[bytes | None, bytes] | None = None) -> list[dict]:
    from shared.db import transaction

    with transaction() as conn:
        if memory is not None:  # what the next fetch compares against; only kept if these items are stored
            from shared.rss.incremental import save

            save(conn, str(feed["id"]), *memory)
        inserted = repo.insert_items(conn, str(feed["id"]), [{k: v for k, v in r.items() if k != "_entry"}
                                                             for r in rows])
        repo.record_success(conn, str(feed["id"]), now=now, next_run_at=next_run, etag=result.etag,
                            last_modified=result.last_modified, new_url=result.permanent_redirect_to,
                            seeded=True)
        if result.permanent_redirect_to:
            from shared import activity

            activity.log("rss", "info", f"feed moved permanently: {feed['name']}",
                         {"feedId": str(feed["id"]), "from": feed["url"], "to": result.permanent_redirect_to},
                         conn=conn)
    return inserted


def _failure(feed: dict, message: str, now: datetime) -> None:
    from shared import activity
    from shared.config import get_config
    from shared.db import transaction

    limit = get_config().rss_auto_pause_failures
    failures = int(feed.get("consecutive_failures") or 0) + 1
    pause = backoff.should_auto_pause(failures, limit)
    next_run = backoff.next_attempt(now, failures)
    with transaction() as conn:
        repo.record_failure(conn, str(feed["id"]), now=now, message=message, next_run_at=next_run, pause=pause)
        activity.log("rss", "error", f"fetch failed: {feed['name']}: {message}",
                     {"feedId": str(feed["id"]), "url": feed["url"], "consecutiveFailures": failures,
                      "nextAttemptAt": next_run.isoformat(), "paused": pause}, conn=conn)
        if pause:
            activity.notify("error", f"RSS feed paused: {feed['name']}",
                            f"{failures} fetches in a row failed; the last error was: {message}. "
                            "Fix the feed and resume it.", source="rss", action_page="rss", conn=conn)
        elif failures == 1:
            activity.notify("warning", f"RSS feed failing: {feed['name']}",
                            f"{message}. Retrying in {int(backoff.retry_delay(failures).total_seconds() // 60)} min.",
                            source="rss", action_page="rss", conn=conn)


async def fetch_and_parse(ctx: RunContext, feed: dict, *, conditional: bool = True) -> tuple[FetchResult,
                                                                                              ParsedFeed | None]:
    from shared.config import get_config
    from shared.net.fetch import FetchLimits
    from shared.rss import incremental

    cfg = get_config()
    total = cfg.rss_fetch_timeout_seconds
    result = await fetch(ctx.client, feed["url"], etag=feed.get("etag") if conditional else None,
                         last_modified=feed.get("last_modified") if conditional else None,
                         limits=FetchLimits(total_timeout=total, read_timeout=min(10.0, total)))
    if result.not_modified:
        return result, None
    # only entries not seen at the last fetch are parsed (a first fetch and a manual run parse everything)
    changed_only = conditional and bool(feed.get("seeded"))
    memory = await ctx.db(incremental.load, str(feed["id"])) if changed_only else None
    parsed = incremental.parse_changed(result.body, content_type=result.content_type, url=result.url,
                                       memory=memory, limit=cfg.rss_item_limit_per_fetch, incremental=changed_only)
    if parsed is None:  # the same bytes as last time: a server that ignores conditional GET
        result.not_modified = True
    return result, parsed


async def process_feed(ctx: RunContext, feed: dict, *, manual_run: bool = False) -> FeedRunResult:
    from shared.config import get_config

    res = FeedRunResult(feed_id=str(feed["id"]), feed_name=feed["name"])
    now = ctx.now()
    try:
        result, parsed = await fetch_and_parse(ctx, feed, conditional=not manual_run)
    except (FetchError, NotAFeed) as exc:
        res.ok, res.error = False, exc.message
        await ctx.db(_failure, feed, exc.message, now)
        return res
    except Exception as exc:  # a parser/network surprise must not take the whole tick down
        log.exception("feed %s failed unexpectedly", feed["id"])
        res.ok, res.error = False, f"unexpected error: {type(exc).__name__}"
        await ctx.db(_failure, feed, res.error, now)
        return res
    next_run = now + timedelta(minutes=int(feed["interval_minutes"]))
    if parsed is None:
        res.not_modified = True
        ctx.not_modified.append((res.feed_id, next_run))
        if ctx.settings.log_level == "full":
            await ctx.db(_log, "debug", f"fetched {feed['name']}: not modified", {"feedId": res.feed_id})
        return res
    entries = parsed.entries[: get_config().rss_item_limit_per_fetch]
    res.checked = parsed.document_entries if parsed.document_entries is not None else len(parsed.entries)
    if entries:
        res.latest_title = max(entries, key=lambda e: (e.published_at or datetime.min.replace(tzinfo=timezone.utc),
                                                       -e.position)).title
    first_fetch = not feed.get("seeded")
    rows = _entry_rows(entries, "seen" if first_fetch else "new")
    inserted = await ctx.db(_store, feed, rows, result, now, next_run, parsed.memory)
    res.added = len(inserted)
    by_key = {r["dedupe_key"]: r["_entry"] for r in rows}
    new_items = [(row, by_key[row["dedupe_key"]]) for row in inserted if row["status"] == "new"]
    if first_fetch:
        res.seeded = True
        await ctx.db(_log, "info", f"first fetch of {feed['name']}: {len(inserted)} existing items stored, "
                                   "not posted", {"feedId": res.feed_id, "items": len(inserted)})
    if manual_run and not new_items:
        latest = await ctx.db(_claim_latest, feed, rows)
        if latest is not None:
            new_items = [latest]
            res.selection_mode = "latest_item"
    elif new_items:
        res.selection_mode = "backlog"
    ordered = order_new_items(new_items, feed.get("trickle") or "oldest_first")
    if not ordered and ctx.settings.log_level == "full":
        await ctx.db(_log, "debug", f"fetched {feed['name']}: no new items", {"feedId": res.feed_id,
                                                                             "checked": res.checked})
    if ordered and ctx.settings.log_level != "minimal":
        await ctx.db(_log, "info", f"fetched {feed['name']}: {len(ordered)} new item(s)",
                     {"feedId": res.feed_id, "new": len(ordered), "checked": res.checked,
                      "bozo": parsed.bozo})
    for row, entry in ordered:
        outcome = await handle_item(ctx, feed, row, entry)
        res.counts[outcome] += 1
    return res


def _log(level: Level, message: str, metadata: dict | None = None) -> None:
    from shared import activity

    activity.log("rss", level, message, metadata)


def _claim_latest(feed: dict, rows: list[dict]) -> tuple[dict, Entry] | None:
    """Manual "test latest item": the newest entry goes through the pipeline if it was only seen, never posted."""
    from shared.db import connection

    if not rows:
        return None
    newest = max(rows, key=lambda r: (r["published_at"] or datetime.min.replace(tzinfo=timezone.utc),
                                      -r["_entry"].position))
    with connection() as conn:
        row = conn.execute(
            "UPDATE rss_items SET status = 'new', updated_at = now() WHERE feed_id = %s AND dedupe_key = %s "
            "AND status = 'seen' RETURNING id, feed_id, dedupe_key, guid, title, link, canonical_url, norm_title, "
            "summary, content_html, published_at, status, images", (feed["id"], newest["dedupe_key"])).fetchone()
    return (row, newest["_entry"]) if row else None


def order_new_items(items: list[tuple[dict, Entry]], trickle: str) -> list[tuple[dict, Entry]]:
    """Oldest first by publication time (document order as tie-break: feeds list newest first)."""
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    ordered = sorted(items, key=lambda it: (it[1].published_at or oldest, -it[1].position))
    return list(reversed(ordered)) if trickle == "newest_first" else ordered


# --- one item ------------------------------------------------------------------------------------------------
def _set_item(item_id: str, **fields) -> dict | None:
    from shared.db import connection

    with connection() as conn:
        return repo.update_item(conn, item_id, **fields)


def _set_item_and_log(item_id: str, fields: dict, level: Level, message: str, metadata: dict) -> None:
    from shared import activity
    from shared.db import transaction

    with transaction() as conn:
        repo.update_item(conn, item_id, **fields)
        activity.log("rss", level, message, metadata, conn=conn)


def _find_duplicate(item: dict, days: int) -> dict | None:
    from shared.db import transaction

    with transaction() as conn:
        return repo.claim_unless_duplicate(conn, item_id=str(item["id"]),
                                           canonical=item.get("canonical_url") or "", title=item.get("title") or "",
                                           days=days, near=titles_near_duplicate)


def entry_text(entry: Entry) -> str:
    """The entry's readable body: its summary, else its content (a summary that is only a picture counts as
    none)."""
    return strip_html(entry.summary_html) or strip_html(entry.content_html)


async def handle_item(ctx: RunContext, feed: dict, item: dict, entry: Entry) -> str:
    """Run one new item through the pipeline; returns its resulting status."""
    item_id = str(item["id"])
    meta = {"feedId": str(feed["id"]), "itemId": item_id, "title": item["title"], "link": item.get("link")}
    now = ctx.now()
    verdict = evaluate(FilterSettings.from_json(feed.get("filters")), title=entry.title, body_html=entry.body_html,
                       published_at=entry.published_at, now=now)
    text = {"summary": entry_text(entry)[:2000]}
    if not verdict.accepted:
        await ctx.db(_set_item_and_log, item_id, {"status": "filtered", "reason": verdict.reason, **text}, "info",
                     f"filtered: {item['title'][:120]} ({verdict.reason})", {**meta, "reason": verdict.reason})
        return "filtered"
    if ctx.settings.dedupe:
        dup = await ctx.db(_find_duplicate, item, int(feed.get("dedupe_days") or 30))
        if dup:
            reason = f"duplicate of \"{dup['title'][:120]}\" from {dup['feed_name']} ({dup['why']})"
            await ctx.db(_set_item_and_log, item_id, {"status": "duplicate", "reason": reason, **text}, "info",
                         f"deduped: {item['title'][:120]}", {**meta, "reason": reason,
                                                              "duplicateOf": str(dup["id"])})
            return "duplicate"
    try:
        images = await choose_images(ctx, feed, item_id, entry)
        if not text["summary"] and not entry.title:
            # nothing a follower could read (only a link or a picture): never queued, the owner decides
            await ctx.db(_set_item_and_log, item_id, {
                "status": "pending", "reason": NO_TEXT, "images": images, "caption": None,
                "image_source": images[0]["source"] if images else None, **text,
                "content_html": entry.safe_html()[:50_000]},
                "info", f"pending approval: {entry.link or item_id} ({NO_TEXT})", {**meta, "why": NO_TEXT})
            return "pending"
        caption, caption_source = await make_caption(ctx, feed, entry)
        await ctx.db(_set_item, item_id, images=images, caption=caption, caption_source=caption_source,
                     image_source=images[0]["source"] if images else None,
                     summary=text["summary"],
                     content_html=entry.safe_html()[:50_000])
        from shared.rss import queue

        status = await ctx.db(queue.enqueue_item, feed, item_id, ctx.settings, ctx.now(), ctx.outgoing)
    except Exception as exc:
        log.exception("item %s failed", item_id)
        reason = f"{type(exc).__name__}: {exc}"[:500]
        fields = {"status": "failed", "error": reason, **text}
        if not item.get("content_html"):
            fields["content_html"] = entry.safe_html()[:50_000]  # what a retry rebuilds the item from
        await ctx.db(_set_item_and_log, item_id, fields, "error", f"failed: {item['title'][:120]} ({reason})",
                     {**meta, "reason": reason})
        return "failed"
    return status


def image_sources(settings: RunSettings, feed: dict, entry: Entry) -> dict[str, Any]:
    """The feed's optional image sources (Serper, TMDb) and their order, as select_images takes them."""
    serper_key = settings.serper_key if feed.get("serper_enabled", True) else ""
    tmdb_key = settings.tmdb_key if feed.get("tmdb_enabled") else ""
    return {"serper_key": serper_key or None, "serper_query": entry.title if serper_key else None,
            "serper_first": bool(serper_key and feed.get("serper_priority") and not entry.images),
            "tmdb_key": tmdb_key or None,
            "tmdb_first": bool(tmdb_key and feed.get("image_source_priority") == "tmdb_first")}


async def choose_images(ctx: RunContext, feed: dict, item_id: str, entry: Entry) -> list[dict]:
    from shared.rss.images import rehost, select_images, wanted_count

    count = wanted_count(str(feed.get("image_count") or "1"), item_id)
    sel = await select_images(ctx.client, entry=entry, count=count, fetch_article=ctx.fetch_article_pages,
                              **image_sources(ctx.settings, feed, entry))
    chosen = sel.selected
    if feed.get("rehost_images") and chosen:
        rehosted = []
        for img in chosen:
            try:
                rehosted.append(await rehost(ctx.client, img))
            except Exception as exc:  # keep the original URL: a post with a remote image beats no post
                sel.rejected.append({"url": img.url, "source": img.source, "reason": f"rehost failed: {exc}"})
                rehosted.append(img)
        chosen = rehosted
    return [{"url": i.url, "source": i.source, "reason": i.reason, "width": i.width, "height": i.height,
             "mime": i.mime, "originalUrl": i.original_url} for i in chosen] + \
        [{"rejected": True, **r} for r in sel.rejected[:10]]


async def make_caption(ctx: RunContext, feed: dict, entry: Entry, platform: str | None = None) -> tuple[str, str]:
    from shared.rss.captions import ai_caption, template_caption, with_link

    enabled = [p for p in PLATFORMS if (feed.get("platforms_enabled") or {}).get(p)]
    platform = platform or ("x" if not enabled or "x" in enabled else enabled[0])
    cs = ctx.settings.captions
    if ctx.settings.openai_key:
        from shared.ai.openai_chat import OpenAIError

        try:
            text, cached = await ai_caption(ctx.client, ctx.settings.openai_key, title=entry.title,
                                            summary=strip_html(entry.body_html)[:1500], feed_name=feed["name"],
                                            platform=platform.upper() if platform == "x" else platform, cs=cs,
                                            run_db=ctx.db)
            return with_link(text, entry.link, platform, cs.max_length), "ai_cached" if cached else "ai"
        except OpenAIError as exc:
            await ctx.db(_log, "warn", f"AI caption failed, template used: {exc}",
                         {"feedId": str(feed["id"]), "title": entry.title})
    return template_caption(title=entry.title, summary_html=entry.body_html, link=entry.link, platform=platform,
                            max_length=cs.max_length), "template"
