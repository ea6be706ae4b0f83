"""The comment poll's switch: a small Redis value that lets an idle poll return without touching the database.

    comments:switch     {"platforms": [ready to poll], "waiting": [switched on, not connected yet],
                         "intervalMinutes": 10, "checkedAt": epoch}
    comments:last_poll  epoch of the last poll that ran

The poll reads both with one MGET (1 Redis command). Nothing ready -> it returns at once: no database query,
no run-once bookkeeping. The switch is rebuilt from the database (settings + connections: 2 queries) when:
settings it depends on are saved (the settings change hook, shared/comments/schedule.py), the readiness endpoint
is read, a poll runs
(it knows the truth anyway), the daily cleanup runs, the key is missing (Redis lost it), and at most once an hour
while some platform is switched on but not connected (so connecting one starts polling within the hour; opening
the Comments page starts it at once).

`intervalMinutes` (setting `commentPollInterval`, default 10) is also the schedule's cron (schedule.py); a tick
that arrives before the interval has passed (a cron not yet rewritten, a redelivery) returns at once too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

SWITCH_KEY = "comments:switch"
LAST_POLL_KEY = "comments:last_poll"
RECHECK_SECONDS = 3600
DUE_SLACK_SECONDS = 60  # a tick that arrives a little early still polls


@dataclass
class Gate:
    run: bool
    reason: str
    platforms: list[str] = field(default_factory=list)
    rebuilt: bool = False


def state_from(cs, conns: dict, now: float) -> dict[str, Any]:
    """Pure: which platforms a poll may read, and which wait for a connection (a change no settings write sees)."""
    from shared.comments.readiness import assess, missing_scopes

    ready, waiting = [], []
    for p in cs.enabled_platforms():
        conn = conns.get(p)
        if assess(p, cs, conn).ready:
            ready.append(p)
        elif conn is None or conn.status != "connected" or missing_scopes(p, conn.scopes):
            waiting.append(p)
    return {"platforms": ready, "waiting": waiting, "intervalMinutes": cs.poll_minutes, "checkedAt": now}


def decide(state: dict[str, Any], last_poll: float | None, now: float) -> Gate:
    """Pure: run the poll now or not, and why."""
    if not state.get("platforms"):
        waiting = state.get("waiting") or []
        return Gate(False, "switched on but not connected: " + ", ".join(waiting) if waiting
                    else "comment replies are not switched on for any platform")
    interval = int(state.get("intervalMinutes") or 10) * 60
    if last_poll is not None and now - last_poll < interval - DUE_SLACK_SECONDS:
        return Gate(False, f"not due: the last poll was {int(now - last_poll)} s ago, the interval is "
                           f"{interval // 60} min", list(state["platforms"]))
    return Gate(True, "due", list(state["platforms"]))


def rebuild(now: float | None = None) -> dict[str, Any]:
    """Recompute the switch from the database and store it."""
    from shared.comments import repo
    from shared.comments.config import SETTING_KEYS, CommentSettings
    from shared.db import connection
    from shared.settings.store import read_settings

    now = time.time() if now is None else now
    with connection() as c:
        cs = CommentSettings.from_settings(read_settings(SETTING_KEYS, conn=c))
        conns = repo.connections(c)
    state = state_from(cs, conns, now)
    store(state)
    return state


def store(state: dict[str, Any]) -> None:
    from shared.redis_client import get_redis

    get_redis().set(SWITCH_KEY, json.dumps(state, separators=(",", ":")))


def gate(now: float | None = None) -> Gate:
    """1 Redis command when idle; the database only when the switch must be rebuilt."""
    from shared.redis_client import get_redis

    now = time.time() if now is None else now
    raw, last = get_redis().mget(SWITCH_KEY, LAST_POLL_KEY)
    state = json.loads(raw) if raw else None
    rebuilt = False
    if state is None or (not state.get("platforms") and state.get("waiting")
                         and now - float(state.get("checkedAt") or 0) >= RECHECK_SECONDS):
        state = rebuild(now)
        rebuilt = True
    g = decide(state, float(last) if last else None, now)
    g.rebuilt = rebuilt
    return g


def polled(state: dict[str, Any], at: float) -> None:
    """After a poll: its time, and the switch as the poll found it (one round trip, 2 commands)."""
    from shared.redis_client import get_redis

    p = get_redis().pipeline()
    p.set(LAST_POLL_KEY, f"{at:.3f}", ex=7 * 24 * 3600)
    p.set(SWITCH_KEY, json.dumps(state, separators=(",", ":")))
    p.exec()
