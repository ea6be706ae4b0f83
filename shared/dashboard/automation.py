"""GET /api/automation/status: `{rss|tmdb|comments: {lastRun, nextRun, status, runsToday}}` from one query.

Each automation reports its runs through the usage meter, which costs nothing extra (the counts ride the
invocation's flush): `meter.count("<name>.runs")` and `meter.gauge("<name>.last_run", clock.time())` per
run. `nextRun` is read from the dispatcher's armed items (shared/scheduling/dispatch.py, one Redis command):
RSS's next feed check or processing window, TMDb's next scheduled post, the comment poll's next run (none while
no platform is ready for it or the governor paused it: its hourly look is not a poll). An automation that has
not reported anything answers `inactive` with zeros.

The next runs are kept NEXT_SECONDS (60 s) in the instance, and never past the earliest of them (once a run is
due, it has run or is running, and the next one is armed): the status's own 15 s cache alone would read Redis on
every uncached poll. Redis holds them because the dispatcher arms items without waking Postgres; keeping a copy
in Postgres would cost a database write (a Neon wake-up) for every arm. A next run armed by another instance
shows up to NEXT_SECONDS late.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shared.db.rows import one

NAMES = ("rss", "tmdb", "comments")

_SQL = """
SELECT
  (SELECT json_object_agg(unit, value) FROM (
     SELECT DISTINCT ON (unit) unit, value FROM usage_gauges
      WHERE unit = ANY(%(gauges)s) ORDER BY unit, day DESC) g) AS gauges,
  (SELECT json_object_agg(unit, amount) FROM usage_counters
    WHERE day = (now() AT TIME ZONE 'UTC')::date AND unit = ANY(%(counters)s)) AS runs,
  (SELECT count(*) FROM rss_feeds WHERE enabled AND status <> 'paused') AS rss_active,
  (SELECT count(*) FROM rss_feeds WHERE enabled AND status = 'error') AS rss_errors,
  (SELECT max(last_fetched_at) FROM rss_feeds) AS rss_fetched
"""


def _iso(epoch: float | None) -> str | None:
    if not epoch:
        return None
    return datetime.fromtimestamp(float(epoch), timezone.utc).isoformat().replace("+00:00", "Z")


def status() -> dict[str, Any]:
    from shared.dashboard.stats import cached

    return cached("automation", _status)


# automation -> the dispatcher kinds whose earliest item is its next run
NEXT_KINDS = {"rss": ("rss.probe", "rss.process"), "tmdb": ("tmdb.post",), "comments": ("comments.poll",)}


NEXT_SECONDS = 60.0


def _none_due(runs: dict[str, float | None]) -> bool:
    import time

    times = [t for t in runs.values() if t is not None]
    return not times or time.time() < min(times)  # epochs: the wall clock


def cached_next_runs() -> dict[str, float | None]:
    from shared.dashboard.stats import cached

    return cached("automation.next", next_runs, NEXT_SECONDS, _none_due)


def next_runs() -> dict[str, float | None]:
    """Each automation's next run from the dispatcher's armed items (one Redis command)."""
    import json

    from shared.comments import switch
    from shared.scheduling import dispatch
    from shared.usage.governor import Decisions

    kinds = [k for ks in NEXT_KINDS.values() for k in ks]
    times, meta = dispatch.next_armed(kinds, [switch.SWITCH_FIELD, "governor"])
    out: dict[str, float | None] = {}
    for name, ks in NEXT_KINDS.items():
        armed = [t for t in (times.get(k) for k in ks) if t is not None]
        out[name] = min(armed) if armed else None
    try:
        state = json.loads(meta.get(switch.SWITCH_FIELD) or "null")
        paused = Decisions.from_dict(json.loads(meta.get("governor") or "null")).comments_paused
    except ValueError:
        state, paused = None, False
    if not (state or {}).get("platforms") or paused:
        out["comments"] = None
    return out


def _status() -> dict[str, Any]:
    from shared.db import connection
    from shared.usage.report import maybe_fold

    maybe_fold()
    gauges = [f"{n}.last_run" for n in NAMES]
    counters = [f"{n}.runs" for n in NAMES]
    with connection() as conn:
        row = one(conn.execute(_SQL, {"gauges": gauges, "counters": counters}).fetchone())  # aggregates
    try:
        nxt = cached_next_runs()
    except Exception:  # Redis unreachable: the page still shows the rest
        nxt = {}
    g, runs = row["gauges"] or {}, row["runs"] or {}
    out: dict[str, Any] = {}
    for name in NAMES:
        last = g.get(f"{name}.last_run")
        out[name] = {"lastRun": _iso(last), "nextRun": _iso(nxt.get(name)),
                     "status": "active" if last else "inactive", "runsToday": int(runs.get(f"{name}.runs") or 0)}
    rss = out["rss"]
    if row["rss_fetched"] and (not rss["lastRun"] or row["rss_fetched"].timestamp() > (g.get("rss.last_run") or 0)):
        rss["lastRun"] = _iso(row["rss_fetched"].timestamp())
    if not row["rss_active"]:
        rss["nextRun"] = None
    rss["status"] = ("inactive" if not row["rss_active"] else "error" if row["rss_errors"] else "active")
    return out
