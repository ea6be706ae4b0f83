-- Posts carried by their publication ahead of time (shared/publishing/staging/ahead.py): with PUBLISH_STAGING on,
-- an awake window creates the publication of an RSS planned post or a TMDb post due within the staging horizon
-- (planned, not_before = the slot, under the delivery's own idempotency key), stages it, and hands the post over:
-- its dispatcher item (`rss.post` / `tmdb.post`) is disarmed and the engine's settle listener reports the outcome.
-- rss_planned_posts: `waiting` with carried_by = the publication. tmdb_posts: still `scheduled` (the contract's
-- status) with carried_by = {platform: publication id} for every one of its platforms.
ALTER TABLE rss_planned_posts ADD COLUMN carried_by uuid;
ALTER TABLE tmdb_posts ADD COLUMN carried_by jsonb;
-- owner changes look for the carried posts of a feed, an item, or all of them (globalRSSPosting off)
CREATE INDEX rss_planned_posts_carried_idx ON rss_planned_posts (item_id) WHERE carried_by IS NOT NULL;
