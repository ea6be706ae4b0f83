"""Poll due YouTube channels within the RSS tick (no extra QStash message) and record trailer detections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.channels.detect import decide, parse_keywords, parse_regions
from shared.channels.youtube import feed_url, video_id
from shared.rss import backoff, locks

SETTING_KEYS = ("advancedFilters", "excludeShorts", "regionFilter", "fetchInterval")
FRESH_ON_FIRST_CHECK = timedelta(minutes=10)  # a first check only evaluates uploads younger than this


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _due(now: datetime, ids: list[str] | None = None) -> list[dict]:
    from shared.db import connection

    with connection() as conn:
        if ids is not None:
            return conn.execute("SELECT * FROM yt_channels WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()
        return conn.execute("SELECT * FROM yt_channels WHERE status = 'active' AND next_run_at <= %s "
                            "ORDER BY next_run_at LIMIT 500", (now,)).fetchall()


def _settings() -> dict:
    from shared.settings.store import read_settings

    return read_settings(SETTING_KEYS)


def _record(channel: dict, result, entries, now: datetime, s: dict) -> list[dict]:
    """Store the channel's videos (new ones only), evaluate the new ones, log and notify detections."""
    from shared import activity
    from shared.db import transaction

    keywords = parse_keywords(s.get("advancedFilters"))
    regions = parse_regions(s.get("regionFilter")) if s.get("regionFilter") else set()
    exclude_shorts = s.get("excludeShorts") is not False
    first = not channel["seeded"]
    rows: list[tuple[str, Any, bool, str | None, str]] = []
    for e in entries:
        vid = video_id(e)
        if not vid:
            continue
        fresh = e.published_at is not None and now - e.published_at <= FRESH_ON_FIRST_CHECK
        if first and not fresh:
            rows.append((vid, e, False, None, "seen on first check"))
            continue
        d = decide(e.title, e.link, keywords=keywords, exclude_shorts=exclude_shorts, regions=regions)
        rows.append((vid, e, d.detected, d.keyword, d.reason))
    detections = []
    with transaction() as conn:
        for vid, e, detected, kw, reason in rows:
            ins = conn.execute(
                "INSERT INTO yt_videos (channel_ref, video_id, title, url, published_at, detected, matched_keyword, "
                "reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (channel_ref, video_id) DO NOTHING "
                "RETURNING id, title, published_at, detected",
                (channel["id"], vid, e.title[:500], e.link, e.published_at, detected, kw, reason)).fetchone()
            if ins and detected:
                detections.append(ins)
                activity.log("youtube", "info", f"trailer detected: {e.title[:150]} ({channel['name']})",
                             {"channelId": channel["channel_id"], "videoId": vid, "keyword": kw, "url": e.link},
                             conn=conn)
                activity.notify("info", f"New trailer: {e.title[:120]}", f"{channel['name']} uploaded it",
                                source="youtube", action_page="channels", conn=conn)
            elif ins and not first:
                activity.log("youtube", "debug", f"not a trailer: {e.title[:150]} ({reason})",
                             {"channelId": channel["channel_id"], "videoId": vid}, conn=conn)
        conn.execute(
            "UPDATE yt_channels SET seeded = true, etag = %s, last_modified = %s, last_checked_at = %s, "
            "next_run_at = %s, consecutive_failures = 0, error_message = NULL, "
            "video_count = (SELECT count(*) FROM yt_videos WHERE channel_ref = %s), updated_at = now() WHERE id = %s",
            (result.etag, result.last_modified, now, now + timedelta(minutes=channel["interval_minutes"]),
             channel["id"], channel["id"]))
    return detections


def _fail(channel: dict, message: str, now: datetime) -> None:
    from shared import activity
    from shared.db import transaction

    n = channel["consecutive_failures"] + 1
    with transaction() as conn:
        conn.execute("UPDATE yt_channels SET consecutive_failures = %s, error_message = %s, last_checked_at = %s, "
                     "next_run_at = %s, updated_at = now() WHERE id = %s",
                     (n, message[:500], now, backoff.next_attempt(now, n), channel["id"]))
        activity.log("youtube", "error", f"channel check failed: {channel['name']}: {message}",
                     {"channelId": channel["channel_id"], "consecutiveFailures": n}, conn=conn)
        if n == 1:
            activity.notify("warning", f"YouTube channel check failing: {channel['name']}", message,
                            source="youtube", action_page="channels", conn=conn)


def _not_modified(channel: dict, now: datetime) -> None:
    from shared.db import connection

    with connection() as conn:
        conn.execute("UPDATE yt_channels SET last_checked_at = %s, next_run_at = %s, consecutive_failures = 0, "
                     "error_message = NULL WHERE id = %s",
                     (now, now + timedelta(minutes=channel["interval_minutes"]), channel["id"]))


async def check_channel(client, channel: dict, s: dict, now: datetime) -> dict:
    from shared.net.fetch import FetchError, fetch
    from shared.rss.parser import NotAFeed, parse_feed

    try:
        r = await fetch(client, feed_url(channel["channel_id"]), etag=channel["etag"],
                        last_modified=channel["last_modified"])
        if r.not_modified:
            await asyncio.to_thread(_not_modified, channel, now)
            return {"ok": True, "detections": 0, "notModified": True}
        parsed = parse_feed(r.body, content_type=r.content_type, url=r.url)
    except (FetchError, NotAFeed) as exc:
        await asyncio.to_thread(_fail, channel, exc.message, now)
        return {"ok": False, "error": exc.message}
    found = await asyncio.to_thread(_record, channel, r, parsed.entries, now, s)
    return {"ok": True, "detections": len(found)}


async def poll_due_channels(*, now_fn: Callable[[], datetime] = _now, ids: list[str] | None = None) -> dict:
    from shared.config import get_config
    from shared.net.fetch import make_client

    now = now_fn()
    channels = await asyncio.to_thread(_due, now, ids)
    if not channels:
        return {"due": 0, "checked": 0, "detections": 0}
    token = uuid.uuid4().hex
    cids = [str(c["id"]) for c in channels]
    held = set(await asyncio.to_thread(locks.acquire, "yt-channel", cids, token, get_config().rss_feed_lock_seconds))
    if held:
        # read again under the locks: a poll that held one of them until now may have checked it meanwhile (a
        # first check seeds the channel; with the row read before, every upload since would be taken for one that
        # existed before the channel was added, and never evaluated)
        fresh = {str(c["id"]): c for c in await asyncio.to_thread(_due, now, sorted(held))}
        channels = [fresh[c] for c in cids if c in fresh and (ids is not None or (
            fresh[c]["status"] == "active" and fresh[c]["next_run_at"] <= now))]
        held &= set(fresh)
    s = await asyncio.to_thread(_settings)
    sem = asyncio.Semaphore(8)
    try:
        async with make_client(8) as client:
            async def one(c):
                async with sem:
                    return await check_channel(client, c, s, now)
            results = await asyncio.gather(*(one(c) for c in channels if str(c["id"]) in held))
    finally:
        await asyncio.to_thread(locks.release, "yt-channel", list(held), token)
    return {"due": len(channels), "checked": len(results), "failed": sum(1 for r in results if not r["ok"]),
            "detections": sum(r.get("detections", 0) for r in results)}
