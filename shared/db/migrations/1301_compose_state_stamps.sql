-- When the server stored each item's current copy (server clock), by item id: deleting an item a device no
-- longer lists is decided against these, not against the times devices write into the items.
ALTER TABLE compose_state ADD COLUMN stored_at jsonb NOT NULL DEFAULT '{}'::jsonb;
