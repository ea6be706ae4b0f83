"""The dedupe ledger: one row per (title, module, release cycle), keyed by `modules.cycle_key`.

Rule 10 (frontend-contract §3.3): the same title (tmdbId + mediaType) is not posted again within `dedupeWindow`
days, whatever the module; an anniversary post is blocked for 60 days after a today/weekly/monthly post of it.
`recent_block` decides that from the title's history (pure); `claim` takes the key under a per-title
transaction lock, so the check and the insert cannot interleave with another refresh, and the primary key makes a
second claim of the same cycle a no-op (INSERT ... ON CONFLICT DO NOTHING) whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

ANNIVERSARY_BLOCK = timedelta(days=60)
# history that still counts: claimed by a refresh in flight, waiting or posted (a deleted or failed post does not)
LIVE = ("claimed", "queued", "scheduled", "published")


@dataclass(frozen=True)
class Past:
    module: str
    status: str
    at: datetime


def recent_block(module: str, history: list[Past], now: datetime, window_days: int) -> str | None:
    """Why this title must not get a `module` post now, from its ledger history; None when it may."""
    live = [h for h in history if h.status in LIVE]
    if window_days > 0:
        cutoff = now - timedelta(days=window_days)
        hit = next((h for h in live if h.at >= cutoff), None)
        if hit is not None:
            return f"already in the {hit.module} posts within the last {window_days} days (rule 10)"
    if module == "anniversary":
        hit = next((h for h in live if h.module != "anniversary" and h.at >= now - ANNIVERSARY_BLOCK), None)
        if hit is not None:
            return f"a {hit.module} post of it is less than 60 days old (rule 10)"
    return None


def history(conn, titles: list[tuple[str, int]], since: datetime) -> dict[tuple[str, int], list[Past]]:
    if not titles:
        return {}
    rows = conn.execute(
        "SELECT media_type, tmdb_id, module, status, created_at FROM tmdb_ledger "
        "WHERE (media_type, tmdb_id) IN (SELECT * FROM unnest(%s::text[], %s::int[])) AND created_at >= %s",
        ([t[0] for t in titles], [t[1] for t in titles], since)).fetchall()
    out: dict[tuple[str, int], list[Past]] = {}
    for r in rows:
        out.setdefault((r["media_type"], r["tmdb_id"]), []).append(Past(r["module"], r["status"], r["created_at"]))
    return out


def known_keys(conn, since: date) -> set[str]:
    """Cycle keys already taken for releases from `since` on (anniversary keys: taken within the last 2 days)."""
    rows = conn.execute("SELECT cycle_key FROM tmdb_ledger WHERE release_date >= %s OR created_at >= now() - "
                        "interval '2 days'", (since,)).fetchall()
    return {r["cycle_key"] for r in rows}


def claim(conn, *, key: str, media_type: str, tmdb_id: int, module: str, release: date,
          anniversary_years: int | None, now: datetime, window_days: int) -> tuple[bool, str | None]:
    """Inside the caller's transaction: (claimed, why not)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"tmdb:title:{media_type}:{tmdb_id}",))
    since = now - max(timedelta(days=max(window_days, 0)), ANNIVERSARY_BLOCK)
    why = recent_block(module, history(conn, [(media_type, tmdb_id)], since).get((media_type, tmdb_id), []),
                       now, window_days)
    if why:
        return False, why
    row = conn.execute(
        "INSERT INTO tmdb_ledger (cycle_key, tmdb_id, media_type, module, release_date, anniversary_years) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (cycle_key) DO NOTHING RETURNING cycle_key",
        (key, tmdb_id, media_type, module, release, anniversary_years)).fetchone()
    if row is None:
        return False, "already claimed for this release (ledger)"
    return True, None


def release(conn, key: str) -> None:
    """Give a claim back (the post could not be placed): a later refresh may try the title again."""
    conn.execute("DELETE FROM tmdb_ledger WHERE cycle_key = %s AND post_id IS NULL", (key,))


def attach(conn, key: str, post_id: str, status: str) -> None:
    conn.execute("UPDATE tmdb_ledger SET post_id = %s, status = %s, updated_at = now() WHERE cycle_key = %s",
                 (post_id, status, key))


def mark(conn, post_id: str, status: str, reason: str | None = None) -> None:
    conn.execute("UPDATE tmdb_ledger SET status = %s, reason = COALESCE(%s, reason), updated_at = now() "
                 "WHERE post_id = %s", (status, reason, post_id))
