"""The publications table and its state machine:

    planned -> publishing -> published | failed | unconfirmed      (dry run: planned -> dry_run)
    publishing -> planned      (rate limited or never reached the platform: run again later)
    unconfirmed -> published   (a late answer or a look-up proves the post exists)

Every transition is one conditional UPDATE, so two workers racing on one row cannot both move it: the claim is
`UPDATE ... WHERE state='planned' AND not_before <= now()`, and only the winner gets a row back.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

from psycopg.types.json import Jsonb

from shared.db import connection

TERMINAL = ("published", "failed", "unconfirmed", "dry_run")


@contextmanager
def _use(conn=None) -> Iterator[Any]:
    """Reuse the caller's connection (one checkout for a settle + its log line) or take one from the pool."""
    if conn is not None:
        yield conn
    else:
        with connection() as c:
            yield c


def create_or_get(*, key: str, target: str, family: str, source: str, source_ref: str | None,
                  content: dict[str, Any], dry_run: bool, not_before: datetime | None,
                  conn=None) -> tuple[dict, bool]:
    with _use(conn) as c:
        row = c.execute(
            """INSERT INTO publications (idempotency_key, platform, family, source, source_ref, content, dry_run,
                                         not_before)
               VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *""",
            (key, target, family, source, source_ref, Jsonb(content), dry_run, not_before)).fetchone()
        if row is not None:
            return row, True
        return c.execute("SELECT * FROM publications WHERE idempotency_key=%s", (key,)).fetchone(), False


def get(pub_id: str) -> dict | None:
    with connection() as c:
        return c.execute("SELECT * FROM publications WHERE id=%s", (pub_id,)).fetchone()


def claim(pub_id: str) -> dict | None:
    """The claim, with the platform connection row joined in (`_connection`): one round trip for both."""
    with connection() as c:
        return c.execute(
            """WITH claimed AS (
                   UPDATE publications SET state='publishing', attempts=attempts+1, claimed_at=now(),
                       claim_token=gen_random_uuid(), updated_at=now()
                   WHERE id=%s AND state='planned' AND (not_before IS NULL OR not_before <= now())
                   RETURNING *)
               SELECT claimed.*, to_jsonb(pc.*) AS _connection
               FROM claimed LEFT JOIN platform_connections pc ON pc.platform = claimed.family""",
            (pub_id,)).fetchone()


def rearm_failed(pub_id: str) -> bool:
    """An explicit new request from the owner may retry a failed publication (nothing was posted)."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET state='planned', progress='{}'::jsonb, error_kind=NULL, last_error=NULL,
                   not_before=NULL, notified=false, updated_at=now() WHERE id=%s AND state='failed' RETURNING id""",
            (pub_id,)).fetchone() is not None


def checkpoint(pub_id: str, token: str, values: dict[str, Any]) -> int:
    """Rows saved: 0 means our claim is gone (a sweeper took the row over), and the caller must stop."""
    with connection() as c:
        return c.execute("UPDATE publications SET progress = progress || %s, updated_at=now() "
                         "WHERE id=%s AND claim_token=%s", (Jsonb(values), pub_id, token)).rowcount


def settle_published(pub_id: str, post_id: str, url: str | None, details: dict[str, Any], conn=None) -> dict | None:
    # no claim-token condition: a late true answer must win over an earlier `unconfirmed`
    with _use(conn) as c:
        return c.execute(
            """UPDATE publications SET state='published', platform_post_id=%s, url=%s, published_at=now(),
                   error_kind=NULL, last_error=NULL, progress = progress || %s, updated_at=now()
               WHERE id=%s AND state IN ('publishing','unconfirmed') RETURNING *""",
            (post_id, url, Jsonb({"result": details} if details else {}), pub_id)).fetchone()


def settle_dry_run(pub_id: str, token: str, would_post: dict[str, Any], conn=None) -> dict | None:
    with _use(conn) as c:
        return c.execute(
            """UPDATE publications SET state='dry_run', published_at=now(), progress = progress || %s,
                   updated_at=now() WHERE id=%s AND claim_token=%s AND state='publishing' RETURNING *""",
            (Jsonb({"wouldPost": would_post}), pub_id, token)).fetchone()


def settle_failed(pub_id: str, token: str | None, kind: str, error: str, details: dict | None = None, conn=None) -> dict | None:
    cond = "claim_token=%s AND state='publishing'" if token else "state IN ('publishing','unconfirmed')"
    params: tuple = (kind, error[:2000], Jsonb({"errorDetails": details} if details else {}), pub_id)
    if token:
        params += (token,)
    with _use(conn) as c:
        return c.execute(
            f"""UPDATE publications SET state='failed', error_kind=%s, last_error=%s, progress = progress || %s,
                   updated_at=now() WHERE id=%s AND {cond} RETURNING *""", params).fetchone()


def settle_unconfirmed(pub_id: str, token: str | None, error: str, conn=None) -> dict | None:
    cond = "claim_token=%s AND state='publishing'" if token else "state='publishing'"
    params: tuple = (error[:2000], pub_id) + ((token,) if token else ())
    with _use(conn) as c:
        return c.execute(
            f"""UPDATE publications SET state='unconfirmed', error_kind='unknown', last_error=%s, updated_at=now()
                WHERE id=%s AND {cond} RETURNING *""", params).fetchone()


def mark_notified(pub_id: str) -> bool:
    with connection() as c:
        return c.execute("UPDATE publications SET notified=true WHERE id=%s AND NOT notified RETURNING id",
                         (pub_id,)).fetchone() is not None


def release(pub_id: str, token: str, not_before: datetime, kind: str, error: str,
            progress: dict[str, Any] | None = None) -> dict | None:
    """Back to planned, to run after `not_before` (rate limit reset or backoff)."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET state='planned', not_before=%s, error_kind=%s, last_error=%s,
                   claim_token=NULL, progress = progress || %s, updated_at=now()
               WHERE id=%s AND claim_token=%s AND state='publishing' RETURNING *""",
            (not_before, kind, error[:2000], Jsonb(progress or {}), pub_id, token)).fetchone()


def extend_claim(pub_id: str, token: str) -> None:
    with connection() as c:
        c.execute("UPDATE publications SET claimed_at=now() WHERE id=%s AND claim_token=%s", (pub_id, token))


def stuck(lease_seconds: int, limit: int = 50) -> list[dict]:
    """Claims older than the lease: their worker died or lost track. Locked so two sweepers split them."""
    with connection() as c:
        return c.execute(
            """SELECT id FROM publications WHERE state='publishing'
                   AND claimed_at < now() - make_interval(secs => %s) ORDER BY claimed_at LIMIT %s""",
            (lease_seconds, limit)).fetchall()


def take_over(pub_id: str, lease_seconds: int) -> dict | None:
    """Give a stuck claim a new token (the old worker, if alive, can no longer settle it but as published)."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET claim_token=gen_random_uuid(), claimed_at=now(), updated_at=now()
               WHERE id=%s AND state='publishing' AND claimed_at < now() - make_interval(secs => %s)
               RETURNING *""", (pub_id, lease_seconds)).fetchone()


def overdue_planned(grace_seconds: int, limit: int = 20) -> list[dict]:
    with connection() as c:
        return c.execute(
            """SELECT id FROM publications WHERE state='planned'
                   AND COALESCE(not_before, created_at) < now() - make_interval(secs => %s)
               ORDER BY COALESCE(not_before, created_at) LIMIT %s""", (grace_seconds, limit)).fetchall()
