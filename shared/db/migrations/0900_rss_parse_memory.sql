-- What the RSS tick remembers of each feed's last parsed body, so the next fetch parses only what changed
-- (shared/rss/incremental.py): the body's digest (a server that ignores conditional GET sends the same bytes)
-- and one 8-byte digest per item. Written in the same transaction as the fetch's items; ~400 bytes a feed.
CREATE TABLE rss_parse_memory (
    feed_id       uuid PRIMARY KEY REFERENCES rss_feeds (id) ON DELETE CASCADE,
    body_digest   bytea,
    item_digests  bytea NOT NULL DEFAULT '\x'::bytea,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
