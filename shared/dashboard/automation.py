"""GET /api/automation/status: `{rss|tmdb|comments: {lastRun, nextRun, status, runsToday}}` from one query.

Each automation reports its runs through the usage meter, which costs nothing extra (the counts ride the
invocation's flush): `meter.count("<name>.runs")` and `meter.gauge("<name>.last_run", clock.time())` per
run, and optionally `meter.gauge("<name>.next_run", epoch)`. RSS's next run is computed from its feeds.
An automation that has not reported anything answers `inactive` with zeros.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

NAMES = ("rss", "tmdb", "comments")

_SQL = """
SELECT
  (SELECT json_object_agg(unit, value) FROM (
     SELECT DISTINCT ON (unit) unit, value FROM usage_gauges
      WHERE unit = ANY(%(gauges)s) ORDER BY unit, day DESC) g) AS gauges,
  (SELECT json_object_agg(unit, amount) FROM usage_counters
    WHERE day = (now() AT TIME ZONE 'UTC')::date AND unit = ANY(%(counters)s)) AS runs,
  (SELECT min(CASE WHEN next_run_at >= now() THEN next_run_at ELSE next_run_at
              + ceil(extract(epoch FROM now() - next_run_at) / (interval_minutes * 60))
              * interval_minutes * interval '1 minute' END)
     FROM rss_feeds WHERE enabled AND status <> 'paused') AS rss_next,
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


def _status() -> dict[str, Any]:
    from shared.db import connection
    from shared.usage.report import maybe_fold

    maybe_fold()
    gauges = [f"{n}.{k}" for n in NAMES for k in ("last_run", "next_run")]
    counters = [f"{n}.runs" for n in NAMES]
    with connection() as conn:
        row = conn.execute(_SQL, {"gauges": gauges, "counters": counters}).fetchone()
    g, runs = row["gauges"] or {}, row["runs"] or {}
    out: dict[str, Any] = {}
    for name in NAMES:
        last = g.get(f"{name}.last_run")
        out[name] = {"lastRun": _iso(last), "nextRun": _iso(g.get(f"{name}.next_run")),
                     "status": "active" if last else "inactive", "runsToday": int(runs.get(f"{name}.runs") or 0)}
    rss = out["rss"]
    if row["rss_fetched"] and (not rss["lastRun"] or row["rss_fetched"].timestamp() > (g.get("rss.last_run") or 0)):
        rss["lastRun"] = _iso(row["rss_fetched"].timestamp())
    rss["nextRun"] = _iso(row["rss_next"].timestamp()) if row["rss_next"] else None
    rss["status"] = ("inactive" if not row["rss_active"] else "error" if row["rss_errors"] else "active")
    return out
