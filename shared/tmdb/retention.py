"""Daily cleanup of TMDb data (registered with shared/maintenance/cleanup.py).

- published and failed posts older than `tmdbActivityRetention` hours (default 24, frontend-contract §3.3);
- queued posts (never approved) whose time passed more than `tmdbQueuedRetentionHours` ago (default 168,
  peer-backend §1.4);
- ledger rows past every window that reads them (max(dedupeWindow, 60 days) + a day): their cycles are over;
- cached AI captions older than `captionCacheTTL` days (default 30).
Scheduled posts are never removed. Each statement is bounded so one run stays short on a large backlog.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.maintenance.cleanup import CleanupContext, CleanupStep, register, retention_hours

BATCH = 1000


def _num(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def prune(ctx: CleanupContext) -> dict[str, Any]:
    from shared.db import transaction

    s, now = ctx.settings, ctx.now
    done_hours = retention_hours(s.get("tmdbActivityRetention"), 24)
    queued_hours = retention_hours(s.get("tmdbQueuedRetentionHours"), 168)
    ledger_days = max(_num(s.get("dedupeWindow"), 30), 60) + 1
    caption_days = _num(s.get("captionCacheTTL"), 30)
    out = {"posts": 0, "queued": 0, "ledger": 0, "captions": 0}
    with transaction() as conn:
        if done_hours is not None:
            out["posts"] = conn.execute(
                "DELETE FROM tmdb_posts WHERE id IN (SELECT id FROM tmdb_posts WHERE status IN ('published', 'failed') "
                "AND COALESCE(published_at, updated_at) < %s LIMIT %s)",
                (now - timedelta(hours=done_hours), BATCH)).rowcount
        if queued_hours is not None:
            out["queued"] = conn.execute(
                "DELETE FROM tmdb_posts WHERE id IN (SELECT id FROM tmdb_posts WHERE status = 'queued' "
                "AND COALESCE(scheduled_at, created_at) < %s LIMIT %s)",
                (now - timedelta(hours=queued_hours), BATCH)).rowcount
        out["ledger"] = conn.execute(
            "DELETE FROM tmdb_ledger WHERE cycle_key IN (SELECT cycle_key FROM tmdb_ledger WHERE created_at < %s "
            "AND (post_id IS NULL OR post_id NOT IN (SELECT id FROM tmdb_posts)) LIMIT %s)",
            (now - timedelta(days=ledger_days), BATCH)).rowcount
        if caption_days > 0:
            out["captions"] = conn.execute(
                "DELETE FROM tmdb_caption_cache WHERE content_hash IN (SELECT content_hash FROM tmdb_caption_cache "
                "WHERE created_at < %s LIMIT %s)", (now - timedelta(days=caption_days), BATCH)).rowcount
    return out


register(CleanupStep("tmdb.posts", prune))
