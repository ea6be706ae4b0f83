"""The usage meter's part of the daily cleanup (shared/maintenance/cleanup.py): measure the stored levels the
free tiers cap (Neon's 0.5 GB, B2's 10 GB) and keep the meter's own tables small.

- `usage.levels`: `pg_database_size` and the bucket's total size (one ListObjectsV2 per 1,000 objects, class C)
  recorded as gauges for today.
- `usage.compact`: query spans of past days are merged where Neon would not have slept in between (a gap of
  5 minutes or less), which keeps the awake time identical and the table a few rows per day; spans and folds
  older than 62 days and alerts older than 400 days are deleted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.db.rows import one
from shared.maintenance.cleanup import CleanupContext, CleanupStep, register
from shared.usage import awake, meter


def measure_levels(ctx: CleanupContext) -> dict[str, Any]:
    from shared.db import connection

    out: dict[str, Any] = {}
    with connection() as conn:
        out["pgBytes"] = int(one(conn.execute("SELECT pg_database_size(current_database()) AS n").fetchone())["n"])
    meter.gauge("pg.storage_bytes", out["pgBytes"])
    try:
        from shared.storage.s3 import get_storage

        storage, token, total, objects = get_storage(), None, 0, 0
        while True:
            page = storage.list("", continuation_token=token, limit=1000)
            for obj in page.get("Contents", []):
                total += int(obj.get("Size", 0))
                objects += 1
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
        meter.gauge("b2.stored_bytes", total)
        out.update(b2Bytes=total, b2Objects=objects)
    except RuntimeError as exc:  # storage not configured
        out["b2"] = str(exc)
    return out


def compact(ctx: CleanupContext) -> dict[str, Any]:
    from shared.db import transaction

    today = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction() as conn:
        rows = conn.execute("SELECT id, extract(epoch FROM started_at) AS a, extract(epoch FROM ended_at) AS b "
                            "FROM usage_pg_spans WHERE started_at < %s ORDER BY started_at LIMIT 20000 FOR UPDATE",
                            (today,)).fetchall()
        merged = awake.intervals([(float(r["a"]), float(r["b"])) for r in rows], tail=awake.TAIL)
        spans = [(a, b - awake.TAIL) for a, b in merged]  # back to spans: the union is unchanged
        if rows and len(spans) < len(rows):
            conn.execute("DELETE FROM usage_pg_spans WHERE id = ANY(%s)", ([r["id"] for r in rows],))
            conn.execute("INSERT INTO usage_pg_spans (started_at, ended_at) SELECT to_timestamp(a), to_timestamp(b) "
                         "FROM unnest(%s::float8[], %s::float8[]) AS x(a, b)",
                         ([a for a, _ in spans], [b for _, b in spans]))
        old = ctx.now - timedelta(days=62)
        n_spans = conn.execute("DELETE FROM usage_pg_spans WHERE ended_at < %s", (old,)).rowcount
        conn.execute("DELETE FROM usage_folds WHERE folded_at < %s", (old,))
        conn.execute("DELETE FROM usage_alerts WHERE created_at < %s", (ctx.now - timedelta(days=400),))
    return {"spansBefore": len(rows), "spansAfter": len(spans), "expired": n_spans}


register(CleanupStep("usage.levels", measure_levels))
register(CleanupStep("usage.compact", compact))
