"""The dashboard's aggregates (frontend-contract §1.8 `DashboardStats`), each read in one query and cached
briefly, because the dashboard polls them.

"Today" is the owner's calendar day (setting `timezone`). Every block but usage comes from one statement
(`_STATS_SQL`); blocks for capabilities that are not built (Design/Video Studio) answer zeros in the contract's
shape. The usage block comes from the usage report (shared/usage/report.py, cached on its own).

The day's counts, the 7-day trend and the success rate come from per-hour counters (`dashboard_count()`,
migration 1200) rather than from counting the day's rows: the statement costs the same on a quiet day and a busy
one, and equals the counting it replaced in any timezone (tests/test_dashboard_counts.py).

- `tmdb`: `readyCount` TMDb posts scheduled to go out (status `scheduled`, time still ahead); `coverageDays`
  how many of the owner's calendar days, today included, the schedule reaches (0 with nothing ready);
  `upcoming` the next five, each with the owner-local `dateLabel` ("Today", "Tomorrow", "Thu, Dec 3") and
  `timeLabel` ("2:30 PM").
- `comments`: `repliesToday` replies posted since the owner's midnight; `successRate` the percent of replies
  attempted within the comment retention window (`commentRetention` hours, at least 24) that were posted, 100
  with none, as the Comments page computes it (shared/comments/service.py `stats`); `recentReplies` the five
  newest posted replies on any platform; `activePlatforms` platforms whose comment automation is switched on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from shared.db.rows import one

CACHE_SECONDS = 15.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, Any]] = {}


def cached(key: str, fn: Callable[[], Any], ttl: float = CACHE_SECONDS,
           still_valid: Callable[[Any], bool] | None = None) -> Any:
    with _lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < ttl and (still_valid is None or still_valid(hit[1])):
            return hit[1]
    value = fn()
    with _lock:
        _cache[key] = (time.monotonic(), value)
    return value


def clear_cache(*keys: str) -> None:
    """Every cached value, or only those named."""
    with _lock:
        if not keys:
            _cache.clear()
        for key in keys:
            _cache.pop(key, None)


# The owner's day start, from the timezone setting (a JSON string), falling back to the inventory default
# when it is unset or not a zone (owner_timezone, migration 1100: pg_timezone_names cost 120 ms a call).
_DAY_START = """
WITH tz AS (
  SELECT owner_timezone((SELECT value #>> '{}' FROM settings WHERE key = 'timezone'), %(tz)s) AS name
), day AS (
  SELECT date_trunc('day', now() AT TIME ZONE tz.name) AT TIME ZONE tz.name AS start, tz.name AS tz FROM tz
)
"""

_SYSTEM = """
  'system', json_build_object(
    'cacheHitRate', COALESCE(round(100.0 * dashboard_count('ai_cached', day.start)
                                   / NULLIF(dashboard_count('ai_captions', day.start), 0), 1), 0),
    'systemErrors', dashboard_count('errors', day.start),
    'dailyFailures', dashboard_count('publish_failed', day.start),
    'dailySuccess', dashboard_count('publish_success', day.start))
"""

_STATS_SQL = _DAY_START + """
SELECT json_build_object(
""" + _SYSTEM + """,
  'video', json_build_object(
    'activeChannels', (SELECT count(*) FROM yt_channels WHERE status = 'active'),
    'dailyVideos', dashboard_count('videos', day.start),
    -- per local day, between that day's local midnights
    'trends', (SELECT COALESCE(json_agg(json_build_object('date', t.d, 'videos', t.n) ORDER BY t.d), '[]'::json)
               FROM (SELECT g::date AS d, dashboard_count('videos', g::date AT TIME ZONE day.tz,
                                                          (g::date + 1) AT TIME ZONE day.tz) AS n
                     FROM generate_series((day.start AT TIME ZONE day.tz)::date - 6,
                                          (day.start AT TIME ZONE day.tz)::date, interval '1 day') g) t),
    'recentActivity', (SELECT COALESCE(json_agg(json_build_object('id', v.id, 'title', v.title,
                                       'channelName', c.name,
                                       'publishedAt', COALESCE(v.published_at, v.created_at))
                                       ORDER BY v.created_at DESC), '[]'::json)
                       FROM (SELECT * FROM yt_videos WHERE detected ORDER BY created_at DESC LIMIT 5) v
                       JOIN yt_channels c ON c.id = v.channel_ref)),
  'rss', json_build_object(
    'activeFeeds', (SELECT count(*) FROM rss_feeds WHERE enabled AND status <> 'paused'),
    'dailyPosted', dashboard_count('rss_posted', day.start),
    'recentFeeds', (SELECT COALESCE(json_agg(json_build_object('id', f.id, 'name', f.name, 'status', f.status,
                                    'lastProcessedAt', f.last_processed_at, 'nextRunAt', f.next_due)
                                    ORDER BY f.last_processed_at DESC NULLS LAST), '[]'::json)
                    FROM (SELECT *, CASE WHEN next_run_at >= now() THEN next_run_at ELSE next_run_at
                                 + ceil(extract(epoch FROM now() - next_run_at) / (interval_minutes * 60))
                                 * interval_minutes * interval '1 minute' END AS next_due
                          FROM rss_feeds ORDER BY last_processed_at DESC NULLS LAST LIMIT 5) f)),
  'uploads', json_build_object(
    'activeUploads', (SELECT count(*) FROM media_jobs WHERE state IN ('queued', 'running')),
    'completedToday', dashboard_count('jobs_done', day.start),
    'pipeline', (SELECT COALESCE(json_agg(json_build_object('id', j.id, 'fileName', j.file_name,
                                 'stage', j.stage, 'progress', j.progress,
                                 'status', CASE j.state WHEN 'queued' THEN 'pending'
                                                        WHEN 'running' THEN 'processing' END)
                                 ORDER BY j.created_at DESC), '[]'::json)
                 FROM (SELECT * FROM media_jobs WHERE state IN ('queued', 'running')
                       ORDER BY created_at DESC LIMIT 10) j)),
  'recentActivity', (SELECT COALESCE(json_agg(json_build_object(
                         'id', p.id,
                         'title', COALESCE(NULLIF(p.content->>'title', ''), left(p.content->>'text', 100), ''),
                         'platform', p.platform,
                         'status', CASE WHEN p.state IN ('published', 'dry_run') THEN 'success' ELSE 'failed' END,
                         'type', p.source, 'timestamp', COALESCE(p.published_at, p.updated_at))
                         ORDER BY p.updated_at DESC), '[]'::json)
                     FROM (SELECT * FROM publications WHERE state IN ('published', 'dry_run', 'failed',
                           'unconfirmed') ORDER BY updated_at DESC LIMIT 10) p),
  'tmdb', (SELECT json_build_object(
      'readyCount', count(*),
      'coverageDays', COALESCE((max(t.scheduled_at) AT TIME ZONE day.tz)::date
                               - (now() AT TIME ZONE day.tz)::date + 1, 0),
      'upcoming', (SELECT COALESCE(json_agg(json_build_object(
                     'id', u.id, 'title', u.title, 'source', u.source, 'scheduledTime', u.scheduled_at,
                     'dateLabel', CASE (u.scheduled_at AT TIME ZONE day.tz)::date - (now() AT TIME ZONE day.tz)::date
                                  WHEN 0 THEN 'Today' WHEN 1 THEN 'Tomorrow'
                                  ELSE to_char(u.scheduled_at AT TIME ZONE day.tz, 'Dy, Mon FMDD') END,
                     'timeLabel', to_char(u.scheduled_at AT TIME ZONE day.tz, 'FMHH12:MI AM'))
                     ORDER BY u.scheduled_at), '[]'::json)
                   FROM (SELECT id, title, source, scheduled_at FROM tmdb_posts
                         WHERE status = 'scheduled' AND scheduled_at >= now() ORDER BY scheduled_at LIMIT 5) u))
    FROM tmdb_posts t WHERE t.status = 'scheduled' AND t.scheduled_at >= now()),
  'comments', json_build_object(
    'repliesToday', dashboard_count('replies', day.start),
    'successRate', (SELECT COALESCE(round(100.0 * dashboard_count('attempts_replied', w.start)
                                          / NULLIF(dashboard_count('attempts', w.start), 0), 1), 100.0)
                    FROM (SELECT now() - GREATEST(24, COALESCE(
                        (SELECT CASE WHEN value #>> '{}' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN (value #>> '{}')::float8 END
                         FROM settings WHERE key = 'commentRetention'), 168)) * interval '1 hour' AS start) w),
    'recentReplies', (SELECT COALESCE(json_agg(json_build_object('id', r.id, 'comment', r.text,
                                      'reply', r.reply_text, 'platform', r.platform, 'repliedAt', r.replied_at)
                                      ORDER BY r.replied_at DESC), '[]'::json)
                      FROM (SELECT id, text, reply_text, platform, replied_at FROM comments
                            WHERE status = 'replied' AND replied_at IS NOT NULL
                            ORDER BY replied_at DESC LIMIT 5) r),
    'activePlatforms', (SELECT count(*) FROM settings WHERE key LIKE '%%CommentBlacklist'
                        AND (value->>'active')::boolean))
) AS stats FROM day
"""

_SYSTEM_SQL = _DAY_START + "SELECT json_build_object(" + _SYSTEM + ") AS stats FROM day"

# how the Comments page names platforms (shared/comments/readiness.py DISPLAY; a test keeps them equal), here
# rather than imported: that module pulls the comment automation's config (~10 ms on the dashboard's first call)
PLATFORM_NAMES = {"x": "X", "threads": "Threads", "facebook": "Facebook", "instagram": "Instagram",
                  "youtube": "YouTube", "tiktok": "TikTok", "pinterest": "Pinterest"}

NOT_BUILT = {
    "designStudio": {"generated": 0, "published": 0, "recentActivity": []},
    "videoStudio": {"generated": 0, "published": 0, "recentActivity": []},
}


def _default_tz() -> str:
    from shared.settings.inventory import DEFAULTS

    return str(DEFAULTS.get("timezone") or "UTC")


def _query(sql: str) -> dict[str, Any]:
    from shared.db import connection

    with connection() as conn:
        return one(conn.execute(sql, {"tz": _default_tz()}).fetchone())["stats"]  # an aggregate: always a row


def system_stats() -> dict[str, Any]:
    return cached("system", lambda: _query(_SYSTEM_SQL)["system"])


def usage_block(report: dict[str, Any]) -> dict[str, Any]:
    """The contract's usage{} (API calls this month per paid service) plus the free-tier table."""
    counters = {r["key"]: r for r in report["resources"]}

    def mtd(key: str) -> float:
        r = counters.get(key)
        return float(r["monthToDate"] or 0) if r else 0.0

    month = report.get("counters", {})
    block: dict[str, Any] = {"openai": int(month.get("openai.calls", 0) or 0), "serper": int(mtd("serper.calls")),
             "tmdb": int(mtd("tmdb.calls")), "shotstack": 0, "googleSearch": 0, "googleVideo": 0}
    block["total"] = sum(block.values())
    block["openaiTokens"] = int(mtd("openai.tokens"))
    block["freeTiers"] = [{"key": r["key"], "label": r["label"], "today": r["today"],
                           "monthToDate": r["monthToDate"], "limit": r["limit"], "period": r["period"],
                           "percent": r["percent"], "projectedPercent": r["projectedPercent"]}
                          for r in report["resources"] if r["limit"]]
    block["governor"] = report.get("governor", {})
    block["alerts"] = report.get("alerts", [])
    return block


def dashboard_stats() -> dict[str, Any]:
    def build() -> dict[str, Any]:
        from shared.usage.report import usage_report

        s = _query(_STATS_SQL)
        for reply in s["comments"]["recentReplies"]:
            reply["platform"] = PLATFORM_NAMES.get(reply["platform"], reply["platform"])
        try:
            usage = usage_block(usage_report())
        except Exception:  # the meter's tables are a nice-to-have next to the rest of the dashboard
            import logging

            logging.getLogger("screndly.dashboard").warning("usage block failed", exc_info=True)
            usage = {"openai": 0, "serper": 0, "tmdb": 0, "shotstack": 0, "googleSearch": 0, "googleVideo": 0,
                     "total": 0}
        return {
            "system": s["system"], "comments": s["comments"], "video": s["video"], "rss": s["rss"],
            "tmdb": s["tmdb"], **NOT_BUILT, "uploads": s["uploads"], "usage": usage,
            "recentActivity": s["recentActivity"],
        }

    return cached("stats", build)
