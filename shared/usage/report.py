"""GET /api/usage: per resource, today and month to date, the free tier, the percentage and the projection.

One query reads the month (counters, gauges, query spans); Redis batches not yet in Postgres are folded in
first, at most every FOLD_SECONDS per process (the database is awake for this request anyway). The result is
cached in process for CACHE_SECONDS because the dashboard polls it.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared import clock
from shared.usage import awake
from shared.usage.projection import project
from shared.usage.tiers import GAUGES, TIERS

CACHE_SECONDS = 30.0
FOLD_SECONDS = 1800.0  # a fold is two Redis commands: the dashboard's polling folds at most every 30 min

_lock = threading.Lock()
_cache: dict[str, Any] = {}
_last_fold = 0.0

_MONTH_SQL = """
SELECT 'c' AS kind, day, unit, amount AS a, NULL::float8 AS b FROM usage_counters WHERE day >= %(first)s
UNION ALL
SELECT 'g', day, unit, value, NULL FROM usage_gauges WHERE day >= %(first)s
UNION ALL
SELECT 's', NULL, NULL, extract(epoch FROM started_at), extract(epoch FROM ended_at) FROM usage_pg_spans
 WHERE ended_at >= %(since)s
"""


def read_month(conn, now: datetime) -> tuple[dict[str, dict[date, float]], list[tuple[float, float]]]:
    first = now.astimezone(timezone.utc).date().replace(day=1)
    since = datetime.combine(first, datetime.min.time(), timezone.utc) - timedelta(seconds=awake.TAIL)
    per_unit: dict[str, dict[date, float]] = {}
    spans: list[tuple[float, float]] = []
    for r in conn.execute(_MONTH_SQL, {"first": first, "since": since}).fetchall():
        if r["kind"] == "s":
            spans.append((float(r["a"]), float(r["b"])))
        else:
            per_unit.setdefault(r["unit"], {})[r["day"]] = float(r["a"])
    return per_unit, spans


def compute(per_unit: dict[str, dict[date, float]], spans: list[tuple[float, float]], now: datetime,
            compute_units: float = 0.25) -> dict[str, Any]:
    """The report from a month of data (pure)."""
    today = now.astimezone(timezone.utc).date()
    ivs = awake.intervals(spans)
    awake_by_day = {datetime.fromtimestamp(d * 86400, timezone.utc).date(): s
                    for d, s in awake.per_day(ivs).items()}
    now_ts = now.timestamp()
    # the compute is still up for the tail of the last query: count only what has happened by now
    awake_by_day[today] = awake_by_day.get(today, 0.0) - sum(max(0.0, b - max(a, now_ts)) for a, b in ivs)
    per_unit = dict(per_unit)
    per_unit["neon.cu_hours"] = {d: awake.cu_hours(s, compute_units) for d, s in awake_by_day.items()}
    resources = []
    for t in TIERS:
        series = per_unit.get(t.counter or t.key, {})
        p = project(series, now, period=t.period, limit=t.limit, level=t.key in GAUGES)
        entry = {
            "key": t.key, "label": t.label, "unit": t.unit, "period": t.period, "limit": t.limit,
            "today": _r(p.today), "monthToDate": _r(p.month_to_date), "dailyRate": _r(p.daily_rate),
            "projectedToday": _r(p.today_projected), "projectedMonth": _r(p.month_projected),
            "percent": _r(p.percent), "projectedPercent": _r(p.projected_percent),
            "source": t.source, "asOf": t.as_of, "note": t.note,
            "days": [{"date": d.isoformat(), "value": _r(v)} for d, v in sorted(series.items())
                     if d.month == today.month and d.year == today.year],
        }
        if t.key == "neon.cu_hours":
            start = datetime.combine(today, datetime.min.time(), timezone.utc).timestamp()
            entry["awakeMinutesToday"] = _r(awake_by_day.get(today, 0.0) / 60)
            entry["wakeUpsToday"] = awake.wake_ups(ivs, start, start + 86400)
            entry["computeUnits"] = compute_units
        resources.append(entry)
    return {"generatedAt": now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "day": today.isoformat(), "month": today.strftime("%Y-%m"), "resources": resources,
            # other units counted this month (calls without a tier of their own, automation runs, ...)
            "counters": {u: _r(sum(s.values())) for u, s in per_unit.items()
                         if u not in {t.counter for t in TIERS} and u != "neon.cu_hours"}}


def _r(v: float | None) -> float | None:
    return None if v is None else round(float(v), 3)


def projections(report: dict[str, Any]) -> dict[str, float | None]:
    return {r["key"]: r["projectedPercent"] for r in report["resources"]}


def usage_report(*, fresh: bool = False) -> dict[str, Any]:
    """The report as the API serves it: folded, computed, with the governor's current decisions."""
    now = clock.now()
    with _lock:
        hit = _cache.get("report")
        if hit and not fresh and time.monotonic() - _cache["at"] < CACHE_SECONDS:
            return hit
    from shared.db import connection

    maybe_fold(force=fresh)
    with connection() as conn:
        report, settings, decisions = build(conn, now)
    report["governor"] = decisions.as_dict()
    threshold = alert_percent(settings)
    report["alertPercent"] = threshold
    report["alerts"] = [{"key": r["key"], "label": r["label"], "projectedPercent": r["projectedPercent"]}
                        for r in report["resources"] if (r["projectedPercent"] or 0) >= threshold]
    with _lock:
        _cache.update(report=report, at=time.monotonic())
    return report


def maybe_fold(force: bool = False) -> None:
    """Move Redis batches into Postgres before reading, at most every FOLD_SECONDS per process."""
    global _last_fold
    if not force and time.monotonic() - _last_fold < FOLD_SECONDS:
        return
    _last_fold = time.monotonic()
    try:
        from shared.usage.flush import fold

        fold()
    except Exception:  # Redis down: the report shows what Postgres has
        import logging

        logging.getLogger("screndly.usage").warning("usage fold failed", exc_info=True)


def build(conn, now: datetime):
    """(report, settings, decisions): the month read (one query), the settings (one), and what the governor
    decides from them given its stored state (one)."""
    from shared.settings.store import read_settings
    from shared.usage import governor

    per_unit, spans = read_month(conn, now)
    settings = read_settings(SETTING_KEYS, conn=conn)
    report = compute(per_unit, spans, now, compute_units(settings))
    row = conn.execute("SELECT value FROM usage_state WHERE key = 'governor'").fetchone()
    previous = governor.Decisions.from_dict(row["value"] if row else None)
    decisions = governor.decide(projections(report), governor.GovernorSettings.from_settings(settings), previous)
    return report, settings, decisions


def alert_percent(settings: dict) -> float:
    try:
        return min(100.0, max(10.0, float(settings.get("usageAlertPercent") or 80)))
    except (TypeError, ValueError):
        return 80.0


SETTING_KEYS = ("usageGovernor", "usageAlertPercent", "usageDegradePercent", "usageGovernorLevers",
                "rssProcessingWindowMinutes", "rssUrgentProcessing", "postAlignMinutes", "commentPollMinutes",
                "neonComputeUnits")


def compute_units(settings: dict) -> float:
    """Neon bills CU-hours = awake hours × compute size; Free computes default to 0.25 CU."""
    try:
        return min(2.0, max(0.25, float(settings.get("neonComputeUnits") or 0.25)))
    except (TypeError, ValueError):
        return 0.25


def clear_cache() -> None:
    global _last_fold
    with _lock:
        _cache.clear()
    _last_fold = 0.0
