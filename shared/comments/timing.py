"""The comment automation on the dispatcher (shared/scheduling/dispatch.py).

Kinds:
- `comments.poll` (Redis only): decides from the switch in the dispatcher's meta hash (shared/comments/switch.py,
  read by the tick at no extra command) whether a poll is due. Nothing switched on: nothing runs, no database,
  and it looks again at the next full hour (the hourly safety-net schedule fires then anyway: no QStash
  message). Paused by the governor (`pauseComments`): the same. Ready and due: it arms `comments.run` for now.
  It re-arms itself on its grid: the owner's interval, or the governor's slower one (`slowComments`), anchored
  at midnight UTC like the feed checks, so both share a wake-up.
- `comments.run` (database): the poll itself (shared/comments/service.py: read, store, filter, reply). It runs in
  the window the due poll opens, together with anything else that needs the database then.
- `comments.sync` (database, may run early): rebuild the switch (Redis lost it; a platform switched on but not
  connected, at most hourly). It joins any window that opens before its time.

A settings save re-arms the poll at once (shared/comments/schedule.py), so switching comments on starts polling
at the next grid point without waiting for the hourly look.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.comments import switch
from shared.scheduling.dispatch import Kind, Tick, hook, register

log = logging.getLogger("screndly.comments.timing")

NEXT_META = "comments.next"  # when the poll item is armed for (tells the bootstrap hook it exists)
IDLE_PERIOD = 3600  # nothing switched on, or paused: look again at the next full hour (the safety net's tick)
SYNC_EARLY = 3300.0

register(Kind("comments.poll", "shared.comments.timing:poll", needs_db=False, order=15))
register(Kind("comments.sync", "shared.comments.timing:sync", needs_db=True, early=SYNC_EARLY, order=24))
register(Kind("comments.run", "shared.comments.timing:run", needs_db=True, order=26))


def _grid(now: float, period: float) -> float:
    from shared.rss.feedstate import next_on_grid

    return next_on_grid(now, period)


@hook
def _bootstrap(t: Tick) -> None:
    """No poll armed yet (first deploy, Redis emptied): look at the switch in this tick (it re-arms itself)."""
    if not t.meta.get(NEXT_META) and NEXT_META not in t.meta_writes:
        poll(t, ["all"])


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
    gov = t.governor
    state = t.meta_json(switch.SWITCH_FIELD)
    try:
        last = float(t.meta.get(switch.LAST_POLL_FIELD) or 0) or None
    except ValueError:
        last = None
    if state is None:  # Redis lost the switch: rebuild it in this tick's window, poll after that
        t.arm("comments.sync", "all", t.now)
        _rearm_in_tick(t, _grid(t.now, 600))
        return
    if gov.comments_paused:
        t.count("comments.paused")
        _rearm_in_tick(t, _grid(t.now, IDLE_PERIOD))
        return
    g = switch.decide(state, last, t.now, gov.comments_poll_minutes)
    if g.recheck:
        t.arm("comments.sync", "all", _grid(t.now, IDLE_PERIOD))
    if g.run:
        t.arm("comments.run", "all", t.now)
        last = t.now
    else:
        t.count("comments.idle")
    _rearm_in_tick(t, next_poll_at(state, t.now, gov.comments_poll_minutes, last_poll=last))


def _record(t: Tick):
    def record(state: dict[str, Any], at: float) -> None:
        t.set_meta(switch.SWITCH_FIELD, switch.encode(state))
        t.set_meta(switch.LAST_POLL_FIELD, f"{at:.3f}")
    return record


def run(t: Tick, refs: list[str]) -> None:
    from shared.comments import service

    report = service.poll(record=_record(t))
    t.count("comments.polled")
    t.report["comments"] = {p: {k: v for k, v in r.items() if k in ("new", "skipped", "error", "paused")}
                            for p, r in report.platforms.items()}


def sync(t: Tick, refs: list[str]) -> None:
    state = switch.compute(t.now)
    t.set_meta(switch.SWITCH_FIELD, switch.encode(state))
    if state.get("platforms"):  # ready now: poll at the next grid point of its interval
        _rearm_in_tick(t, next_poll_at(state, t.now, t.governor.comments_poll_minutes))


def rearm(state: dict[str, Any]) -> None:
    """Outside a tick (a settings save): arm the poll at its next grid point. One Redis command, and a QStash
    wake-up only if that point comes before the armed one and the hourly safety net."""
    from shared import clock
    from shared.scheduling import dispatch

    now = clock.time()
    at = next_poll_at(state, now)
    try:
        dispatch.arm([("comments.poll", "all", at)])
    except Exception:  # Redis down: the bootstrap hook arms it at the next tick that finds no poll armed
        log.warning("could not arm the comment poll", exc_info=True)
