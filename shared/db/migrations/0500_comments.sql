-- Comment automation: comments fetched on our own posts, the poll's memory per platform, and the read/reply
-- units each platform's quota is charged with (docs/architecture/comments.md).

CREATE TABLE comments (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform             text NOT NULL,      -- family: x, threads, facebook, instagram, youtube
    comment_id           text NOT NULL,      -- the platform's id of the comment
    post_id              text NOT NULL,      -- the platform's id of our post it was left on
    publication_id       uuid,               -- the publication that made that post (no FK: retention differs)
    post_published_at    timestamptz,
    post_text            text,               -- what we posted: the only context a reply may draw on
    author_id            text,
    author_name          text,
    text                 text NOT NULL,
    commented_at         timestamptz NOT NULL,
    fetched_at           timestamptz NOT NULL DEFAULT now(),
    -- pending -> skipped (a filter said no) | replying -> replied | dry_run | failed | unconfirmed
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'skipped', 'replying', 'replied', 'dry_run', 'failed',
                                           'unconfirmed')),
    skip_code            text,
    skip_reason          text,
    reply_text           text,
    reply_publication_id uuid,
    reply_id             text,
    reply_url            text,
    replied_at           timestamptz,
    error                text,
    attempts             int NOT NULL DEFAULT 0,  -- reply attempts that stopped before anything was sent
    reply_started_at     timestamptz,        -- when the reply was handed to the publishing engine (caps)
    test_reply           boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    -- a comment is stored once, however often the poll sees it
    UNIQUE (platform, comment_id)
);
-- the reply step reads waiting comments oldest first; stats read recent replies per platform
CREATE INDEX comments_pending_idx ON comments (commented_at) WHERE status = 'pending';
CREATE INDEX comments_replying_idx ON comments (updated_at) WHERE status = 'replying';
CREATE INDEX comments_replied_idx ON comments (platform, replied_at DESC) WHERE replied_at IS NOT NULL;
CREATE INDEX comments_fetched_idx ON comments (fetched_at);
CREATE INDEX comments_started_idx ON comments (platform, reply_started_at DESC) WHERE reply_started_at IS NOT NULL;

-- the poll reads each platform's recent published posts (ours, not our replies) every few minutes
CREATE INDEX publications_family_published_idx ON publications (family, published_at DESC) WHERE state = 'published';

CREATE TABLE comment_poll_state (
    platform             text PRIMARY KEY,
    last_polled_at       timestamptz,        -- the next poll asks only for comments after this
    last_reply_batch_at  timestamptz,        -- commentReplyFrequency is measured from here
    cursor               jsonb NOT NULL DEFAULT '{}'::jsonb,  -- e.g. X's newest reply id (since_id)
    notified             jsonb NOT NULL DEFAULT '{}'::jsonb,  -- notification kind -> day/reason already told
    last_error           text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Units spent against each platform's quota, per period (YouTube units per Pacific day, X post reads per UTC
-- day, Graph calls per hour ...). One row per (platform, unit, period).
CREATE TABLE comment_usage (
    platform             text NOT NULL,
    unit                 text NOT NULL,
    period               text NOT NULL,
    used                 bigint NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, unit, period)
);
