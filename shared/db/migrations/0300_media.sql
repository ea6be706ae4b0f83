-- Media pipeline: direct uploads to B2 and the transcode job queue the worker leases from.

CREATE TABLE media_uploads (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    purpose             text NOT NULL,
    object_key          text NOT NULL UNIQUE,
    file_name           text NOT NULL,
    content_type        text NOT NULL,
    declared_size       bigint NOT NULL CHECK (declared_size > 0),
    strategy            text NOT NULL CHECK (strategy IN ('single', 'multipart')),
    multipart_upload_id text,           -- the S3 UploadId; never sent to the browser
    part_size           bigint,
    part_count          integer,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'completed', 'failed', 'aborted')),
    error               text,
    actual_size         bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz
);
-- the daily cleanup looks for pending uploads older than a day
CREATE INDEX media_uploads_pending_idx ON media_uploads (created_at) WHERE status = 'pending';

CREATE TABLE media_jobs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_key        text NOT NULL,
    preset            text NOT NULL,
    options           jsonb NOT NULL DEFAULT '{}'::jsonb,
    file_name         text NOT NULL,
    file_size         bigint,
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
    state             text NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    stage             text NOT NULL DEFAULT 'queued',
    progress          smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL DEFAULT 3,
    run_after         timestamptz NOT NULL DEFAULT now(),
    worker_id         text,
    lease_token       uuid,             -- fences every write of the worker holding the lease
    lease_expires_at  timestamptz,
    cancel_requested  boolean NOT NULL DEFAULT false,
    error             text,
    error_code        text,
    result            jsonb,
    events            jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    -- idempotent enqueue: the same source and preset is the same job
    CONSTRAINT media_jobs_source_preset_key UNIQUE (source_key, preset)
);
-- GET /api/jobs (polled every 3 s) reads the newest N: one index scan
CREATE INDEX media_jobs_created_idx ON media_jobs (created_at DESC, id DESC);
-- the worker's claim: due queued jobs and expired leases, each through a small partial index
CREATE INDEX media_jobs_due_idx ON media_jobs (run_after) WHERE state = 'queued';
CREATE INDEX media_jobs_lease_idx ON media_jobs (lease_expires_at) WHERE state = 'running';
