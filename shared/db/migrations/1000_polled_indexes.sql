-- The dashboard's polled aggregates (shared/dashboard/stats.py) read "today" and "newest N" slices of tables
-- that grow without bound. With 100,000 rows in each (bench/polling.py) these predicates were sequential
-- scans; each index below is partial on exactly the states the statement counts, so it stays small and the
-- LIMIT / the day's range is read straight from it. tests/test_polled_query_plans.py checks the plans.

-- system.cacheHitRate: today's AI captions
CREATE INDEX rss_items_ai_caption_idx ON rss_items (updated_at) INCLUDE (caption_source)
    WHERE caption_source IN ('ai', 'ai_cached');
-- system.dailyFailures, system.dailySuccess, recentActivity (newest 10 settled publications)
CREATE INDEX publications_failed_day_idx ON publications (updated_at) WHERE state IN ('failed', 'unconfirmed');
CREATE INDEX publications_success_day_idx ON publications (published_at) WHERE state IN ('published', 'dry_run');
CREATE INDEX publications_settled_idx ON publications (updated_at DESC)
    WHERE state IN ('published', 'dry_run', 'failed', 'unconfirmed');
-- rss.dailyPosted
CREATE INDEX rss_planned_posts_posted_idx ON rss_planned_posts (updated_at) WHERE status IN ('posted', 'dry_run');
-- uploads.activeUploads and uploads.pipeline (newest 10 active), uploads.completedToday
CREATE INDEX media_jobs_active_idx ON media_jobs (created_at DESC) WHERE state IN ('queued', 'running');
CREATE INDEX media_jobs_succeeded_idx ON media_jobs (finished_at) WHERE state = 'succeeded';
-- comments.repliesToday and comments.recentReplies (newest 5 on any platform), comments.successRate
CREATE INDEX comments_replied_at_idx ON comments (replied_at DESC) WHERE status = 'replied';
CREATE INDEX comments_attempted_idx ON comments (updated_at) INCLUDE (status)
    WHERE status IN ('replied', 'failed', 'unconfirmed');
