-- Publishing: platform connections (encrypted tokens) and publications (one row per content x platform).

CREATE TABLE platform_connections (
    -- one account per platform family: x, threads, facebook, instagram, tiktok, youtube, pinterest
    platform            text PRIMARY KEY,
    account_id          text NOT NULL,
    username            text,
    profile_url         text,
    -- secretbox blobs; aad = "conn:<platform>:<account_id>:<field>" so a blob moved to another row fails
    access_token_enc    text NOT NULL,
    refresh_token_enc   text,
    extra_secrets_enc   text,          -- JSON of further secrets (Meta user token, page token)
    expires_at          timestamptz,   -- access token expiry (NULL = does not expire)
    refresh_expires_at  timestamptz,
    scopes              text[] NOT NULL DEFAULT '{}',
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,  -- non-secret: page id, ig user id, channel id
    status              text NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'needs_reconnect')),
    last_error          text,
    last_post_at        timestamptz,
    connected_at        timestamptz NOT NULL DEFAULT now(),
    refreshed_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE publications (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- a repeated request (client retry, QStash redelivery, a second worker) finds this row instead of posting
    idempotency_key     text NOT NULL UNIQUE,
    platform            text NOT NULL,   -- normalised target: x, instagram_reels, youtube_shorts, ...
    family              text NOT NULL,   -- connection it posts through: x, instagram, youtube, ...
    source              text NOT NULL,
    source_ref          text,
    content             jsonb NOT NULL,
    state               text NOT NULL DEFAULT 'planned'
                        CHECK (state IN ('planned', 'publishing', 'published', 'failed', 'unconfirmed', 'dry_run')),
    dry_run             boolean NOT NULL DEFAULT false,
    not_before          timestamptz,     -- scheduled time, or the rate-limit reset we wait for
    attempts            int NOT NULL DEFAULT 0,
    claimed_at          timestamptz,
    claim_token         uuid,
    -- adapter checkpoints (container id, upload session, publish id, commit_sent) so a crash is settleable
    progress            jsonb NOT NULL DEFAULT '{}'::jsonb,
    platform_post_id    text,
    url                 text,
    error_kind          text,            -- auth | content | rate_limited | transient | unknown | not_connected
    last_error          text,
    notified            boolean NOT NULL DEFAULT false,
    published_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- the sweeper looks for claims that outlived their lease; the scheduler for due planned rows
CREATE INDEX publications_publishing_idx ON publications (claimed_at) WHERE state = 'publishing';
CREATE INDEX publications_planned_idx ON publications (not_before) WHERE state = 'planned';
CREATE INDEX publications_created_idx ON publications (created_at DESC);
