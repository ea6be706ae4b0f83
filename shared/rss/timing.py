"""RSS on the dispatcher (shared/scheduling/dispatch.py): feed checks that need no database, processing
grouped into windows, and planned posts delivered at their time.

Kinds:
- `rss.probe` (Redis only): a due feed is fetched with the validators kept in Redis (shared/rss/feedstate.py).
  Not modified, or changed without new entries: the state moves on, Postgres sleeps. New entries: the feed is
  marked for processing at the next window (`rss.process` armed at the next multiple of
  `rssProcessingWindowMinutes`), or now when one of them would be posted now (`rssUrgentProcessing`, unless the
  governor turned it off). The next check is set on the feed's grid from its due time.
- `rss.process` (database, may run early): the usual pipeline (fetch, store, filter, dedupe, images, caption,
  plan) for the marked feeds, in whatever window opens first; the posts it plans are armed as `rss.post`.
- `rss.post` (database): publish a planned post at its time (`queue.deliver_due`).
- `rss.rebuild` (database): build the Redis mirror from Postgres (first run, after a feed changed).
- `rss.housekeeping` (database, may run early, at least every HOUSEKEEPING_SECONDS): prune, settle waiting
  posts, arm planned posts the dispatcher does not hold, rebuild the YouTube channels' check copy, refresh the
  settings copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from shared import clock
from shared.rss import feedstate
from shared.rss.feedstate import STATE_KEY
from shared.scheduling.dispatch import Kind, Tick, hook, register

log = logging.getLogger("screndly.rss.timing")

HOUSEKEEPING_SECONDS = 6 * 3600
HOUSEKEEPING_MIN_GAP = 50 * 60  # joins a window only if it last ran at least this long ago
SETTINGS_META = "rss.settings"
MIRROR_META = "rss.mirror"
HK_META = "rss.hk"
SETTING_KEYS = ("globalRSSPosting", "timezone", "quietHoursEnabled", "quietHoursStart", "quietHoursEnd",
                "rssProcessingWindowMinutes", "rssUrgentProcessing")

register(Kind("rss.rebuild", "shared.rss.timing:rebuild", needs_db=True, order=5))
register(Kind("rss.probe", "shared.rss.timing:probe", needs_db=False, payload_key=STATE_KEY, order=10))
register(Kind("rss.process", "shared.rss.timing:process", needs_db=True, early=30 * 86400.0, order=20))
register(Kind("rss.post", "shared.rss.timing:deliver", needs_db=True, order=30))
register(Kind("rss.housekeeping", "shared.rss.timing:housekeeping", needs_db=True,
              early=float(HOUSEKEEPING_SECONDS - HOUSEKEEPING_MIN_GAP), order=40))


@hook
def _bootstrap(t: Tick) -> None:
    """No mirror yet (first deploy, Redis emptied, a feed changed): build it in this tick."""
    if not t.meta.get(MIRROR_META):
        t.arm("rss.rebuild", "all", t.now)
    if not t.meta.get(HK_META):
        t.arm("rss.housekeeping", "all", t.now + 60)
        t.set_meta(HK_META, repr(t.now + 60))


def feeds_changed(ids: list[str]) -> None:
    """Feeds were added, edited, deleted or fetched by hand (the database is awake for that request): write
    their entries of the checks' Redis copy now and arm their next check on the grid; a deleted, disabled or
    paused feed leaves it. A few Redis commands, and a QStash wake-up only if that check comes before the
    armed one."""
    from shared.redis_client import get_redis
    from shared.scheduling import dispatch

    try:
        rows = {str(r["id"]): r for r in _mirror_rows(ids)}
        now = clock.time()
        live = {fid: feedstate.from_row(r) for fid, r in rows.items()}
        gone = [fid for fid in ids if fid not in live]
        r = get_redis()
        if live:
            r.hset(STATE_KEY, values={fid: json.dumps(st, separators=(",", ":")) for fid, st in live.items()})
        if gone:
            r.hdel(STATE_KEY, *gone)
            dispatch.disarm("rss.probe", gone)
            dispatch.disarm("rss.process", gone)
        dispatch.arm([("rss.process", fid, now) if not rows[fid]["seeded"] else
                      ("rss.probe", fid, feedstate.grid_at_or_after(now + 60, int(rows[fid]["interval_minutes"]) * 60))
                      for fid in live])
    except Exception:  # Redis down: the next rebuild (a tick finding the copy missing or stale) catches up
        log.warning("could not update the RSS checks' copy of %d feed(s)", len(ids), exc_info=True)


# --- mirror --------------------------------------------------------------------------------------------------
_MIRROR_SQL = """
SELECT f.id, f.name, f.url, f.interval_minutes, f.etag, f.last_modified, f.filters, f.auto_post,
       f.platforms_enabled, f.seeded, f.consecutive_failures, f.next_run_at,
       ARRAY(SELECT dedupe_key FROM rss_items i WHERE i.feed_id = f.id
             ORDER BY first_seen_at DESC LIMIT %(kept)s) AS keys
  FROM rss_feeds f WHERE f.enabled AND f.status <> 'paused' {where}
"""


def _mirror_rows(ids: list[str] | None = None) -> list[dict]:
    from shared.db import connection

    with connection() as conn:
        if ids is None:
            return conn.execute(_MIRROR_SQL.format(where=""), {"kept": feedstate.KEPT_KEYS}).fetchall()
        return conn.execute(_MIRROR_SQL.format(where="AND f.id = ANY(%(ids)s::uuid[])"),
                            {"kept": feedstate.KEPT_KEYS, "ids": ids}).fetchall()


def _settings_copy() -> dict[str, Any]:
    from shared.settings.store import read_settings

    s = read_settings(SETTING_KEYS)
    return {k: s.get(k) for k in SETTING_KEYS}


def on_settings_changed(changed: list[str]) -> None:
    """The feed checks judge urgency with a copy of these settings in Redis (they never wake Postgres): a save
    refreshes it, or a check would go on deciding with the old quiet hours, time zone or switches until the next
    rebuild or housekeeping (up to HOUSEKEEPING_SECONDS)."""
    from shared.scheduling import dispatch

    dispatch.set_meta(SETTINGS_META, _settings_copy())


def rebuild(t: Tick, refs: list[str]) -> None:
    from shared.redis_client import get_redis

    rows = _mirror_rows()
    get_redis().delete(STATE_KEY)  # fields of deleted feeds go; every live feed is written below
    mult = t.governor.rss_check_multiplier
    for row in rows:
        fid = str(row["id"])
        t.set_payload(STATE_KEY, fid, feedstate.from_row(row))
        if not row["seeded"]:
            t.arm("rss.process", fid, t.now)
            continue
        at = feedstate.grid_at_or_after(t.now, int(row["interval_minutes"]) * 60 * mult)
        if row["consecutive_failures"] and row["next_run_at"].timestamp() > at:  # backing off after failures
            at = row["next_run_at"].timestamp()
        t.arm("rss.probe", fid, at)
    t.set_meta(SETTINGS_META, _settings_copy())
    t.set_meta(MIRROR_META, repr(t.now))
    t.count("rss.mirrored", len(rows))
    t.arm("channels.rebuild", "all", t.now)  # the channels' copy lives beside this one (shared/channels/timing.py)


def _refresh(t: Tick, ids: list[str]) -> None:
    """After processing: the feeds' validators and known keys as Postgres has them now; feeds that are gone,
    disabled or paused leave the mirror."""
    rows = {str(r["id"]): r for r in _mirror_rows(ids)}
    for fid in ids:
        row = rows.get(fid)
        if row is None:
            t.set_payload(STATE_KEY, fid, None)
            t.done("rss.probe", fid)
        else:
            t.set_payload(STATE_KEY, fid, feedstate.from_row(row))


# --- checks (Redis only) --------------------------------------------------------------------------------------
def _int(value: Any, default: int) -> int:
    try:
        return max(10, int(value))
    except (TypeError, ValueError):
        return default


def _quiet(now: datetime, s: dict[str, Any]) -> bool:
    from shared.rss.schedule import PostingRules, in_quiet_hours

    return in_quiet_hours(now, PostingRules.from_settings(s))


def probe(t: Tick, refs: list[str]) -> None:
    from shared.config import get_config

    states = t.payloads.get("rss.probe", {})
    live = {r: states[r] for r in refs if states.get(r)}  # a feed without state was deleted: its check ends
    if not live:
        return
    settings = t.meta_json(SETTINGS_META, {}) or {}
    gov = t.governor
    # the owner's freshness trade-off, unless the governor is holding the database back
    db_held = bool(gov.levels.get("neon.cu_hours"))
    window_minutes = gov.rss_window_minutes if db_held else _int(settings.get("rssProcessingWindowMinutes"), 120)
    urgent_allowed = gov.rss_urgent if db_held else settings.get("rssUrgentProcessing", True) is not False
    now_dt = feedstate.utc(t.now)
    quiet = _quiet(now_dt, settings)
    results = asyncio.run(_fetch_all(live, get_config()))
    # the next processing window, not sooner than a window length after the last one (an urgent window at :50
    # already processed what had changed; :00 would wake the database again for little)
    urgent = []
    window_at = t.next_window(window_minutes)
    for fid, state in live.items():
        kind, value = results[fid]
        period = int(state["i"]) * 60 * gov.rss_check_multiplier
        nxt = feedstate.next_on_grid(t.now, period)
        if kind == "error":
            state["x"] = int(state.get("x") or 0) + 1
            from shared.rss.backoff import retry_delay

            nxt = max(nxt, t.now + retry_delay(state["x"]).total_seconds())
            t.arm("rss.process", fid, window_at)  # the window's fetch records the failure (or succeeds)
            t.count("rss.check_failed")
        elif kind == "not_modified":
            state["x"] = 0
            t.count("rss.not_modified")
        else:
            result, entries, keys = value
            state["x"] = 0
            state["e"], state["m"] = result.etag, result.last_modified
            verdict = feedstate.judge(state, entries, keys, now_dt,
                                      global_posting=bool(settings.get("globalRSSPosting", True)), quiet=quiet)
            if verdict.dirty:
                go_now = verdict.urgent and urgent_allowed
                t.arm("rss.process", fid, t.now if go_now else window_at)
                if go_now:
                    urgent.append(verdict.reason)
                t.count("rss.changed")
            else:
                t.count("rss.unchanged")
        t.set_payload(STATE_KEY, fid, state)
        t.arm("rss.probe", fid, nxt)
    if urgent:
        t.request_window("; ".join(urgent)[:300])
    from shared.usage import meter

    meter.count("rss.runs")
    meter.gauge("rss.last_run", t.now)
    t.count("rss.checked", len(live))


async def _fetch_all(states: dict[str, dict], cfg) -> dict[str, tuple[str, Any]]:
    from shared.net.fetch import FetchError, FetchLimits, fetch, make_client
    from shared.rss.parser import NotAFeed, parse_feed
    from shared.rss.pipeline import _entry_rows

    sem = asyncio.Semaphore(cfg.rss_fetch_concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    limits = FetchLimits(total_timeout=cfg.rss_fetch_timeout_seconds,
                         read_timeout=min(10.0, cfg.rss_fetch_timeout_seconds))

    def host_slot(url: str):
        if cfg.rss_per_host_concurrency <= 0:
            return contextlib.nullcontext()
        host = (urlsplit(url).hostname or "").lower()
        return hosts.setdefault(host, asyncio.Semaphore(cfg.rss_per_host_concurrency))

    async with make_client(cfg.rss_fetch_concurrency) as client:
        async def one(fid: str, state: dict) -> tuple[str, tuple[str, Any]]:
            async with host_slot(state["u"]), sem:
                try:
                    res = await fetch(client, state["u"], etag=state.get("e"), last_modified=state.get("m"),
                                      limits=limits)
                    if res.not_modified:
                        return fid, ("not_modified", None)
                    parsed = parse_feed(res.body, content_type=res.content_type, url=res.url)
                    rows = _entry_rows(parsed.entries[: cfg.rss_item_limit_per_fetch], "new")
                    return fid, ("changed", (res, [r["_entry"] for r in rows], [r["dedupe_key"] for r in rows]))
                except (FetchError, NotAFeed) as exc:
                    return fid, ("error", getattr(exc, "message", str(exc)))
                except Exception as exc:  # a surprise in one feed never sinks the others
                    log.exception("check of feed %s failed", fid)
                    return fid, ("error", f"{type(exc).__name__}")

        pairs = await asyncio.gather(*(one(fid, st) for fid, st in states.items()))
    return dict(pairs)


# --- processing (database) -----------------------------------------------------------------------------------
def process(t: Tick, refs: list[str]) -> None:
    from shared.config import get_config
    from shared.db import connection
    from shared.rss import locks, poller, repo

    cfg = get_config()
    with connection() as conn:
        feeds = [f for f in repo.feeds_by_ids(conn, refs) if f["enabled"] and f["status"] != "paused"]
    cap = poller.capacity(cfg.rss_fetch_concurrency, cfg.rss_tick_budget_seconds)
    here, rest = feeds[:cap], feeds[cap:]
    for f in rest:  # more than one invocation can do: the rest runs in the next tick, a minute from now
        t.arm("rss.process", str(f["id"]), t.now + 60)
    token = uuid.uuid4().hex
    ids = [str(f["id"]) for f in here]
    held = set(locks.acquire("rss-feed", ids, token, cfg.rss_feed_lock_seconds))
    for fid in set(ids) - held:  # being fetched by hand right now: look again in a minute
        t.arm("rss.process", fid, t.now + 60)
    armed: list = []
    try:
        report, _ = asyncio.run(poller.run_feeds(
            [f for f in here if str(f["id"]) in held], now_fn=lambda: feedstate.utc(clock.time()),
            collect=armed, post_grid_minutes=t.governor.post_grid_minutes))
    finally:
        locks.release("rss-feed", list(held), token)
    for kind, ref, at in armed:
        t.arm(kind, ref, at)
    _refresh(t, ids)
    t.count("rss.processed", report.processed)
    t.count("rss.new_items", report.new_items)
    t.count("rss.planned", len(armed))
    from shared.usage import meter

    # a run is a check of the feeds (counted there); processing what a check found is part of that run
    meter.gauge("rss.last_run", t.now)


def deliver(t: Tick, refs: list[str]) -> None:
    from shared.rss import queue

    now = clock.now()  # handlers before this one took time: a post planned during this tick is due by now
    for pid in refs:
        try:
            res = queue.deliver_due(pid, now)
        except Exception:  # one post's surprise never holds the others; the engine's records stay as they are
            log.exception("delivery of planned post %s failed", pid)
            t.count("rss.delivery_errors")
            continue
        if res.get("rearm"):
            t.arm("rss.post", pid, res["rearm"])
        else:
            t.count("rss.delivered" if not res.get("stale") else "rss.stale")


def housekeeping(t: Tick, refs: list[str]) -> None:
    from shared.rss import poller, queue
    from shared.scheduling import dispatch

    nxt = feedstate.next_on_grid(t.now, HOUSEKEEPING_SECONDS)  # 00, 06, 12, 18 UTC: with maintenance
    t.arm("rss.housekeeping", "all", nxt)
    t.set_meta(HK_META, repr(nxt))
    poller._prune()
    held = {ref for m in dispatch.pending("rss.post") for _, ref in [dispatch.split(m)]}
    held |= {dispatch.split(m)[1] for m in t.adds if m.startswith("rss.post|")}
    for kind, ref, at in queue.unarmed(feedstate.utc(t.now), held):
        t.arm(kind, ref, max(at, t.now))
        t.count("rss.rearmed")
    t.set_meta(SETTINGS_META, _settings_copy())
    # the YouTube channels' own checks run on their interval (shared/channels/timing.py); their Redis copy is
    # rebuilt here, in a window that is open anyway, so a lost entry or a missed edit heals within 6 h
    t.arm("channels.rebuild", "all", t.now)
