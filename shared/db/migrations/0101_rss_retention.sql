-- Retention: the heavy text of finished items is dropped after a week (identity columns stay for dedupe).
CREATE INDEX rss_items_prunable_idx ON rss_items (updated_at)
    WHERE content_html IS NOT NULL AND status IN ('published', 'filtered', 'duplicate', 'failed');
CREATE INDEX rss_caption_cache_created_idx ON rss_caption_cache (created_at);
