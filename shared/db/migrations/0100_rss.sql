-- RSS automation: feeds, their items (dedupe + activity), planned posts; YouTube channels and detections.

CREATE TABLE rss_feeds (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                  text NOT NULL,
    url                   text NOT NULL,
    site_url              text,
    favicon               text,
    enabled               boolean NOT NULL DEFAULT true,
    display_order         integer NOT NULL DEFAULT 0,
    interval_minutes      integer NOT NULL DEFAULT 10 CHECK (interval_minutes BETWEEN 1 AND 60),
    image_count           text NOT NULL DEFAULT '1' CHECK (image_count IN ('1', '2', '3', 'random')),
    platform_image_counts jsonb,
    dedupe_days           integer NOT NULL DEFAULT 30 CHECK (dedupe_days BETWEEN 0 AND 365),
    filters               jsonb NOT NULL DEFAULT '{}'::jsonb,
    serper_enabled        boolean NOT NULL DEFAULT true,
    tmdb_enabled          boolean NOT NULL DEFAULT false,
    serper_priority       boolean NOT NULL DEFAULT true,
    openai_web_search_enabled boolean NOT NULL DEFAULT false,
    image_source_priority text,
    rehost_images         boolean NOT NULL DEFAULT false,
    auto_post             boolean NOT NULL DEFAULT false,
    platforms_enabled     jsonb NOT NULL DEFAULT '{"x": true, "threads": true, "facebook": false, "pinterest": false}'::jsonb,
    trickle               text NOT NULL DEFAULT 'oldest_first' CHECK (trickle IN ('oldest_first', 'newest_first')),
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'error')),
    error_message         text,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    etag                  text,
    last_modified         text,
    seeded                boolean NOT NULL DEFAULT false,  -- first successful fetch stores items without posting
    last_fetched_at       timestamptz,
    last_processed_at     timestamptz,
    next_run_at           timestamptz NOT NULL DEFAULT now(),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
-- the tick reads due feeds: one index range scan
CREATE INDEX rss_feeds_due_idx ON rss_feeds (next_run_at) WHERE enabled AND status <> 'paused';

CREATE TABLE rss_items (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    feed_id         uuid NOT NULL REFERENCES rss_feeds (id) ON DELETE CASCADE,
    dedupe_key      text NOT NULL,
    guid            text,
    title           text NOT NULL DEFAULT '',
    link            text,
    canonical_url   text,
    norm_title      text,
    summary         text,
    content_html    text,
    published_at    timestamptz,
    -- seen: stored by the first fetch (seed), never posted; the rest are the activity states
    status          text NOT NULL CHECK (status IN ('seen', 'new', 'pending', 'queued', 'published', 'failed',
                                                     'filtered', 'duplicate')),
    reason          text,
    images          jsonb NOT NULL DEFAULT '[]'::jsonb,
    image_source    text,
    caption         text,
    caption_source  text,
    platforms       text[] NOT NULL DEFAULT '{}',
    platform_results jsonb NOT NULL DEFAULT '[]'::jsonb,
    error           text,
    dismissed       boolean NOT NULL DEFAULT false,  -- deleted from the activity list; kept for dedupe
    scheduled_for   timestamptz,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    posted_at       timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (feed_id, dedupe_key)
);
CREATE INDEX rss_items_activity_idx ON rss_items (updated_at DESC) WHERE status <> 'seen' AND NOT dismissed;
-- cross-feed duplicate detection within dedupeDays, over items that entered the posting pipeline only: seeded
-- (`seen`) rows, the bulk of the table, cost no index writes here
CREATE INDEX rss_items_canonical_idx ON rss_items (canonical_url, first_seen_at DESC)
    WHERE canonical_url <> '' AND status IN ('new', 'pending', 'queued', 'published');
CREATE INDEX rss_items_recent_idx ON rss_items (first_seen_at DESC)
    WHERE status IN ('new', 'pending', 'queued', 'published');

CREATE TABLE rss_planned_posts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    item_id         uuid NOT NULL REFERENCES rss_items (id) ON DELETE CASCADE,
    platform        text NOT NULL,
    scheduled_at    timestamptz NOT NULL,
    version         integer NOT NULL DEFAULT 1,  -- bumped on every edit/reschedule: older messages are stale
    status          text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'publishing', 'posted', 'dry_run',
                                                                      'failed', 'cancelled', 'skipped')),
    message_id      text,
    outcome         jsonb,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (item_id, platform)
);
-- placement reads one platform's planned/posted slots around now
CREATE INDEX rss_planned_posts_platform_idx ON rss_planned_posts (platform, scheduled_at);

-- AI captions cached by content hash: same article + settings never pays twice
CREATE TABLE rss_caption_cache (
    content_hash    text PRIMARY KEY,
    caption         text NOT NULL,
    model           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE yt_channels (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL,
    channel_id          text NOT NULL UNIQUE,  -- UC...
    handle              text,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    interval_minutes    integer NOT NULL DEFAULT 10 CHECK (interval_minutes BETWEEN 1 AND 60),
    etag                text,
    last_modified       text,
    seeded              boolean NOT NULL DEFAULT false,
    consecutive_failures integer NOT NULL DEFAULT 0,
    error_message       text,
    video_count         integer NOT NULL DEFAULT 0,
    last_checked_at     timestamptz,
    next_run_at         timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX yt_channels_due_idx ON yt_channels (next_run_at) WHERE status = 'active';

CREATE TABLE yt_videos (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel_ref     uuid NOT NULL REFERENCES yt_channels (id) ON DELETE CASCADE,
    video_id        text NOT NULL,
    title           text NOT NULL,
    url             text,
    published_at    timestamptz,
    detected        boolean NOT NULL DEFAULT false,  -- matched the trailer rules
    matched_keyword text,
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_ref, video_id)
);
CREATE INDEX yt_videos_detected_idx ON yt_videos (created_at DESC) WHERE detected;
