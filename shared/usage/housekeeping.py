"""The usage meter's share of the dispatcher's windows (shared/scheduling/dispatch.py): at least every 6 hours,
and in any window that opens at least 50 minutes after the last run, move the meter's Redis batches into
Postgres (at most every 3 hours: a fold is two commands), run the governor (shared/usage/govern.py) and keep its
decisions in the dispatcher's meta hash,
where every tick reads them without a wake-up. It also re-sends a media wake-up when queued jobs wait (a lost
token otherwise waits for the worker's rare safety poll), and re-arms scheduled compose posts the dispatcher does
not hold (shared/compose/scheduler.py `sweep`).
"""

from __future__ import annotations

import logging

from shared.db.rows import one
from shared.scheduling.dispatch import Kind, Tick, hook, register

log = logging.getLogger("screndly.usage")

PERIOD = 6 * 3600
MIN_GAP = 50 * 60
FOLD_EVERY = 3 * 3600  # a fold costs two Redis commands: the governor may read Redis-held counts 3 h late
META = "usage.hk"
FOLDED = "usage.folded"

register(Kind("usage.housekeeping", "shared.usage.housekeeping:run", needs_db=True, early=float(PERIOD - MIN_GAP),
              order=90))


@hook
def _bootstrap(t: Tick) -> None:
    if not t.meta.get(META):
        t.arm("usage.housekeeping", "all", t.now + 60)
        t.set_meta(META, repr(t.now + 60))


def run(t: Tick, refs: list[str]) -> None:
    from shared.rss.feedstate import next_on_grid
    from shared.usage import govern

    nxt = next_on_grid(t.now, PERIOD)  # 00, 06, 12, 18 UTC: the hours the maintenance schedule wakes it anyway
    t.arm("usage.housekeeping", "all", nxt)
    t.set_meta(META, repr(nxt))
    try:
        last = float(t.meta.get(FOLDED) or 0)
    except ValueError:
        last = 0.0
    fold = t.now - last >= FOLD_EVERY
    try:
        t.set_meta("governor", govern.refresh(fold_first=fold))
        if fold:
            t.set_meta(FOLDED, repr(t.now))
    finally:
        _wake_media_if_waiting()
        _compose_safety_net(t)


def _compose_safety_net(t: Tick) -> None:
    """Scheduled compose posts the dispatcher lost (Redis emptied, an arm failed) are armed again here, in a window
    that is open anyway (shared/compose/scheduler.py)."""
    try:
        from shared.compose.scheduler import sweep

        sweep(t)
    except Exception:
        log.warning("compose safety net failed", exc_info=True)


def _wake_media_if_waiting() -> None:
    from shared.db import connection

    try:
        with connection() as conn:
            waiting = one(conn.execute("SELECT count(*) AS n FROM media_jobs WHERE state = 'queued' "
                                       "AND run_after <= now()").fetchone())["n"]
        if waiting:
            from shared.media.jobs.wake import push_wake

            push_wake(1)
    except Exception:
        log.warning("media wake-up check failed", exc_info=True)
