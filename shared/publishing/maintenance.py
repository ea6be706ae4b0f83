"""The publishing maintenance tick (QStash, every six hours): the engine's safety net first — stuck claims
settled, overdue planned rows run, tokens near expiry refreshed, keys rotated, the Graph API version checked —
then the pre-staged posts' share (shared/publishing/staging), which can never keep the net from running.

With staging off the staged share costs one indexed SELECT and no Redis command, unless rows are still staged
(the flag went off with stages made): those are written back (the drain), so a deploy without staging finds none.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("screndly.publishing")


def run() -> dict[str, Any]:
    from shared.publishing.connections.graph_version import check_and_notify
    from shared.publishing.connections.refresh import refresh_due
    from shared.publishing.connections.store import rotate_keys
    from shared.publishing.engine.runner import run_overdue, sweep_stuck

    out: dict[str, Any] = {"stuck": sweep_stuck(), "overdue": run_overdue(), "tokens": refresh_due(),
                           "reencrypted": rotate_keys(), "graphVersion": check_and_notify()}
    out["staging"] = staging_step()
    return out


def staging_step() -> dict[str, Any]:
    """On: the staging window (write back, then stage). Off: write back what is still staged, if anything is."""
    from shared.config import get_config
    from shared.publishing.engine import publications as pubs

    try:
        if get_config().publish_staging:
            from shared.publishing.staging.timing import window

            return dict(window())
        if not pubs.any_staged():
            return {}
        from shared.publishing.staging.writeback import write_back

        return {"written_back": write_back()}
    except Exception:  # the next tick (or window) tries again; the engine's sweeps above have run
        log.exception("the staged posts' maintenance failed")
        return {"error": "failed (logged)"}
