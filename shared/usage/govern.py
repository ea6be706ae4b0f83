"""Run the governor where the database is awake anyway (a dispatch window): fold the meter's Redis batches,
compute the projections, decide, store the decisions, and tell the owner.

Notifications: once per resource and month when its projection passes `usageAlertPercent` (80 % by default);
once per lever and month when the governor slows something down, and again when it lets go. The decisions
are returned so the dispatcher can keep a copy in Redis, where every tick reads it without a wake-up.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared import clock

log = logging.getLogger("screndly.usage")


def refresh(now: datetime | None = None, *, fold_first: bool = True) -> dict[str, Any]:
    from psycopg.types.json import Jsonb

    from shared import activity
    from shared.db import transaction
    from shared.usage import report as usage_report
    from shared.usage.flush import fold

    now = now or clock.now()
    if fold_first:
        try:
            fold()
        except Exception:
            log.warning("usage fold failed; the counts stay in Redis for the next window", exc_info=True)
    with transaction() as conn:
        report, settings, decisions = usage_report.build(conn, now)
        row = conn.execute("SELECT value FROM usage_state WHERE key = 'governor' FOR UPDATE").fetchone()
        before = set((row["value"] or {}).get("notices") or []) if row else set()
        conn.execute("INSERT INTO usage_state (key, value, updated_at) VALUES ('governor', %s, now()) "
                     "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                     (Jsonb(decisions.as_dict()),))
        month = now.date().replace(day=1)
        threshold = usage_report.alert_percent(settings)
        for r in report["resources"]:
            pct = r["projectedPercent"]
            if pct is None or pct < threshold:
                continue
            if _first(conn, month, r["key"], f"projection{int(threshold)}"):
                activity.notify(
                    "warning", f"{r['label']}: {pct:.0f} % of the free tier projected",
                    f"At the current pace {r['label']} reaches {r['projectedMonth']:,.0f} {r['unit']} this month "
                    f"(free tier: {r['limit']:,.0f} per {r['period']}). "
                    + ("The governor will slow things down before it runs out; see the dashboard."
                       if settings.get("usageGovernor", "auto") == "auto" else
                       "The governor only alerts (usageGovernor = alert_only)."),
                    source="system", action_page="dashboard", conn=conn)
        now_notices = set(decisions.notices)
        for text in sorted(now_notices - before):
            if _first(conn, month, text[:200], "degraded"):
                activity.notify("warning", "Slowed down to stay on the free tier", text, source="system",
                                action_page="dashboard", conn=conn)
            activity.log("system", "warn", f"governor: {text}", {"levels": decisions.levels}, conn=conn)
        for text in sorted(before - now_notices):
            activity.log("system", "info", f"governor released: {text}", None, conn=conn)
        if before and not now_notices:
            activity.notify("info", "Back to normal speed", "Every free-tier projection is below the "
                            "governor's threshold again.", source="system", action_page="dashboard", conn=conn)
    return decisions.as_dict()


def _first(conn, month, resource: str, kind: str) -> bool:
    return conn.execute("INSERT INTO usage_alerts (month, resource, kind) VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING RETURNING 1", (month, resource, kind)).fetchone() is not None
