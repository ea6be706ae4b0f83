"""The dispatcher's kinds for staged posts (shared/scheduling/dispatch.py).

- `publishing.send` (Redis only): at a stage's slot, send it (send.py). No window opens for it.
- `publishing.staging` (database, joins any window): write back what staged senders finished, then stage the
  planned posts due within the horizon. It re-arms itself a month ahead and may run up to a month early, so it
  joins every window that opens and never opens one of its own on an idle day (the 6-hourly maintenance does
  the same work); a finished send moves it to at most two hours ahead, so outcomes are written back by then.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.scheduling.dispatch import Kind, Tick, hook, register

log = logging.getLogger("screndly.publishing.staging")

SEND_KIND = "publishing.send"
WINDOW_KIND = "publishing.staging"
PERIOD_SECONDS = 30 * 86400.0
# a finished staged send is written back within this long even if no window opens by itself meanwhile (the
# row shows `scheduled` until then); the write-backs of all posts sent meanwhile share that one window
WRITEBACK_WITHIN_SECONDS = 2 * 3600.0
META = "publishing.staging"

register(Kind(SEND_KIND, "shared.publishing.staging.timing:send_due", needs_db=False, order=15))
register(Kind(WINDOW_KIND, "shared.publishing.staging.timing:in_window", needs_db=True, early=PERIOD_SECONDS,
              order=90))


def enabled() -> bool:
    from shared.config import get_config

    return bool(get_config().publish_staging)


@hook
def _bootstrap(t: Tick) -> None:
    if enabled():
        if not t.meta.get(META):
            t.arm(WINDOW_KIND, "all", t.now + PERIOD_SECONDS)
            t.set_meta(META, repr(t.now))
    elif t.meta.get(META):  # turned off (the window item is not re-armed): turned on again, it is armed again
        t.set_meta(META, None)


def send_due(t: Tick, refs: list[str]) -> None:
    from shared.publishing.staging.send import send

    for pub_id in refs:
        try:
            verdict = send(pub_id)
        except Exception:  # Redis or the platform failed around the send: the write-back settles what is left
            log.exception("staged send of %s failed", pub_id)
            t.count("staging.send_errors")
            continue
        t.count(f"staging.{verdict}")


def in_window(t: Tick, refs: list[str]) -> None:
    """On: write back and stage, and stay armed. Off (the drain): write back what is still staged, if anything
    is (one indexed SELECT otherwise), and do not re-arm."""
    from shared.publishing.maintenance import staging_step
    from shared.publishing.staging import ahead

    if enabled():
        t.arm(WINDOW_KIND, "all", t.now + PERIOD_SECONDS)
    ahead.reset_pass()
    t.report["staging"] = staging_step()
    for kind, ref in ahead.disarmed():  # posts carried ahead in this pass: this tick must not arm them again
        t.done(kind, ref)


def window() -> dict[str, Any]:
    """Write back, carry the RSS and TMDb posts due within the horizon (ahead.py: their publications are created
    and staged now), then stage the other planned posts (the database is awake): the dispatcher's windows and
    the maintenance tick."""
    from shared.publishing.staging.ahead import materialise
    from shared.publishing.staging.stage import stage_due
    from shared.publishing.staging.writeback import write_back

    return {"written_back": write_back(), "carried": materialise(), "staged": stage_due()}


def want_write_back(now: float, within: float | None = None) -> None:
    """A staged sender finished: make sure a window comes within WRITEBACK_WITHIN_SECONDS, or `within` (0: a
    post released unsent that must go out on time) (two Redis commands; a QStash message only if nothing
    earlier is armed and the hourly schedule does not reach it)."""
    from shared.scheduling import dispatch

    by = now + (WRITEBACK_WITHIN_SECONDS if within is None else within)
    try:
        armed, _ = dispatch.next_armed([WINDOW_KIND])
        if armed.get(WINDOW_KIND) is None or float(armed[WINDOW_KIND] or 0) > by:
            dispatch.arm([(WINDOW_KIND, "all", by)])
    except Exception:  # the maintenance tick writes it back anyway
        log.warning("could not arm the staged write-back", exc_info=True)
