"""Postgres access for feeds, items and planned posts (sync psycopg; callers in async code use to_thread)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

FEED_COLUMNS = (
    "id, name, url, site_url, favicon, enabled, display_order, interval_minutes, image_count, platform_image_counts, "
    "dedupe_days, filters, serper_enabled, tmdb_enabled, serper_priority, openai_web_search_enabled, "
    "image_source_priority, rehost_images, auto_post, platforms_enabled, trickle, status, error_message, "
    "consecutive_failures, etag, last_modified, seeded, last_fetched_at, last_processed_at, next_run_at, created_at, "
    "updated_at")

ACTIVE_STATUSES = ("new", "pending", "queued", "published")  # items that entered the posting pipeline
# literal, so the planner matches the partial indexes' predicate (a bound array parameter would not)
_ACTIVE_SQL = "(" + ", ".join(f"'{s}'" for s in ACTIVE_STATUSES) + ")"


def get_feed(conn, feed_id: str) -> dict | None:
    return conn.execute(f"SELECT {FEED_COLUMNS} FROM rss_feeds WHERE id = %s", (feed_id,)).fetchone()


def list_feeds(conn) -> list[dict]:
    return conn.execute(f"SELECT {FEED_COLUMNS} FROM rss_feeds ORDER BY display_order ASC, created_at DESC").fetchall()


def due_feeds(conn, now: datetime, limit: int) -> list[dict]:
    return conn.execute(
        f"SELECT {FEED_COLUMNS} FROM rss_feeds WHERE enabled AND status <> 'paused' AND next_run_at <= %s "
        "ORDER BY next_run_at LIMIT %s", (now, limit)).fetchall()


def feeds_by_ids(conn, ids: list[str]) -> list[dict]:
    return conn.execute(f"SELECT {FEED_COLUMNS} FROM rss_feeds WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()


def record_not_modified(conn, rows: list[tuple[str, datetime]], now: datetime) -> None:
    """One statement for every unchanged feed of a tick: the all-304 tick costs one write."""
    if not rows:
        return
    conn.execute(
        "UPDATE rss_feeds f SET next_run_at = v.next_run_at, last_fetched_at = %s, consecutive_failures = 0, "
        "status = CASE WHEN f.status = 'error' THEN 'active' ELSE f.status END, error_message = NULL "
        "FROM unnest(%s::uuid[], %s::timestamptz[]) AS v(id, next_run_at) WHERE f.id = v.id",
        (now, [r[0] for r in rows], [r[1] for r in rows]))


def record_success(conn, feed_id: str, *, now: datetime, next_run_at: datetime, etag: str | None,
                   last_modified: str | None, new_url: str | None, seeded: bool) -> None:
    conn.execute(
        "UPDATE rss_feeds SET etag = %s, last_modified = %s, url = COALESCE(%s, url), seeded = seeded OR %s, "
        "last_fetched_at = %s, last_processed_at = %s, next_run_at = %s, consecutive_failures = 0, "
        "status = CASE WHEN status = 'error' THEN 'active' ELSE status END, error_message = NULL, updated_at = now() "
        "WHERE id = %s",
        (etag, last_modified, new_url, seeded, now, now, next_run_at, feed_id))


def record_failure(conn, feed_id: str, *, now: datetime, message: str, next_run_at: datetime,
                   pause: bool) -> int:
    row = conn.execute(
        "UPDATE rss_feeds SET consecutive_failures = consecutive_failures + 1, status = %s, error_message = %s, "
        "last_fetched_at = %s, next_run_at = %s, enabled = CASE WHEN %s THEN false ELSE enabled END, "
        "updated_at = now() WHERE id = %s RETURNING consecutive_failures",
        ("paused" if pause else "error", message[:1000], now, next_run_at, False, feed_id)).fetchone()
    return row["consecutive_failures"] if row else 0


def insert_items(conn, feed_id: str, rows: list[dict]) -> list[dict]:
    """Insert entries, skipping ones already stored for this feed; returns only the rows actually inserted."""
    if not rows:
        return []
    cols = ("dedupe_key", "guid", "title", "link", "canonical_url", "norm_title", "summary", "content_html",
            "published_at", "status", "images")
    arrays = [[r.get(c) for r in rows] for c in cols[:-1]] + [[Jsonb(r.get("images") or []) for r in rows]]
    return conn.execute(
        "INSERT INTO rss_items (feed_id, dedupe_key, guid, title, link, canonical_url, norm_title, summary, "
        "content_html, published_at, status, images) "
        "SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::jsonb[]) "
        "ON CONFLICT (feed_id, dedupe_key) DO NOTHING "
        "RETURNING id, feed_id, dedupe_key, guid, title, link, canonical_url, norm_title, summary, content_html, "
        "published_at, status, images",
        (feed_id, *arrays)).fetchall()


def find_duplicate(conn, *, item_id: str, canonical: str, title: str, days: int, near) -> dict | None:
    """An item of any feed, within `days`, that already entered the posting pipeline with the same canonical URL
    or a near-identical title. A `new` item counts only once it passed its own check (`dedupe_passed`): two
    copies of one article that are both still undecided never block each other."""
    since = f"{max(days, 1)} days"
    entered = f"i.status IN {_ACTIVE_SQL} AND (i.status <> 'new' OR i.dedupe_passed)"
    if canonical:
        row = conn.execute(
            "SELECT i.id, i.title, f.name AS feed_name FROM rss_items i JOIN rss_feeds f ON f.id = i.feed_id "
            f"WHERE i.canonical_url = %s AND i.id <> %s AND {entered} AND i.canonical_url <> '' "
            "AND i.first_seen_at > now() - %s::interval LIMIT 1",
            (canonical, item_id, since)).fetchone()
        if row:
            return {**row, "why": "same article URL"}
    if title:
        rows = conn.execute(
            "SELECT i.id, i.title, f.name AS feed_name FROM rss_items i JOIN rss_feeds f ON f.id = i.feed_id "
            f"WHERE i.id <> %s AND {entered} AND i.first_seen_at > now() - %s::interval "
            "ORDER BY i.first_seen_at DESC LIMIT 500", (item_id, since)).fetchall()
        for r in rows:
            if near(title, r["title"]):
                return {**r, "why": "near-identical title"}
    return None


def claim_unless_duplicate(conn, *, item_id: str, canonical: str, title: str, days: int, near) -> dict | None:
    """Inside the caller's transaction: the duplicate this item repeats, or None after marking the item as the
    one copy that proceeds. One lock for every check, so of two copies checked at once exactly one proceeds."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('rss:dedupe'))")
    dup = find_duplicate(conn, item_id=item_id, canonical=canonical, title=title, days=days, near=near)
    if dup is None:
        conn.execute("UPDATE rss_items SET dedupe_passed = true WHERE id = %s", (item_id,))
    return dup


def update_item(conn, item_id: str, **fields: Any) -> dict | None:
    if not fields:
        return None
    sets, vals = [], []
    for k, v in fields.items():
        sets.append(f"{k} = %s")
        vals.append(Jsonb(v) if k in ("images", "platform_results") else v)
    return conn.execute(f"UPDATE rss_items SET {', '.join(sets)}, updated_at = now() WHERE id = %s RETURNING *",
                        (*vals, item_id)).fetchone()


def get_item(conn, item_id: str) -> dict | None:
    return conn.execute(
        "SELECT i.*, f.name AS feed_name FROM rss_items i LEFT JOIN rss_feeds f ON f.id = i.feed_id WHERE i.id = %s",
        (item_id,)).fetchone()


def taken_slots(conn, platform: str, since: datetime) -> list[datetime]:
    rows = conn.execute(
        "SELECT scheduled_at FROM rss_planned_posts WHERE platform = %s AND scheduled_at >= %s "
        "AND status IN ('planned', 'publishing', 'waiting', 'posted', 'dry_run')", (platform, since)).fetchall()
    return [r["scheduled_at"] for r in rows]


def upsert_planned_post(conn, item_id: str, platform: str, scheduled_at: datetime, approved: bool = False) -> dict:
    return conn.execute(
        "INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, approved) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (item_id, platform) DO UPDATE SET scheduled_at = EXCLUDED.scheduled_at, "
        "approved = EXCLUDED.approved, "
        "version = rss_planned_posts.version + 1, status = 'planned', error = NULL, outcome = NULL, "
        # the old message carries the old version and will do nothing: the sweep must send a new one
        "message_id = NULL, carried_by = NULL, updated_at = now() "
        "WHERE rss_planned_posts.status IN ('failed', 'cancelled', 'planned') "
        "RETURNING id, item_id, platform, scheduled_at, version, status",
        (item_id, platform, scheduled_at, approved)).fetchone()


def planned_posts(conn, item_ids: Iterable[str]) -> dict[str, list[dict]]:
    ids = list(item_ids)
    out: dict[str, list[dict]] = {i: [] for i in ids}
    if not ids:
        return out
    for r in conn.execute("SELECT * FROM rss_planned_posts WHERE item_id = ANY(%s::uuid[]) ORDER BY platform",
                          (ids,)).fetchall():
        out[str(r["item_id"])].append(r)
    return out


def prune(conn, *, text_days: int = 7, cache_days: int = 30, batch: int = 500) -> int:
    """Bounded housekeeping run by every tick (Neon's free tier has 0.5 GB): finished items lose their HTML and
    summary after `text_days` (identity columns stay, so dedupe still works); old caption-cache rows go."""
    n = conn.execute(
        "UPDATE rss_items SET content_html = NULL, summary = NULL WHERE id IN (SELECT id FROM rss_items "
        "WHERE content_html IS NOT NULL AND status IN ('published', 'filtered', 'duplicate', 'failed') "
        "AND updated_at < now() - %s::interval ORDER BY updated_at LIMIT %s)", (f"{text_days} days", batch)).rowcount
    # a delivery that died between "publishing" and its outcome: surface it instead of leaving it stuck
    stuck = conn.execute(
        "UPDATE rss_planned_posts SET status = 'failed', error = 'interrupted while publishing: check the platform "
        "before retrying (a retry reuses the same idempotency key)', updated_at = now() "
        "WHERE status = 'publishing' AND updated_at < now() - interval '15 minutes' RETURNING item_id").fetchall()
    for item_id in {str(r["item_id"]) for r in stuck}:
        conn.execute("UPDATE rss_items SET status = 'failed', error = 'interrupted while publishing', "
                     "updated_at = now() WHERE id = %s AND status = 'queued'", (item_id,))
    conn.execute("DELETE FROM rss_caption_cache WHERE content_hash IN (SELECT content_hash FROM rss_caption_cache "
                 "WHERE created_at < now() - %s::interval LIMIT %s)", (f"{cache_days} days", batch))
    return n


def horizon_start(now: datetime) -> datetime:
    """Slots that can still affect a placement: the quota counts a whole local day, so look back two days."""
    return now - timedelta(days=2)
