"""The daily cleanup folds the dashboard's counters (migration 1200): every writer's per-hour rows become one
row per metric and hour, so the dashboard's statement sums ~24 rows per metric for "today" however many
connections wrote. Counts are exact with or without a fold; the fold only keeps the read short."""

from __future__ import annotations

from typing import Any

from shared.maintenance.cleanup import CleanupContext, CleanupStep, register


def fold_counts(ctx: CleanupContext) -> dict[str, Any]:
    from shared.db import connection

    with connection() as conn:
        moved = conn.execute("SELECT dashboard_fold() AS moved").fetchone()
    return {"foldedRows": int(moved["moved"]) if moved else 0}


register(CleanupStep("dashboard.fold", fold_counts))
