"""The polled statements (the dashboard's aggregates, /api/jobs, /api/notifications, /api/logs) read growing
tables through indexes, never a sequential scan, once those tables hold tens of thousands of rows
(shared/db/migrations/1000_polled_indexes.sql; the timings are in bench/polling.py)."""

from __future__ import annotations

import json

import pytest

GROWING = ("activity_logs", "notifications", "media_jobs", "publications", "rss_items", "rss_planned_posts",
           "yt_videos", "tmdb_posts", "comments")


def _seq_scans(db, sql: str, params) -> list[str]:
    plan = db.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()["QUERY PLAN"]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    found: list[str] = []

    def walk(node: dict) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in GROWING:
            found.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


@pytest.mark.long
def test_polled_statements_use_indexes_with_20k_rows_per_table(clean_state, db):
    from bench import polling
    from shared.dashboard import automation, stats
    from shared.media.jobs import queue
    from shared.services.logs import logs_query

    for sql in polling._SEED:
        db.execute(sql.format(rows=20_000, spread=polling.SPREAD))
    for table in GROWING:
        db.execute(f"ANALYZE {table}")
    tz = {"tz": stats._default_tz()}
    gauges = [f"{n}.{k}" for n in automation.NAMES for k in ("last_run", "next_run")]
    statements = {
        "dashboard stats": (stats._STATS_SQL, tz),
        "system stats": (stats._SYSTEM_SQL, tz),
        "automation status": (automation._SQL, {"gauges": gauges, "counters": ["rss.runs"]}),
        "jobs": queue.list_json_query(50, 10, "https://cdn.example/"),
        "notifications": ("SELECT id FROM notifications ORDER BY created_at DESC LIMIT %s", (50,)),
        "logs": logs_query(50, None, None),
        "logs filtered": logs_query(50, "rss", "error"),
    }
    scans = {name: _seq_scans(db, sql, params) for name, (sql, params) in statements.items()}
    assert all(not s for s in scans.values()), scans


def test_the_jobs_poll_reads_the_newest_ten_events_in_sql(clean_state, db):
    """The 3 s poll's statement cuts `events` to the newest 10, the same ones the view showed from all of them."""
    from psycopg.types.json import Jsonb

    from shared.media.jobs import queue
    from shared.media.jobs.views import upload_job

    events = [{"at": f"2026-01-01T00:00:{i:02d}Z", "kind": "stage", "level": "info", "message": f"e{i}"}
              for i in range(14)]
    db.execute("INSERT INTO media_jobs (source_key, preset, file_name, events) VALUES ('raw/a.mp4', 'thumbnail', "
               "'a.mp4', %s), ('raw/b.mp4', 'thumbnail', 'b.mp4', %s)", (Jsonb(events), Jsonb(events[:3])))
    full = queue.list_jobs(db, 50)
    cut = queue.list_jobs(db, 50, max_events=10)
    assert [r["events"] for r in cut] == [r["events"][-10:] for r in full]
    assert [upload_job(r, str, 10) for r in cut] == [upload_job(r, str, 10) for r in full]
