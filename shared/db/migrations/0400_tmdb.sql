-- TMDb automation: the dedupe ledger, the posts the TMDb page lists, and the caption cache.

-- One row per (title, module, release cycle): the unique key is what makes a re-run, or two refreshes running at
-- once, add nothing twice (INSERT ... ON CONFLICT DO NOTHING, never read-then-write).
CREATE TABLE tmdb_ledger (
    cycle_key          text PRIMARY KEY,  -- <media>:<id>:<module>:<release date> | ...:anniversary:<date>:y<N>
    tmdb_id            integer NOT NULL,
    media_type         text NOT NULL CHECK (media_type IN ('movie', 'tv')),
    module             text NOT NULL CHECK (module IN ('today', 'weekly', 'monthly', 'anniversary')),
    release_date       date NOT NULL,
    anniversary_years  integer,
    post_id            uuid,
    status             text NOT NULL DEFAULT 'claimed'
                       CHECK (status IN ('claimed', 'queued', 'scheduled', 'published', 'failed', 'deleted')),
    reason             text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- "same title within dedupeWindow days" looks here (rule 10)
CREATE INDEX tmdb_ledger_title_idx ON tmdb_ledger (tmdb_id, media_type, created_at DESC);

CREATE TABLE tmdb_posts (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cycle_key          text UNIQUE,
    tmdb_id            integer NOT NULL,
    media_type         text NOT NULL CHECK (media_type IN ('movie', 'tv')),
    source             text NOT NULL CHECK (source IN ('tmdb_today', 'tmdb_weekly', 'tmdb_monthly', 'tmdb_anniversary')),
    title              text NOT NULL,
    year               integer,
    release_date       date,
    anniversary_years  integer,
    caption            text NOT NULL DEFAULT '',
    caption_source     text,
    image_url          text,
    image_type         text CHECK (image_type IN ('poster', 'backdrop')),
    image_urls         jsonb NOT NULL DEFAULT '[]'::jsonb,
    image_types        jsonb NOT NULL DEFAULT '[]'::jsonb,
    image_style        text,
    rehosted_url       text,  -- our B2 copy of image_url, for platforms that fetch media themselves
    scheduled_at       timestamptz,
    -- queued: waits for the owner; scheduled: goes out at scheduled_at; publishing: a delivery is on it
    status             text NOT NULL CHECK (status IN ('queued', 'scheduled', 'publishing', 'published', 'failed')),
    platforms          text[] NOT NULL DEFAULT '{}',
    cast_names         jsonb NOT NULL DEFAULT '[]'::jsonb,
    genres             jsonb NOT NULL DEFAULT '[]'::jsonb,
    popularity         double precision,
    score              double precision,
    cache_hit          boolean NOT NULL DEFAULT false,
    platform_results   jsonb NOT NULL DEFAULT '{}'::jsonb,
    published_at       timestamptz,
    error_message      text,
    version            integer NOT NULL DEFAULT 1,  -- every change bumps it: an older delivery message does nothing
    message_id         text,  -- the delivery message armed for this version (NULL: not armed yet)
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tmdb_posts_list_idx ON tmdb_posts (scheduled_at);
-- slots already taken, and posts to arm (the sweep): only the live ones
CREATE INDEX tmdb_posts_live_idx ON tmdb_posts (scheduled_at) WHERE status IN ('queued', 'scheduled', 'publishing');

-- AI captions by a hash of everything that shapes them; `captionCacheTTL` days (cleanup) and `cacheHit`
CREATE TABLE tmdb_caption_cache (
    content_hash  text PRIMARY KEY,
    caption       text NOT NULL,
    model         text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
