-- The Upload Manager creates a job before (or without) naming its file (frontend-contract §1.8: fileName,
-- fileSize, sourceUrl?, metadata): such a job waits in 'awaiting_source' until an upload completes for it
-- (POST /api/uploads with its jobId, or the same file name and size) or a source is given
-- (POST /api/jobs/:id/source). The worker only ever claims 'queued' jobs, so a waiting job costs it nothing.
ALTER TABLE media_jobs ALTER COLUMN source_key DROP NOT NULL;
ALTER TABLE media_jobs DROP CONSTRAINT media_jobs_state_check;
ALTER TABLE media_jobs ADD CONSTRAINT media_jobs_state_check
    CHECK (state IN ('awaiting_source', 'queued', 'running', 'succeeded', 'failed', 'cancelled'));
-- only a job still waiting (or one that gave up waiting) may lack its file
ALTER TABLE media_jobs ADD CONSTRAINT media_jobs_source_known
    CHECK (source_key IS NOT NULL OR state IN ('awaiting_source', 'failed', 'cancelled'));
CREATE INDEX media_jobs_awaiting_idx ON media_jobs (file_name, created_at) WHERE state = 'awaiting_source';

-- an upload started for a waiting job names it, so completing the upload starts exactly that job
ALTER TABLE media_uploads ADD COLUMN job_id uuid REFERENCES media_jobs (id) ON DELETE SET NULL;
