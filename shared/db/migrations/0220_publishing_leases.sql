-- Publishing: claims become leases with a heartbeat, every write after a claim is fenced by its token, and a
-- failed publication records how we know nothing was posted (the only rows that may be re-armed).

ALTER TABLE publications
    -- the claim's expiry: the holder's heartbeat pushes it forward while it uploads or polls; a take-over is
    -- only allowed once it has passed (claimed_at stays the time of the claim, for the record)
    ADD COLUMN lease_until   timestamptz,
    -- when a checker looks at the row next: a parked `publishing` row (the platform is processing the post) or
    -- an `unconfirmed` one (re-checked with back-off, hours apart). NULL: nothing scheduled.
    ADD COLUMN next_check_at timestamptz,
    -- look-ups made by checkers for the current attempt (processing checks, then re-checks of `unconfirmed`)
    ADD COLUMN checks        int NOT NULL DEFAULT 0,
    -- why a `failed` row is known to have posted nothing:
    --   not_sent        the publishing request was never sent (our own record, written under the claim token
    --                   before the request, so a superseded worker could not have sent it either)
    --   refused         the platform answered the publishing request with a refusal
    --   platform_state  a look-up: the platform's own state says no post can appear from this attempt
    -- Only a failed row with a proof may be re-armed ("safe to post again").
    ADD COLUMN absent_proof  text CHECK (absent_proof IN ('not_sent', 'refused', 'platform_state')),
    -- answers that reached a worker after it lost its claim: evidence (post ids), never a state change
    ADD COLUMN late_results  jsonb NOT NULL DEFAULT '[]'::jsonb;

-- rows claimed before this migration: their lease runs from the claim (the old fixed 15 minutes)
UPDATE publications SET lease_until = claimed_at + interval '15 minutes'
    WHERE state = 'publishing' AND claim_token IS NOT NULL;
-- failures recorded before this migration: look-up verdicts ("unknown") may have read an in-flight upload as
-- absent, so they get no proof and cannot be re-armed; the others were decided before or by the platform's
-- answer to the publishing request
UPDATE publications SET absent_proof = CASE WHEN error_kind IN ('content', 'auth') THEN 'refused' ELSE 'not_sent' END
    WHERE state = 'failed' AND COALESCE(error_kind, '') <> 'unknown';
-- unconfirmed rows from before get their first re-check within the hour
UPDATE publications SET next_check_at = now() + interval '1 hour' WHERE state = 'unconfirmed';

DROP INDEX IF EXISTS publications_publishing_idx;
-- held claims, by expiry (the take-over sweep)
CREATE INDEX publications_lease_idx ON publications (lease_until)
    WHERE state IN ('publishing', 'unconfirmed') AND claim_token IS NOT NULL;
-- parked and unconfirmed rows, by their next check
CREATE INDEX publications_check_idx ON publications (next_check_at)
    WHERE state IN ('publishing', 'unconfirmed') AND claim_token IS NULL;
