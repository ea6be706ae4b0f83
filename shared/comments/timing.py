"""The comment automation on the dispatcher (shared/scheduling/dispatch.py).

Kinds:
- `comments.poll` (Redis only): decides from the switch in the dispatcher's meta hash (shared/comments/switch.py,
  read by the tick at no extra command) whether a poll is due. Nothing switched on: nothing runs, no database,
  and it looks again at the next full hour (the hourly safety-net schedule fires then anyway: no QStash
  message). Paused by the governor (`pauseComments`): the same. Ready and due: it *peeks* (shared/comments/
  mirror.py: the platforms read with a Redis copy of what the poll needs, given to it by the tick's pop at no
  extra command); only when something is new, or the copy cannot do, is `comments.run` armed. It re-arms itself
  on its grid: the owner's interval, or the governor's slower one (`slowComments`), anchored at midnight UTC like
  the feed checks, so both share a wake-up.
- `comments.run` (database, may run early): the full poll (shared/comments/service.py: read, store, filter,
  reply), then the copy rebuilt. It waits for the next RUN_WINDOW_MINUTES window (joining any window that opens
  sooner), so a new comment is answered within about half an hour unless a limit holds it (the reply frequency,
  the hourly or daily cap, a platform's ceiling) or the poll's time budget runs out. Then the run arms itself
  again for the comments left waiting: when the limit lifts if a calendar says (the frequency's next batch, the
  owner's or YouTube's midnight), at the next window otherwise (sliding hourly and 24-hour caps), at once when
  only time ran out. The peeks cannot see waiting comments (they look for new ones), so this is what answers them.
- `comments.sync` (database, may run early): rebuild the switch and the copy. It joins every window that opens
  (posts are published in windows: the copy learns of them there), and runs on its own at least every
  SYNC_SECONDS while a platform is ready, and every 6 hours while one is switched on but not connected
  (switch.RECHECK_SECONDS; at the next full hour once due, sooner when a window opens).

A settings save re-arms the poll at once (shared/comments/schedule.py), so switching comments on starts polling
at the next grid point without waiting for the hourly look.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.comments import switch
from shared.comments.mirror import MIRROR_KEY
from shared.scheduling.dispatch import Kind, Tick, hook, register

log = logging.getLogger("screndly.comments.timing")

NEXT_META = "comments.next"  # when the poll item is armed for (tells the bootstrap hook it exists)
IDLE_PERIOD = 3600  # nothing switched on, or paused: look again at the next full hour (the safety net's tick)
SYNC_SECONDS = 6 * 3600
RUN_WINDOW_MINUTES = 30

register(Kind("comments.poll", "shared.comments.timing:poll", needs_db=False, payload_key=MIRROR_KEY, order=15))
# the copy lives a little longer than the longest gap between its rebuilds (a sync at least every SYNC_SECONDS
# while a platform is ready): a copy nobody rebuilds (e.g. nothing is ready any more) does not keep tokens
COPY_TTL_SECONDS = SYNC_SECONDS + 3600
# after the posts of a window (rss.post 30, tmdb.post 35): the copy knows what the window published
register(Kind("comments.run", "shared.comments.timing:run", needs_db=True, early=RUN_WINDOW_MINUTES * 60.0,
              order=90))
register(Kind("comments.sync", "shared.comments.timing:sync", needs_db=True, early=float(SYNC_SECONDS), order=95))


def _grid(now: float, period: float) -> float:
    from shared.rss.feedstate import next_on_grid

    return next_on_grid(now, period)


@hook
def _bootstrap(t: Tick) -> None:
    """No poll armed yet (first deploy, Redis emptied): look at the switch in this tick (it re-arms itself). Only
    then does a hook do more than read the meta: a poll found due at that moment peeks (platform reads)."""
    if not t.meta.get(NEXT_META) and NEXT_META not in t.meta_writes:
        poll(t, ["all"])  # the tick logs and goes on should this raise (dispatch.tick wraps every hook)


def _rearm_in_tick(t: Tick, at: float) -> None:
    t.arm("comments.poll", "all", at)
    t.set_meta(NEXT_META, repr(at))


def next_poll_at(state: dict[str, Any] | None, now: float, governor_minutes: int = 0, paused: bool = False,
                 last_poll: float | None = None) -> float:
    """Pure: when the poll item should come back: the first grid point of its interval a period after the last
    poll (the first one at least a minute away when none ran yet); the next full hour while idle or paused."""
    from shared.rss.feedstate import grid_at_or_after

    if state is None or paused or not state.get("platforms"):
        return _grid(now, IDLE_PERIOD)
    period = switch.interval_seconds(state, governor_minutes)
    earliest = now + 60 if last_poll is None else max(now + 1, last_poll + period - switch.DUE_SLACK_SECONDS)
    return grid_at_or_after(earliest, period)


def poll(t: Tick, refs: list[str]) -> None:
    from shared.comments import mirror

    if t.report.get("comments.looked"):  # the bootstrap hook looked in this tick already: keep what it armed
        t.arm("comments.poll", "all", float(t.meta_writes[NEXT_META]))
        return
    t.report["comments.looked"] = True
    gov = t.governor
    state = t.meta_json(switch.SWITCH_FIELD)
    try:
        last = float(t.meta.get(switch.LAST_POLL_FIELD) or 0) or None
    except ValueError:
        last = None
    if state is None:  # Redis lost the switch: rebuild it in the next window that opens (at the latest in an hour)
        t.arm("comments.sync", "all", _grid(t.now, IDLE_PERIOD))
        _rearm_in_tick(t, _grid(t.now, IDLE_PERIOD))
        return
    if gov.comments_paused:
        t.count("comments.paused")
        _rearm_in_tick(t, _grid(t.now, IDLE_PERIOD))
        return
    g = switch.decide(state, last, t.now, gov.comments_poll_minutes)
    if g.recheck:
        t.arm("comments.sync", "all", _grid(t.now, IDLE_PERIOD))
    if g.run:
        copy = t.payloads.get("comments.poll", {}).get("all")
        pk = mirror.peek(copy, g.platforms, t.now)
        if copy and pk.read:
            # the units it spent, for the read ledger; not over a copy a window rebuilt meanwhile (the rebuild
            # charged what the copy held then: this peek's units stay in the usage meter, not the ledger)
            raw = t.payload_raw.get("comments.poll", {}).get("all")
            if raw:
                t.set_payload(MIRROR_KEY, "all", copy, unless_changed_from=raw)
        last = t.now
        t.set_meta(switch.LAST_POLL_FIELD, f"{t.now:.3f}")
        t.count("comments.peeked")
        from shared.usage import meter

        meter.count("comments.runs")  # one run per look: a full poll it asks for is the same run
        meter.gauge("comments.last_run", t.now)
        if pk.full:
            # the governor holding the database back (Neon's projection) stretches the wait to its RSS window
            db_held = bool(gov.levels.get("neon.cu_hours"))
            t.arm("comments.run", "all", t.next_window(gov.rss_window_minutes if db_held else RUN_WINDOW_MINUTES))
            t.report["comments"] = "; ".join(pk.reasons)[:200]
    else:
        t.count("comments.idle")
    _rearm_in_tick(t, next_poll_at(state, t.now, gov.comments_poll_minutes, last_poll=last))


def _record(t: Tick):
    def record(state: dict[str, Any], at: float) -> None:
        t.set_meta(switch.SWITCH_FIELD, switch.encode(state))
        t.set_meta(switch.LAST_POLL_FIELD, f"{at:.3f}")
    return record


def _old_copy(t: Tick) -> dict[str, Any] | None:
    import json

    from shared.redis_client import get_redis

    raw = t.payload_writes.get(MIRROR_KEY, {}).get("all")  # written earlier in this tick, not committed yet
    if raw is None:
        raw = get_redis().hget(MIRROR_KEY, "all")
    return json.loads(raw) if raw else None


def _rebuild_copy(t: Tick, full: float | None) -> None:
    from shared import clock
    from shared.comments import mirror

    old = _old_copy(t) or {}
    unbilled = {p: e.get("unbilled") for p, e in (old.get("platforms") or {}).items() if e.get("unbilled")}
    copy = mirror.build(clock.now(), unbilled)
    copy["full"] = full if full is not None else old.get("full") or 0
    if copy["platforms"]:
        t.set_payload(MIRROR_KEY, "all", copy, ttl=COPY_TTL_SECONDS)
    else:  # nothing ready (disconnected, switched off): no tokens left in Redis
        t.set_payload(MIRROR_KEY, "all", None)
    t.report["comments.copy"] = True


def _drop_copy(t: Tick) -> None:
    """Nothing ready: no copy (and no token) stays in Redis. One command to look; the database only to charge
    what the peeks spent, if they spent anything."""
    old = _old_copy(t)
    if not old:
        return
    unbilled = {p: e.get("unbilled") for p, e in (old.get("platforms") or {}).items() if e.get("unbilled")}
    if unbilled:
        from shared.comments import caps, repo
        from shared.db import connection

        with connection() as c:
            for p, spent in unbilled.items():
                for period, n in spent.items():
                    repo.charge(c, p, caps.READ_UNIT[p], period, int(n))
    t.set_payload(MIRROR_KEY, "all", None)
    t.report["comments.copy"] = True


def run(t: Tick, refs: list[str]) -> None:
    from shared import clock
    from shared.comments import service

    report = service.poll(record=_record(t), count_run=False)
    t.count("comments.polled")
    t.report["comments"] = {p: {k: v for k, v in r.items() if k in ("new", "skipped", "error", "paused")}
                            for p, r in report.platforms.items()}
    _rebuild_copy(t, clock.time())
    t.arm("comments.sync", "all", t.now + SYNC_SECONDS)
    at = comeback_at(report.platforms, t.now, t.next_window(RUN_WINDOW_MINUTES))
    if at is not None:
        t.arm("comments.run", "all", at)
        t.count("comments.waiting")


def comeback_at(platforms: dict[str, dict[str, Any]], now: float, next_window: float) -> float | None:
    """Pure: when the full poll must run again for comments it left waiting (None: none wait). Each platform's
    `replies` says how many wait and, if known, when its limit lifts; unknown means the next window. Never sooner
    than a minute (the tick would otherwise run it again at once)."""
    times = []
    for r in platforms.values():
        rep = r.get("replies") or {}
        if not rep.get("waiting"):
            continue
        resume = rep.get("resumeAt")
        times.append(float(resume) if resume is not None else next_window)
    return max(min(times), now + 60) if times else None


def sync(t: Tick, refs: list[str]) -> None:
    state = switch.compute(t.now)
    t.set_meta(switch.SWITCH_FIELD, switch.encode(state))
    if not t.report.get("comments.copy"):  # a full poll in this window rebuilt it already
        if state.get("platforms"):
            _rebuild_copy(t, None)
        else:
            _drop_copy(t)
    if state.get("platforms"):
        t.arm("comments.sync", "all", t.now + SYNC_SECONDS)  # joins every window until then
        try:
            armed = float(t.meta_writes.get(NEXT_META) or t.meta.get(NEXT_META) or "inf")
        except ValueError:
            armed = float("inf")
        nxt = next_poll_at(state, t.now, t.governor.comments_poll_minutes)
        if nxt < armed:  # it was looking hourly: ready now, poll on the interval's grid
            _rearm_in_tick(t, nxt)


def rearm(state: dict[str, Any]) -> None:
    """Outside a tick (a settings save, the readiness page): arm the poll at its next grid point, and the copy's
    rebuild in the next window. Two Redis commands, and a QStash wake-up only if that point comes before the
    armed one and the hourly safety net."""
    from shared import clock
    from shared.scheduling import dispatch

    now = clock.time()
    items = [("comments.poll", "all", next_poll_at(state, now))]
    if state.get("platforms"):
        items.append(("comments.sync", "all", now + SYNC_SECONDS))
    try:
        dispatch.arm(items)
        from shared.redis_client import get_redis

        get_redis().hset(dispatch.META_KEY, values={NEXT_META: repr(items[0][2])})
    except Exception:  # Redis down: the bootstrap hook arms it at the next tick that finds no poll armed
        log.warning("could not arm the comment poll", exc_info=True)
