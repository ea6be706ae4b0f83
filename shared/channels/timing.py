"""YouTube channels on the dispatcher (shared/scheduling/dispatch.py), on their own `fetchInterval`, without a
database wake-up for a channel that uploaded nothing.

A trailer account lives on speed, and channels used to be polled only when the RSS housekeeping window opened
(hourly at best, every 6 h when idle): a trailer could reach the owner hours after its upload. Now:
- `channels.probe` (Redis only): each active channel's Atom feed is fetched on its interval's grid with the
  validators and the ids of the videos already recorded kept in Redis (`channels:state`). Not modified, or no
  video id it has not recorded: the state moves on and Postgres sleeps (YouTube's feed changes its bytes on
  every view count, so "changed" alone means little). An unseen video id: `channels.process` runs now (the
  database wakes once per upload, a few times a day), because a trailer found later is worth less.
- `channels.process` (database): the channels' usual check (shared/channels/poller.py: record, detect,
  notify), then their state is rewritten from what Postgres now holds.
- `channels.rebuild` (database): the Redis copy from Postgres, armed by the RSS rebuild (first run, Redis
  emptied: the RSS copy is gone then too, and one bootstrap check serves both) and by every RSS housekeeping
  window, as a safety net; a channel added, edited or deleted updates its own entry at once
  (`channels_changed`, the request has the database awake anyway).
A failing check backs off (shared/rss/backoff.py) and is recorded by a `channels.process` in the next window.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from shared import clock
from shared.rss import feedstate
from shared.scheduling.dispatch import Kind, Tick, register

log = logging.getLogger("screndly.channels.timing")

STATE_KEY = "channels:state"
MIRROR_META = "channels.mirror"
KEPT_IDS = 60  # a channel's Atom feed lists its latest 15 uploads: 60 recorded ids cover edits and re-orders
WINDOW_MINUTES = 60  # a failed check is recorded in the next window this far out at most

register(Kind("channels.rebuild", "shared.channels.timing:rebuild", needs_db=True, order=6))
register(Kind("channels.probe", "shared.channels.timing:probe", needs_db=False, payload_key=STATE_KEY, order=12))
register(Kind("channels.process", "shared.channels.timing:process", needs_db=True, early=6 * 3600.0, order=22))


def state_of(row: dict[str, Any]) -> dict[str, Any]:
    """A channel row (with `ids`: its recorded video ids, newest first) -> its Redis state."""
    from shared.channels.youtube import feed_url

    return {"u": feed_url(row["channel_id"]), "i": int(row["interval_minutes"]), "e": row["etag"],
            "m": row["last_modified"], "k": list(row.get("ids") or [])[:KEPT_IDS],
            "x": int(row.get("consecutive_failures") or 0)}


_ROWS_SQL = """
SELECT c.id, c.channel_id, c.interval_minutes, c.etag, c.last_modified, c.seeded, c.consecutive_failures,
       c.next_run_at,
       ARRAY(SELECT v.video_id FROM yt_videos v WHERE v.channel_ref = c.id
             ORDER BY v.published_at DESC NULLS LAST, v.id DESC LIMIT %(kept)s) AS ids
  FROM yt_channels c WHERE c.status = 'active' {where}
"""


def _rows(ids: list[str] | None = None) -> list[dict]:
    from shared.db import connection

    with connection() as conn:
        if ids is None:
            return conn.execute(_ROWS_SQL.format(where=""), {"kept": KEPT_IDS}).fetchall()
        return conn.execute(_ROWS_SQL.format(where="AND c.id = ANY(%(ids)s::uuid[])"),
                            {"kept": KEPT_IDS, "ids": ids}).fetchall()


def _period(row_or_state_minutes: int, t: Tick | None = None) -> float:
    mult = t.governor.rss_check_multiplier if t is not None else 1
    return max(1, int(row_or_state_minutes)) * 60 * mult


def _next_probe(row: dict[str, Any], on_grid: float) -> float:
    """A failing channel keeps its back-off (shared/rss/backoff.py) whatever re-arms it: an edit, a rebuild."""
    if row["consecutive_failures"] and row["next_run_at"] and row["next_run_at"].timestamp() > on_grid:
        return row["next_run_at"].timestamp()
    return on_grid


def channels_changed(ids: list[str]) -> None:
    """Channels were added, edited (status, interval) or deleted: write their Redis entries and arm their next
    check now (a new channel's first check records what exists, announcing only fresh uploads)."""
    from shared.redis_client import get_redis
    from shared.scheduling import dispatch

    try:
        rows = {str(r["id"]): r for r in _rows(ids)}
        gone = [cid for cid in ids if cid not in rows]
        r = get_redis()
        if rows:
            r.hset(STATE_KEY, values={cid: json.dumps(state_of(row), separators=(",", ":"))
                                      for cid, row in rows.items()})
        if gone:
            r.hdel(STATE_KEY, *gone)
            dispatch.disarm("channels.probe", gone)
            dispatch.disarm("channels.process", gone)
        now = clock.time()
        dispatch.arm([("channels.process", cid, now) if not row["seeded"] else
                      ("channels.probe", cid, _next_probe(row, feedstate.grid_at_or_after(
                          now + 60, _period(row["interval_minutes"]))))
                      for cid, row in rows.items()])
    except Exception:  # Redis down: the next rebuild (at the latest the housekeeping window) catches up
        log.warning("could not update the channel checks' copy of %d channel(s)", len(ids), exc_info=True)


def rebuild(t: Tick, refs: list[str]) -> None:
    from shared.redis_client import get_redis

    rows = _rows()
    get_redis().delete(STATE_KEY)  # channels deleted meanwhile go; every active one is written below
    for row in rows:
        cid = str(row["id"])
        t.set_payload(STATE_KEY, cid, state_of(row))
        if not row["seeded"]:
            t.arm("channels.process", cid, t.now)
            continue
        t.arm("channels.probe", cid, _next_probe(row, feedstate.grid_at_or_after(t.now, _period(
            row["interval_minutes"], t))))
    t.set_meta(MIRROR_META, repr(t.now))
    t.count("channels.mirrored", len(rows))


def unseen(state: dict[str, Any], video_ids: list[str]) -> list[str]:
    """The feed's video ids the channel has not recorded (pure)."""
    known = set(state.get("k") or [])
    return [v for v in video_ids if v not in known]


def probe(t: Tick, refs: list[str]) -> None:
    states = t.payloads.get("channels.probe", {})
    live = {r: states[r] for r in refs if states.get(r)}  # no state: the channel was deleted or paused
    if not live:
        return
    results = asyncio.run(_fetch_all(live))
    found = []
    for cid, state in live.items():
        kind, value = results[cid]
        nxt = feedstate.next_on_grid(t.now, _period(state["i"], t))
        if kind == "error":
            from shared.rss.backoff import retry_delay

            state["x"] = int(state.get("x") or 0) + 1
            nxt = max(nxt, t.now + retry_delay(state["x"]).total_seconds())
            t.arm("channels.process", cid, t.next_window(WINDOW_MINUTES))  # its own check records the failure
            t.count("channels.check_failed")
        elif kind == "not_modified":
            state["x"] = 0
            t.count("channels.not_modified")
        else:
            etag, last_modified, ids = value
            state["x"], state["e"], state["m"] = 0, etag, last_modified
            new = unseen(state, ids)
            if new:
                t.arm("channels.process", cid, t.now)
                found.append(cid)
                t.count("channels.uploads")
            else:
                t.count("channels.unchanged")
        t.set_payload(STATE_KEY, cid, state)
        t.arm("channels.probe", cid, nxt)
    if found:
        t.request_window(f"new uploads on {len(found)} YouTube channel(s)")
    t.count("channels.checked", len(live))


async def _fetch_all(states: dict[str, dict]) -> dict[str, tuple[str, Any]]:
    from shared.channels.youtube import video_id
    from shared.net.fetch import FetchError, make_client
    from shared.net.fetch import fetch as get
    from shared.rss.parser import NotAFeed, parse_feed

    sem = asyncio.Semaphore(8)
    async with make_client(8) as client:
        async def one(cid: str, state: dict) -> tuple[str, tuple[str, Any]]:
            async with sem:
                try:
                    res = await get(client, state["u"], etag=state.get("e"), last_modified=state.get("m"))
                    if res.not_modified:
                        return cid, ("not_modified", None)
                    parsed = parse_feed(res.body, content_type=res.content_type, url=res.url)
                    ids = [v for v in (video_id(e) for e in parsed.entries) if v]
                    return cid, ("changed", (res.etag, res.last_modified, ids))
                except (FetchError, NotAFeed) as exc:
                    return cid, ("error", getattr(exc, "message", str(exc)))
                except Exception as exc:  # one channel's surprise never sinks the others
                    log.exception("check of channel %s failed", cid)
                    return cid, ("error", type(exc).__name__)

        pairs = await asyncio.gather(*(one(cid, st) for cid, st in states.items()))
    return dict(pairs)


def process(t: Tick, refs: list[str]) -> None:
    from shared.channels.poller import poll_due_channels

    active = [str(r["id"]) for r in _rows(list(refs))]  # paused or deleted since it was armed: not checked
    if active:
        t.report["channels"] = asyncio.run(poll_due_channels(now_fn=lambda: feedstate.utc(clock.time()),
                                                             ids=active))
    rows = {str(r["id"]): r for r in _rows(active)} if active else {}
    for cid in refs:
        row = rows.get(cid)
        if row is None:  # deleted or paused meanwhile: its checks end
            t.set_payload(STATE_KEY, cid, None)
            t.done("channels.probe", cid)
            continue
        t.set_payload(STATE_KEY, cid, state_of(row))
        t.arm("channels.probe", cid, _next_probe(row, feedstate.next_on_grid(t.now, _period(
            row["interval_minutes"], t))))
    t.count("channels.processed", len(refs))
