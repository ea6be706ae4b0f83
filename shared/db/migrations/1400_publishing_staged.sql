-- Pre-staged posts (shared/publishing/staging): a planned publication whose send was prepared in Redis during an
-- awake window is `staged`. Its `stage_token` fences the Redis stage record: only the write-back that holds the
-- same token moves the row on (to `publishing` with a claim, or back to `planned`). Neither the database-path run
-- (it claims `planned` only), nor the checkers (`publishing` / `unconfirmed` only) touch a staged row.
-- The widened CHECK is added NOT VALID (no scan while this file's transaction holds the ACCESS EXCLUSIVE lock the
-- ALTER takes); 1401 validates it in its own transaction, under SHARE UPDATE EXCLUSIVE (writes go on meanwhile).
ALTER TABLE publications DROP CONSTRAINT IF EXISTS publications_state_check;
ALTER TABLE publications ADD CONSTRAINT publications_state_check
    CHECK (state IN ('planned', 'staged', 'publishing', 'published', 'failed', 'unconfirmed', 'dry_run')) NOT VALID;
ALTER TABLE publications ADD COLUMN stage_token uuid;
-- the write-back's look for stages whose Redis record was lost (row staged, slot long past); also the flag-off
-- maintenance's one check that nothing is staged
CREATE INDEX publications_staged_idx ON publications (not_before) WHERE state = 'staged';
