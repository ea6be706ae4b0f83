"""The daily cleanup (POST /api/internal/cleanup): a registry of small steps, one per kind of data.

Each area registers its own steps in a module listed in STEP_MODULES (imported when the cleanup runs, so the
API's cold start never pays for them):

    from shared.maintenance.cleanup import CleanupStep, register
    register(CleanupStep("rss.activity", prune_rss_activity, interval_setting=None))

A step gets the effective settings and the run time and returns a small dict of what it did (counts). The
owner's `cleanupEnabled` switch stops every step; a step with `interval_setting` (a key holding
daily | weekly | monthly | never) runs only on the days that interval names, in the owner's timezone. A step
that fails is logged and the others still run.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

STEP_MODULES: list[str] = [
    "shared.maintenance.foundation_steps",
    "shared.media.cleanup",
    "shared.media.jobs.awaiting",
    "shared.tmdb.retention",
    "shared.comments.cleanup",
    "shared.usage.cleanup_steps",
    "shared.dashboard.cleanup_steps",  # after the deletes above, so it folds what they subtracted
]


@dataclass(frozen=True)
class CleanupContext:
    settings: dict[str, Any]
    now: datetime  # UTC


@dataclass(frozen=True)
class CleanupStep:
    name: str
    run: Callable[[CleanupContext], dict[str, Any]]
    interval_setting: str | None = None


_STEPS: dict[str, CleanupStep] = {}


def register(step: CleanupStep) -> CleanupStep:
    _STEPS[step.name] = step  # re-registering a name (module reload) replaces it
    return step


def registered_steps() -> list[CleanupStep]:
    for mod in STEP_MODULES:
        importlib.import_module(mod)
    return list(_STEPS.values())


def is_due(interval: Any, today: date) -> bool:
    """daily: every run; weekly: Sundays; monthly: the 1st; never: never. Unknown values count as daily, so a
    typo keeps data pruned rather than growing forever."""
    value = str(interval or "daily").strip().lower()
    if value == "never":
        return False
    if value == "weekly":
        return today.weekday() == 6
    if value == "monthly":
        return today.day == 1
    return True


def retention_hours(value: Any, default: float) -> float | None:
    """Settings hold retention as a number or a numeric string (hours). None or <= 0 means keep forever."""
    if value is None or value == "":
        return default
    try:
        hours = float(value)
    except (TypeError, ValueError):
        return default
    return hours if hours > 0 else None


def _local_today(now: datetime, tz_name: Any) -> date:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return now.astimezone(ZoneInfo(str(tz_name or "UTC"))).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.date()


def run_cleanup(now: datetime | None = None) -> dict[str, Any]:
    from shared import activity
    from shared.settings.store import read_settings

    now = now or datetime.now(timezone.utc)
    settings = read_settings()
    if settings.get("cleanupEnabled") is False:
        activity.log("cleanup", "info", "Cleanup skipped: turned off in settings")
        return {"skipped": "cleanupEnabled is off", "steps": {}}

    ctx = CleanupContext(settings=settings, now=now)
    today = _local_today(now, settings.get("timezone"))
    results: dict[str, Any] = {}
    for step in registered_steps():
        if step.interval_setting and not is_due(settings.get(step.interval_setting), today):
            results[step.name] = {"status": "not_due", "interval": settings.get(step.interval_setting)}
            continue
        t0 = time.perf_counter()
        try:
            outcome = step.run(ctx) or {}
            results[step.name] = {"status": "ok", **outcome}
        except Exception as exc:  # one broken step must not stop the others
            results[step.name] = {"status": "error", "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            activity.log("cleanup", "error", f"Cleanup step {step.name} failed", {"error": results[step.name]["error"]})
        results[step.name]["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    failed = [n for n, r in results.items() if r["status"] == "error"]
    activity.log("cleanup", "warn" if failed else "info",
                 f"Cleanup finished: {len(results) - len(failed)} step(s) ok"
                 + (f", {len(failed)} failed" if failed else ""),
                 {"steps": results})
    return {"steps": results}
