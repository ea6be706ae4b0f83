"""The comment tables (0500_comments.sql): comments, comment_poll_state, comment_usage; plus the read-only views
of publishing's tables the poll needs (our recent posts, the connections' non-secret columns).

Functions take an open connection so one step of the poll is one checkout.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.comments.fetch.base import Fetched, PostRef
from shared.comments.readiness import ConnectionFacts

REPLY_STATES = ("replying", "replied", "dry_run", "unconfirmed")  # a reply was handed to the engine


# --- publishing's tables, read only ---------------------------------------------------------------------

def connections(conn) -> dict[str, ConnectionFacts]:
    rows = conn.execute("SELECT platform, account_id, status, username, scopes FROM platform_connections").fetchall()
    return {r["platform"]: ConnectionFacts(r["platform"], r["account_id"], r["status"], r["username"],
                                           tuple(r["scopes"] or ())) for r in rows}


def recent_posts(conn, platform: str, since: datetime, limit: int = 25) -> list[PostRef]:
    """Our own posts on `platform` published after `since` (never our comment replies), newest first."""
    rows = conn.execute(
        """SELECT id, platform_post_id, published_at, content->>'text' AS text, content->>'title' AS title
           FROM publications
           WHERE family = %s AND state = 'published' AND source <> 'comment' AND platform_post_id IS NOT NULL
             AND published_at >= %s
           ORDER BY published_at DESC LIMIT %s""", (platform, since, limit)).fetchall()
    return [PostRef(post_id=r["platform_post_id"], published_at=r["published_at"],
                    text="\n".join(t for t in (r["title"], r["text"]) if t), publication_id=str(r["id"]))
            for r in rows]


# --- poll state and usage ledger ---------------------------------------------------------------------------

def poll_states(conn) -> dict[str, dict]:
    return {r["platform"]: r for r in conn.execute("SELECT * FROM comment_poll_state").fetchall()}


def save_poll(conn, platform: str, *, polled_at: datetime | None, cursor: dict[str, Any] | None,
              error: str | None) -> None:
    conn.execute(
        """INSERT INTO comment_poll_state (platform, last_polled_at, cursor, last_error, updated_at)
           VALUES (%s, %s, %s, %s, now())
           ON CONFLICT (platform) DO UPDATE SET
               last_polled_at = COALESCE(EXCLUDED.last_polled_at, comment_poll_state.last_polled_at),
               cursor = comment_poll_state.cursor || EXCLUDED.cursor,
               last_error = EXCLUDED.last_error, updated_at = now()""",
        (platform, polled_at, Jsonb(cursor or {}), error))


def save_batch(conn, platform: str, at: datetime) -> None:
    conn.execute(
        """INSERT INTO comment_poll_state (platform, last_reply_batch_at) VALUES (%s, %s)
           ON CONFLICT (platform) DO UPDATE SET last_reply_batch_at = EXCLUDED.last_reply_batch_at,
               updated_at = now()""", (platform, at))


def first_notice(conn, platform: str, kind: str, value: str) -> bool:
    """True once per (platform, kind, value): a notification about it has not been sent yet."""
    row = conn.execute(
        """INSERT INTO comment_poll_state (platform, notified) VALUES (%s, jsonb_build_object(%s::text, %s::text))
           ON CONFLICT (platform) DO UPDATE SET notified = comment_poll_state.notified || EXCLUDED.notified,
               updated_at = now()
           WHERE comment_poll_state.notified ->> %s IS DISTINCT FROM %s
           RETURNING platform""", (platform, kind, value, kind, value)).fetchone()
    return row is not None


def used(conn, platform: str, unit: str, period: str) -> int:
    row = conn.execute("SELECT used FROM comment_usage WHERE platform=%s AND unit=%s AND period=%s",
                       (platform, unit, period)).fetchone()
    return int(row["used"]) if row else 0


def charge(conn, platform: str, unit: str, period: str, n: int) -> None:
    if n <= 0:
        return
    conn.execute(
        """INSERT INTO comment_usage (platform, unit, period, used) VALUES (%s, %s, %s, %s)
           ON CONFLICT (platform, unit, period) DO UPDATE SET used = comment_usage.used + EXCLUDED.used,
               updated_at = now()""", (platform, unit, period, n))


# --- comments ----------------------------------------------------------------------------------------------

def insert_new(conn, platform: str, found: Iterable[Fetched], posts: dict[str, PostRef]) -> list[dict]:
    """Store what was fetched; only rows not seen before come back (UNIQUE (platform, comment_id))."""
    rows = [{"comment_id": f.comment_id, "post_id": f.post_id, "text": f.text[:5000],
             "commented_at": f.commented_at.isoformat(), "author_id": f.author_id, "author_name": f.author_name,
             "publication_id": posts[f.post_id].publication_id if f.post_id in posts else None,
             "post_published_at": posts[f.post_id].published_at.isoformat() if f.post_id in posts else None,
             "post_text": (posts[f.post_id].text if f.post_id in posts else "")[:3000]} for f in found]
    if not rows:
        return []
    return conn.execute(
        """INSERT INTO comments (platform, comment_id, post_id, text, commented_at, author_id, author_name,
                                 publication_id, post_published_at, post_text)
           SELECT %s, r.comment_id, r.post_id, r.text, r.commented_at, r.author_id, r.author_name,
                  r.publication_id, r.post_published_at, r.post_text
           FROM jsonb_to_recordset(%s) AS r(comment_id text, post_id text, text text, commented_at timestamptz,
                                            author_id text, author_name text, publication_id uuid,
                                            post_published_at timestamptz, post_text text)
           ON CONFLICT (platform, comment_id) DO NOTHING
           RETURNING *""", (platform, Jsonb(rows))).fetchall()


def mark_skipped(conn, skips: list[tuple[str, str, str]]) -> None:
    """(comment row id, code, reason) for each comment a filter left alone."""
    if not skips:
        return
    conn.execute(
        """UPDATE comments c SET status = 'skipped', skip_code = s.code, skip_reason = s.reason, updated_at = now()
           FROM jsonb_to_recordset(%s) AS s(id uuid, code text, reason text)
           WHERE c.id = s.id AND c.status = 'pending'""",
        (Jsonb([{"id": i, "code": c, "reason": r} for i, c, r in skips]),))


def pending(conn, platform: str, limit: int) -> list[dict]:
    return conn.execute("SELECT * FROM comments WHERE platform=%s AND status='pending' ORDER BY commented_at "
                        "LIMIT %s", (platform, limit)).fetchall()


def count_pending(conn, platform: str) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM comments WHERE platform=%s AND status='pending'",
                            (platform,)).fetchone()["n"])


def get(conn, comment_row_id: str) -> dict | None:
    return conn.execute("SELECT * FROM comments WHERE id=%s", (comment_row_id,)).fetchone()


def claim(conn, comment_row_id: str, from_states: tuple[str, ...] = ("pending",), *, test: bool = False) -> dict | None:
    """Only the caller whose UPDATE returns the row composes and sends the reply."""
    return conn.execute(
        """UPDATE comments SET status='replying', error=NULL, test_reply = test_reply OR %s, updated_at=now()
           WHERE id=%s AND status = ANY(%s) RETURNING *""", (test, comment_row_id, list(from_states))).fetchone()


def release(conn, comment_row_id: str, error: str, *, give_up: bool) -> None:
    """Nothing was sent (the AI failed, a cap was hit): back to pending, or failed after too many tries."""
    conn.execute(
        """UPDATE comments SET status = CASE WHEN %s THEN 'failed' ELSE 'pending' END, error=%s,
               attempts = attempts + 1, updated_at=now()
           WHERE id=%s AND status='replying' AND reply_publication_id IS NULL""",
        (give_up, error[:2000], comment_row_id))


def set_reply_text(conn, comment_row_id: str, text: str) -> None:
    conn.execute("UPDATE comments SET reply_text=%s, reply_started_at=now(), updated_at=now() WHERE id=%s",
                 (text, comment_row_id))


def existing_reply(conn, key: str) -> dict | None:
    """The publication already made for this reply key (live or dry run), with the text it carries."""
    return conn.execute(
        """SELECT id, state, content->>'text' AS text FROM publications
           WHERE idempotency_key = %s OR idempotency_key = 'dry_run:' || %s
           ORDER BY created_at LIMIT 1""", (key, key)).fetchone()


_STATE_OF = {"published": "replied", "dry_run": "dry_run", "failed": "failed", "unconfirmed": "unconfirmed"}


def settle(conn, comment_row_id: str, publication: dict) -> dict | None:
    """Mirror a reply publication's state onto its comment; idempotent (a listener may run twice)."""
    state = _STATE_OF.get(publication.get("state") or "")
    pub_id = str(publication["id"]) if publication.get("id") else None
    if state is None:  # still planned or publishing: remember which publication carries it
        return conn.execute("UPDATE comments SET reply_publication_id=COALESCE(reply_publication_id, %s), "
                            "updated_at=now() WHERE id=%s RETURNING *", (pub_id, comment_row_id)).fetchone()
    return conn.execute(
        """UPDATE comments SET status=%s, reply_publication_id=%s, reply_id=%s, reply_url=COALESCE(%s, reply_url),
               replied_at = CASE WHEN %s IN ('replied','dry_run') THEN COALESCE(%s, replied_at, now())
                                 ELSE replied_at END,
               error = CASE WHEN %s IN ('failed','unconfirmed') THEN %s ELSE NULL END, updated_at=now()
           WHERE id=%s AND status <> %s RETURNING *""",
        (state, pub_id, publication.get("platform_post_id"), publication.get("url"), state,
         publication.get("published_at"), state, publication.get("last_error"), comment_row_id,
         state)).fetchone()


def reconcile(conn, stale_seconds: int = 900) -> dict[str, int]:
    """Settle comments whose reply publication ended while no listener heard it (another process, the
    maintenance sweep, a late answer turning `unconfirmed` into `published`), and hand back to `pending` claims
    that died before any publication existed: the reply key is deterministic, so a second attempt finds the
    first one's publication rather than posting again. One statement (one round trip per poll)."""
    return conn.execute(
        """WITH settled AS (
               UPDATE comments c SET status = CASE p.state WHEN 'published' THEN 'replied' ELSE p.state END,
                   reply_id = p.platform_post_id, reply_url = COALESCE(p.url, c.reply_url),
                   replied_at = CASE WHEN p.state IN ('published','dry_run') THEN COALESCE(p.published_at, now())
                                     ELSE c.replied_at END,
                   error = CASE WHEN p.state IN ('failed','unconfirmed') THEN p.last_error END, updated_at = now()
               FROM publications p
               WHERE p.id = c.reply_publication_id
                 AND ((c.status = 'replying' AND p.state IN ('published','dry_run','failed','unconfirmed'))
                      OR (c.status = 'unconfirmed' AND p.state = 'published'))
               RETURNING 1),
           released AS (
               UPDATE comments SET status='pending', updated_at=now()
               WHERE status='replying' AND reply_publication_id IS NULL
                 AND updated_at < now() - make_interval(secs => %s)
               RETURNING 1)
           SELECT (SELECT count(*) FROM settled) AS settled, (SELECT count(*) FROM released) AS released""",
        (stale_seconds,)).fetchone()


def reply_usage(conn, platform: str, day_start: datetime) -> dict[str, Any]:
    """Replies handed to the engine in the last hour / since the owner's midnight / in the last 24 h."""
    return conn.execute(
        """SELECT count(*) FILTER (WHERE reply_started_at > now() - interval '1 hour') AS last_hour,
                  count(*) FILTER (WHERE reply_started_at >= %s) AS today,
                  count(*) FILTER (WHERE reply_started_at > now() - interval '24 hours') AS last_24h
           FROM comments WHERE platform = %s AND reply_started_at > now() - interval '48 hours'
             AND status = ANY(%s)""", (day_start, platform, list(REPLY_STATES))).fetchone()


# --- reports -----------------------------------------------------------------------------------------------

def stats(conn, day_start: datetime, window_start: datetime) -> dict[str, dict]:
    rows = conn.execute(
        """SELECT platform,
                  count(*) FILTER (WHERE status = 'replied' AND replied_at >= %s) AS replies_today,
                  count(*) FILTER (WHERE status = 'replied' AND updated_at >= %s) AS ok,
                  count(*) FILTER (WHERE status IN ('failed','unconfirmed') AND updated_at >= %s) AS bad,
                  count(*) FILTER (WHERE status = 'pending') AS pending,
                  count(*) FILTER (WHERE status = 'skipped' AND fetched_at >= %s) AS skipped_today
           FROM comments GROUP BY platform""", (day_start, window_start, window_start, day_start)).fetchall()
    recent = conn.execute(
        """SELECT * FROM (
               SELECT id, platform, text, author_name, reply_text, replied_at, reply_url, status,
                      row_number() OVER (PARTITION BY platform ORDER BY replied_at DESC) AS n
               FROM comments WHERE status IN ('replied','dry_run') AND replied_at IS NOT NULL) t
           WHERE n <= 5 ORDER BY platform, replied_at DESC""").fetchall()
    out: dict[str, dict] = {r["platform"]: {**r, "recent": []} for r in rows}
    for r in recent:
        out.setdefault(r["platform"], {"recent": []})["recent"].append(r)
    return out


def list_comments(conn, *, platform: str | None, status: str | None, limit: int) -> list[dict]:
    where, params = [], []
    if platform:
        where.append("platform = %s")
        params.append(platform)
    if status:
        where.append("status = %s")
        params.append(status)
    sql = "SELECT * FROM comments" + (" WHERE " + " AND ".join(where) if where else "") + \
          " ORDER BY commented_at DESC LIMIT %s"
    return conn.execute(sql, (*params, limit)).fetchall()


def prune(conn, cutoff: datetime, batch: int = 5000) -> int:
    """Comments fetched before `cutoff`, except those whose reply is still being settled (a reply key lives on in
    its publication, so a comment fetched again after this is still never answered twice)."""
    total = 0
    while True:
        n = conn.execute(
            """DELETE FROM comments WHERE id IN (
                   SELECT id FROM comments WHERE fetched_at < %s AND status <> 'replying'
                   ORDER BY fetched_at LIMIT %s)""", (cutoff, batch)).rowcount
        total += n
        if n < batch:
            break
    total += conn.execute("DELETE FROM comment_usage WHERE updated_at < %s - interval '40 days'", (cutoff,)).rowcount
    return total
