-- The dashboard's two shares (system.cacheHitRate, comments.successRate) counted a subset with FILTER over an
-- index that INCLUDEs the state, reading the state of every row. Counting the subset on its own partial index
-- instead is a bare index-only count, ~40 % cheaper (bench/polling.py); shared/dashboard/stats.py.
CREATE INDEX rss_items_ai_cached_idx ON rss_items (updated_at) WHERE caption_source = 'ai_cached';
CREATE INDEX comments_replied_updated_idx ON comments (updated_at) WHERE status = 'replied';
