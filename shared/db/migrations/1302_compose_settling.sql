-- Scheduled Create posts whose result the server wrote while some platform was still settling (accepted and still
-- processing, rate-limited, unconfirmed): the publishing engine's settle listener (shared/compose/late.py) finds the
-- item by the publication and writes the platform's final answer into it. One row per item, gone once nothing is
-- pending, the owner changed the item, or it is left unsettled for weeks.
CREATE TABLE compose_settling (
    item_id text PRIMARY KEY,
    stamp text NOT NULL,        -- the item's updatedAt as the server last wrote it: another one is a newer edit
    entries jsonb NOT NULL,     -- the item's per-platform results, in order (shared/compose/rules.py entry_of)
    pending uuid[] NOT NULL,    -- the publications still settling
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX compose_settling_pending_idx ON compose_settling USING gin (pending);
