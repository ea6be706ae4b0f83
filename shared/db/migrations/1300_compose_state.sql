-- The Create page's workspace (drafts and scheduled compose posts), one row for the one owner. Items are kept as
-- the frontend writes them (ComposeItem is the frontend's own shape); the server merges by item id and updatedAt.
CREATE TABLE compose_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    items jsonb NOT NULL DEFAULT '[]'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
