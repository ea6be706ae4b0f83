"""The polling tick: one QStash schedule message every 5 minutes runs every due feed (and channel).

Due feeds are read in one query, locked in Redis in one script call, fetched concurrently (bounded by
`rss_fetch_concurrency`) within `rss_tick_budget_seconds`, and the delivery messages of everything queued are
published in one batch. Only when the due work would not fit one invocation's budget is the remainder handed to
further invocations through QStash (`/api/internal/rss/fetch`, one message per chunk).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from shared.messaging import schedules
from shared.messaging.publisher import OutgoingMessage
from shared.rss import locks, repo

log = logging.getLogger("screndly.rss.poller")

# the QStash schedule that drives polling (registered in shared/messaging/schedules.py)
TICK_PATH = "/api/internal/rss/tick"
FETCH_PATH = "/api/internal/rss/fetch"


RSS_TICK = schedules.get("rss-tick")

EST_SECONDS_PER_FEED = 2.0  # planning figure for a slow feed (measured median is far lower; see bench/rss.py)
MAX_DUE_PER_QUERY = 2000


@dataclass
class TickReport:
    due: int = 0
    locked: int = 0
    processed: int = 0
    not_modified: int = 0
    failed: int = 0
    new_items: int = 0
    skipped_budget: int = 0
    fanned_out: int = 0
    messages: int = 0  # QStash messages this invocation published
    channels: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def capacity(concurrency: int, budget: float) -> int:
    return max(1, int(concurrency * budget / EST_SECONDS_PER_FEED))


def _chunk_dedup_id(chunk: list[dict]) -> str:
    # the same set of feeds in the same tick is one QStash message, however often the tick is delivered
    return f"rss-fetch-{uuid.uuid5(uuid.NAMESPACE_URL, ','.join(str(f['id']) for f in chunk))}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _due(now: datetime, feed_ids: list[str] | None) -> list[dict]:
    from shared.db import connection

    with connection() as conn:
        if feed_ids is not None:  # a fanned-out chunk: still due? (a late redelivery must not fetch again)
            return [f for f in repo.feeds_by_ids(conn, feed_ids)
                    if f["enabled"] and f["status"] != "paused" and f["next_run_at"] <= now]
        return repo.due_feeds(conn, now, MAX_DUE_PER_QUERY)


async def run_feeds(feeds: list[dict], *, now_fn: Callable[[], datetime] = _now, budget: float | None = None,
                    manual_run: bool = False, report: TickReport | None = None, collect: list | None = None,
                    post_grid_minutes: int | None = None) -> tuple[TickReport, list]:
    """Fetch and process `feeds` concurrently (already locked by the caller). The posts they plan are armed
    in the dispatcher, or appended to `collect` (a dispatch tick arms them in its own commit).
    `post_grid_minutes` overrides the owner's post grid (the governor's decision)."""
    from shared.config import get_config
    from shared.net.fetch import make_client
    from shared.rss import queue
    from shared.rss.config import load_run_settings
    from shared.rss.pipeline import RunContext, process_feed

    cfg = get_config()
    report = report or TickReport()
    budget = cfg.rss_tick_budget_seconds if budget is None else budget
    deadline = time.monotonic() + budget
    settings = await asyncio.to_thread(load_run_settings)
    if post_grid_minutes:
        from dataclasses import replace

        settings = replace(settings, posting=replace(settings.posting, align_minutes=int(post_grid_minutes)))
    sem = asyncio.Semaphore(cfg.rss_fetch_concurrency)
    per_host = cfg.rss_per_host_concurrency
    host_slots: dict[str, asyncio.Semaphore] = {}

    def host_slot(feed):
        if per_host <= 0:
            return contextlib.nullcontext()
        host = (urlsplit(feed["url"]).hostname or "").lower()
        return host_slots.setdefault(host, asyncio.Semaphore(per_host))
    results = []
    async with make_client(cfg.rss_fetch_concurrency) as client:
        ctx = RunContext(client=client, settings=settings, now=now_fn)

        async def one(feed):
            # the host slot first: feeds waiting for a busy host do not hold global slots
            async with host_slot(feed), sem:
                if time.monotonic() > deadline:
                    report.skipped_budget += 1
                    return None
                try:
                    return await process_feed(ctx, feed, manual_run=manual_run)
                except Exception as exc:  # one feed's surprise (deleted mid-tick, DB hiccup) never sinks the tick
                    log.exception("feed %s failed in the tick", feed["id"])
                    from shared.rss.pipeline import FeedRunResult

                    await asyncio.to_thread(_log_feed_crash, feed, exc)
                    return FeedRunResult(feed_id=str(feed["id"]), feed_name=feed["name"], ok=False,
                                         error=f"internal error: {type(exc).__name__}")

        for r in await asyncio.gather(*(one(f) for f in feeds)):
            if r is None:
                continue
            results.append(r)
            report.processed += 1
            report.not_modified += int(r.not_modified)
            report.failed += int(not r.ok)
            report.new_items += sum(r.counts.values())
        if ctx.not_modified:
            await ctx.db(_record_not_modified, ctx.not_modified, now_fn())
        outgoing = list(ctx.outgoing)
    if collect is not None:
        collect.extend(outgoing)
    elif outgoing:
        try:
            report.messages += await asyncio.to_thread(queue.send, outgoing)
        except Exception as exc:  # Redis unreachable: the posts stay planned; the housekeeping sweep arms them
            log.exception("arming %d planned posts failed", len(outgoing))
            await asyncio.to_thread(_log_send_failure, len(outgoing), exc)
    return report, results


def _log_feed_crash(feed: dict, exc: Exception) -> None:
    from shared import activity

    try:
        activity.log("rss", "error", f"processing {feed['name']} failed: {type(exc).__name__}",
                     {"feedId": str(feed["id"]), "error": str(exc)[:300]})
    except Exception:
        log.exception("could not record the failure of feed %s", feed["id"])


def _log_send_failure(n: int, exc: Exception) -> None:
    from shared import activity

    activity.log("rss", "error", f"could not arm {n} planned post(s); the next housekeeping run arms them",
                 {"error": f"{type(exc).__name__}: {exc}"[:300]})


def _prune() -> None:
    from shared.db import connection

    try:
        with connection() as conn:
            repo.prune(conn)
        from shared.rss.queue import reconcile_waiting

        reconcile_waiting()
    except Exception:  # housekeeping never fails a tick
        log.exception("rss prune failed")


def _record_not_modified(rows, now) -> None:
    from shared.db import connection

    with connection() as conn:
        repo.record_not_modified(conn, rows, now)


async def tick(*, feed_ids: list[str] | None = None, now_fn: Callable[[], datetime] = _now,
               with_channels: bool = True) -> TickReport:
    """One scheduled tick (or one fanned-out chunk when `feed_ids` is given)."""
    from shared.config import get_config

    cfg = get_config()
    started = time.monotonic()
    report = TickReport()
    due = await asyncio.to_thread(_due, now_fn(), feed_ids)
    report.due = len(due)
    cap = capacity(cfg.rss_fetch_concurrency, cfg.rss_tick_budget_seconds)
    here, rest = due[:cap], due[cap:]
    if rest and feed_ids is None:
        chunks = [rest[i:i + cap] for i in range(0, len(rest), cap)]
        msgs = [OutgoingMessage(path=FETCH_PATH, body={"feedIds": [str(f["id"]) for f in c]},
                                deduplication_id=_chunk_dedup_id(c))
                for c in chunks]
        from shared.messaging.publisher import publish_batch

        await asyncio.to_thread(publish_batch, msgs)
        report.fanned_out = len(rest)
        report.messages += len(msgs)
    token = uuid.uuid4().hex
    ids = [str(f["id"]) for f in here]
    held = set(await asyncio.to_thread(locks.acquire, "rss-feed", ids, token, cfg.rss_feed_lock_seconds))
    report.locked = len(held)
    try:
        await run_feeds([f for f in here if str(f["id"]) in held], now_fn=now_fn, report=report,
                        budget=max(1.0, cfg.rss_tick_budget_seconds - (time.monotonic() - started)))
        if with_channels and feed_ids is None:
            from shared.channels.poller import poll_due_channels

            report.channels = await poll_due_channels(now_fn=now_fn)
        if feed_ids is None:
            await asyncio.to_thread(_prune)
    finally:
        await asyncio.to_thread(locks.release, "rss-feed", list(held), token)
    report.seconds = round(time.monotonic() - started, 3)
    return report


async def refresh_one(feed: dict, *, manual_run: bool) -> dict:
    """POST /api/rss/feeds/{id}/refresh: run one feed now, under the same lock as the tick."""
    from shared.config import get_config
    from shared.errors import Conflict

    token = uuid.uuid4().hex
    fid = str(feed["id"])
    if not await asyncio.to_thread(locks.acquire, "rss-feed", [fid], token, get_config().rss_feed_lock_seconds):
        raise Conflict("this feed is being fetched right now; try again in a moment")
    try:
        _, results = await run_feeds([feed], manual_run=manual_run)
    finally:
        await asyncio.to_thread(locks.release, "rss-feed", [fid], token)
    await asyncio.to_thread(_mirror_stale, [fid])
    return results[0].as_refresh_response()


def _mirror_stale(ids: list[str]) -> None:
    """A fetch outside the dispatcher changed the validators and known items: the checks' copy follows."""
    from shared.rss.timing import feeds_changed

    feeds_changed(ids)


async def refresh_all() -> dict:
    """POST /api/rss/refresh: every enabled, not paused feed now (locked ones are counted as skipped)."""
    from shared.config import get_config
    from shared.db import connection

    with connection() as conn:
        feeds = [f for f in repo.list_feeds(conn) if f["enabled"] and f["status"] != "paused"]
    token = uuid.uuid4().hex
    ids = [str(f["id"]) for f in feeds]
    held = set(await asyncio.to_thread(locks.acquire, "rss-feed", ids, token, get_config().rss_feed_lock_seconds))
    try:
        _, results = await run_feeds([f for f in feeds if str(f["id"]) in held])
    finally:
        await asyncio.to_thread(locks.release, "rss-feed", list(held), token)
    await asyncio.to_thread(_mirror_stale, ids)
    ok = sum(1 for r in results if r.ok)
    return {"total": len(feeds), "success": ok, "failed": len(results) - ok, "skipped": len(feeds) - len(held)}
