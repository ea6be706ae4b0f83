"""The comment poll's switch: a small Redis value that lets an idle poll return without touching the database.

It lives in the dispatcher's meta hash (shared/scheduling/dispatch.py), which every dispatcher tick reads
anyway, so the `comments.poll` kind (shared/comments/timing.py) decides from it at no extra Redis command:

    dispatch:meta  comments.switch     {"platforms": [ready to poll], "waiting": [switched on, not connected yet],
                                        "intervalMinutes": 10, "checkedAt": epoch}
                   comments.last_poll  epoch of the last poll that ran

Nothing ready -> the poll is not run: no database query. The switch is rebuilt from the database (settings +
connections: 2 queries) when: settings it depends on are saved (the settings change hook,
shared/comments/schedule.py), the readiness endpoint is read, a poll runs (it knows the truth anyway), the
daily cleanup runs, the field is missing (Redis lost it), and every 6 hours while some platform is switched on
but not connected, joining a database window that opens anyway when one does (so connecting one starts polling
within 6 hours at the latest; opening the Comments page starts it within the hour).

`intervalMinutes` (setting `commentPollInterval`, default 10) is the poll's grid; a poll that comes before the
interval has passed (a redelivered wake-up, a settings change) does nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

META_KEY = "dispatch:meta"  # shared.scheduling.dispatch.META_KEY (not imported: this module stays light)
SWITCH_FIELD = "comments.switch"
LAST_POLL_FIELD = "comments.last_poll"
RECHECK_SECONDS = 6 * 3600  # switched on, not connected: the connections are looked at again this often
DUE_SLACK_SECONDS = 60  # a tick that arrives a little early still polls


@dataclass
class Gate:
    run: bool
    reason: str
    platforms: list[str] = field(default_factory=list)
    rebuilt: bool = False
    recheck: bool = False  # switched on but not connected, last checked an hour ago or more: rebuild it


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


def interval_seconds(state: dict[str, Any], governor_minutes: int = 0) -> int:
    """The poll's period: the owner's interval, or the governor's slower cadence when it is slowing comments."""
    return max(int(state.get("intervalMinutes") or 10), int(governor_minutes or 0)) * 60


def decide(state: dict[str, Any], last_poll: float | None, now: float, governor_minutes: int = 0) -> Gate:
    """Pure: run the poll now or not, and why."""
    if not state.get("platforms"):
        waiting = state.get("waiting") or []
        recheck = bool(waiting) and now - float(state.get("checkedAt") or 0) >= RECHECK_SECONDS
        return Gate(False, "switched on but not connected: " + ", ".join(waiting) if waiting
                    else "comment replies are not switched on for any platform", recheck=recheck)
    interval = interval_seconds(state, governor_minutes)
    if last_poll is not None and now - last_poll < interval - DUE_SLACK_SECONDS:
        return Gate(False, f"not due: the last poll was {int(now - last_poll)} s ago, the interval is "
                           f"{interval // 60} min", list(state["platforms"]))
    return Gate(True, "due", list(state["platforms"]))


def compute(now: float | None = None) -> dict[str, Any]:
    """The switch as the database has it now (2 queries)."""
    from shared.comments import repo
    from shared.comments.config import SETTING_KEYS, CommentSettings
    from shared.db import connection
    from shared.settings.store import read_settings

    now = time.time() if now is None else now
    with connection() as c:
        cs = CommentSettings.from_settings(read_settings(SETTING_KEYS, conn=c))
        conns = repo.connections(c)
    return state_from(cs, conns, now)


def rebuild(now: float | None = None) -> dict[str, Any]:
    """Recompute the switch from the database and store it."""
    state = compute(now)
    store(state)
    return state


def encode(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"))


def store(state: dict[str, Any]) -> None:
    from shared.redis_client import get_redis

    get_redis().hset(META_KEY, values={SWITCH_FIELD: encode(state)})


def read() -> tuple[dict[str, Any] | None, float | None]:
    """(switch, last poll) in one command."""
    from shared.redis_client import get_redis

    raw, last = get_redis().hmget(META_KEY, SWITCH_FIELD, LAST_POLL_FIELD)
    return (json.loads(raw) if raw else None), (float(last) if last else None)


def gate(now: float | None = None, governor_minutes: int = 0) -> Gate:
    """1 Redis command when idle; the database only when the switch must be rebuilt."""
    now = time.time() if now is None else now
    state, last = read()
    rebuilt = False
    if state is None or decide(state, last, now).recheck:
        state = rebuild(now)
        rebuilt = True
    g = decide(state, last, now, governor_minutes)
    g.rebuilt = rebuilt
    return g


def polled(state: dict[str, Any], at: float) -> None:
    """After a poll outside the dispatcher: its time, and the switch as the poll found it (1 command)."""
    from shared.redis_client import get_redis

    get_redis().hset(META_KEY, values={SWITCH_FIELD: encode(state), LAST_POLL_FIELD: f"{at:.3f}"})
