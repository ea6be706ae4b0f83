-- One row per notice the owner must get once, whichever process or request first sees its cause
-- (e.g. the Graph API version nearing its end of life): INSERT ... ON CONFLICT DO NOTHING decides who sends it.
CREATE TABLE IF NOT EXISTS notices_sent (
    key text PRIMARY KEY,
    sent_at timestamptz NOT NULL DEFAULT now()
);
