-- Dedupe: an item only counts as "already in the pipeline" for other feeds once it passed its own dedupe check
-- (decided under one lock), so two feeds carrying the same article in one tick cannot both call it a duplicate.
ALTER TABLE rss_items ADD COLUMN dedupe_passed boolean NOT NULL DEFAULT false;
UPDATE rss_items SET dedupe_passed = true WHERE status IN ('new', 'pending', 'queued', 'published');

-- A planned post the engine accepted but has not settled yet (rate limit, transient retry, platform processing):
-- it waits for the engine's settle listener. `cancelled` posts say why.
ALTER TABLE rss_planned_posts DROP CONSTRAINT rss_planned_posts_status_check;
ALTER TABLE rss_planned_posts ADD CONSTRAINT rss_planned_posts_status_check CHECK (status IN (
    'planned', 'publishing', 'waiting', 'posted', 'dry_run', 'failed', 'cancelled', 'skipped'));
