"""The publications table and its state machine. Every transition is one conditional UPDATE here, and every
write after a claim is fenced by the claim token: a worker that lost its claim cannot move the row.

    planned ──claim (sender)──▶ publishing
    publishing ─(holder)─▶ published | failed (with proof) | unconfirmed
    publishing ─(holder)─▶ planned            nothing was sent: rate limited, transient, media processing
    publishing ─(holder)─▶ publishing, parked the platform is processing the post: a checker looks later
    publishing, parked | lease expired ──claim_check (checker)──▶ publishing (looks up only, never sends)
    unconfirmed, due ──claim_check (checker)──▶ unconfirmed ─▶ published | failed (proof) | unconfirmed (later)
    failed with proof ──rearm (an explicit new request)──▶ planned                (dry run: planned -> dry_run)

A claim is a lease: `lease_until` is pushed forward by the holder's heartbeat (and by each checkpoint); a
checker may take a `publishing` row over only once its lease has expired. Two kinds of holders: a sender
(claimed from `planned`, may send) and a checker (claimed a parked, expired or unconfirmed row: looks up only).
A result that reaches a superseded worker is kept as evidence (`late_results`), never as a state change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.db import connection
from shared.db.rows import one

TERMINAL = ("published", "failed", "unconfirmed", "dry_run")
PROOFS = ("not_sent", "refused", "platform_state")
_HELD_STATES = "('publishing','unconfirmed')"
# what every settle does to the claim: the holder lets go
_RELEASE_CLAIM = "claim_token=NULL, lease_until=NULL"


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
    """The publication under `key`, created now (True) or found (False). A row found by the insert's conflict
    but deleted before the read (a carrier withdrawing a publication it prepared and never ran, see
    staging/ahead.py: only `planned` rows are ever deleted, so nothing was sent under the key) is created again."""
    with _use(conn) as c:
        for _ in range(5):
            row = c.execute(
                """INSERT INTO publications (idempotency_key, platform, family, source, source_ref, content,
                                             dry_run, not_before)
                   VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *""",
                (key, target, family, source, source_ref, Jsonb(content), dry_run, not_before)).fetchone()
            if row is not None:
                return row, True
            row = c.execute("SELECT * FROM publications WHERE idempotency_key=%s", (key,)).fetchone()
            if row is not None:
                return row, False
    raise RuntimeError(f"the publication {key} kept being deleted while it was created")


def get(pub_id: str, conn=None) -> dict | None:
    with _use(conn) as c:
        return c.execute("SELECT * FROM publications WHERE id=%s", (pub_id,)).fetchone()


# --- claims ---------------------------------------------------------------------------------------------

def claim(pub_id: str, lease_seconds: float) -> dict | None:
    """A sender's claim on a due planned row, with the platform connection joined in (`_connection`): one
    round trip for both. `progress.started_at` marks when this attempt began (a look-up reads how old an
    upload session can be from it)."""
    with connection() as c:
        return c.execute(
            """WITH claimed AS (
                   UPDATE publications SET state='publishing', attempts=attempts+1, claimed_at=now(),
                       lease_until=now() + make_interval(secs => %s), claim_token=gen_random_uuid(),
                       next_check_at=NULL, updated_at=now(),
                       progress = CASE WHEN progress ? 'started_at' THEN progress
                                  ELSE progress || jsonb_build_object('started_at', extract(epoch FROM now())) END
                   WHERE id=%s AND state='planned' AND (not_before IS NULL OR not_before <= now())
                   RETURNING *)
               SELECT claimed.*, to_jsonb(pc.*) AS _connection
               FROM claimed LEFT JOIN platform_connections pc ON pc.platform = claimed.family""",
            (lease_seconds, pub_id)).fetchone()


def claim_check(pub_id: str, lease_seconds: float, early_seconds: float = 0.0) -> dict | None:
    """A checker's claim: a parked `publishing` row or an `unconfirmed` one whose check is due, or a held row
    whose lease has really expired (a take-over). Returns the row with `superseded` (the token it replaced,
    None when the row was parked). A checker only looks the post up; it never sends."""
    with connection() as c:
        return c.execute(
            f"""WITH old AS (SELECT id, claim_token FROM publications WHERE id=%s FOR UPDATE)
                UPDATE publications p SET claim_token=gen_random_uuid(), claimed_at=now(),
                    lease_until=now() + make_interval(secs => %s), checks=p.checks+1, updated_at=now()
                FROM old WHERE p.id=old.id AND p.state IN {_HELD_STATES} AND (
                    (p.claim_token IS NOT NULL AND p.lease_until < now())
                    OR (p.claim_token IS NULL AND p.next_check_at <= now() + make_interval(secs => %s)))
                RETURNING p.*, old.claim_token AS superseded""",
            (pub_id, lease_seconds, early_seconds)).fetchone()


def heartbeat(pub_id: str, token: str, lease_seconds: float) -> bool:
    """Extend our lease; False when the claim is no longer ours (taken over or settled)."""
    with connection() as c:
        return c.execute(
            f"""UPDATE publications SET lease_until=now() + make_interval(secs => %s)
                WHERE id=%s AND claim_token=%s AND state IN {_HELD_STATES} RETURNING id""",
            (lease_seconds, pub_id, token)).fetchone() is not None


def checkpoint(pub_id: str, token: str, values: dict[str, Any], lease_seconds: float) -> int:
    """Save adapter progress under our claim (a checkpoint is also a heartbeat). Rows saved: 0 means our claim
    is gone, and the caller must not send anything more."""
    with connection() as c:
        return c.execute(
            f"""UPDATE publications SET progress = progress || %s, updated_at=now(),
                    lease_until=now() + make_interval(secs => %s)
                WHERE id=%s AND claim_token=%s AND state IN {_HELD_STATES}""",
            (Jsonb(values), lease_seconds, pub_id, token)).rowcount


# --- the holder's settles (all fenced by the token) ---------------------------------------------------

def settle_published(pub_id: str, token: str, post_id: str, url: str | None, details: dict[str, Any],
                     conn=None) -> dict | None:
    """None: the token is no longer the row's (a superseded worker); record the answer as evidence instead."""
    with _use(conn) as c:
        return c.execute(
            f"""UPDATE publications SET state='published', platform_post_id=%s, url=%s, published_at=now(),
                    error_kind=NULL, last_error=NULL, absent_proof=NULL, next_check_at=NULL, {_RELEASE_CLAIM},
                    progress = progress || %s, updated_at=now()
                WHERE id=%s AND claim_token=%s AND state IN {_HELD_STATES} RETURNING *""",
            (post_id, url, Jsonb({"result": details} if details else {}), pub_id, token)).fetchone()


def settle_dry_run(pub_id: str, token: str, would_post: dict[str, Any], conn=None) -> dict | None:
    with _use(conn) as c:
        return c.execute(
            f"""UPDATE publications SET state='dry_run', published_at=now(), progress = progress || %s,
                    {_RELEASE_CLAIM}, updated_at=now()
                WHERE id=%s AND claim_token=%s AND state='publishing' RETURNING *""",
            (Jsonb({"wouldPost": would_post}), pub_id, token)).fetchone()


def settle_failed(pub_id: str, token: str, kind: str, error: str, proof: str, details: dict | None = None,
                  conn=None) -> dict | None:
    """`failed` means nothing was posted, so it needs a proof (PROOFS); anything short of one is unconfirmed."""
    if proof not in PROOFS:
        raise ValueError(f"a failed publication needs a proof that nothing was posted, got {proof!r}")
    with _use(conn) as c:
        return c.execute(
            f"""UPDATE publications SET state='failed', error_kind=%s, last_error=%s, absent_proof=%s,
                    next_check_at=NULL, {_RELEASE_CLAIM}, progress = progress || %s, updated_at=now()
                WHERE id=%s AND claim_token=%s AND state IN {_HELD_STATES} RETURNING *""",
            (kind, error[:2000], proof, Jsonb({"errorDetails": details} if details else {}), pub_id,
             token)).fetchone()


def settle_unconfirmed(pub_id: str, token: str, error: str, next_check_at: datetime | None,
                       conn=None) -> dict | None:
    """We cannot tell whether the post exists: a checker looks again at `next_check_at` (None: never again).
    Evidence that arrived meanwhile (a late answer) makes the next check due at once. The check count starts
    over when the row first becomes unconfirmed (the processing checks before it do not count)."""
    with _use(conn) as c:
        return c.execute(
            f"""UPDATE publications SET state='unconfirmed', error_kind='unknown', last_error=%s, absent_proof=NULL,
                    checks = CASE WHEN state='publishing' THEN 0 ELSE checks END,
                    next_check_at = CASE WHEN jsonb_array_length(late_results) > 0 THEN now() ELSE %s END,
                    {_RELEASE_CLAIM}, updated_at=now()
                WHERE id=%s AND claim_token=%s AND state IN {_HELD_STATES} RETURNING *""",
            (error[:2000], next_check_at, pub_id, token)).fetchone()


def park(pub_id: str, token: str, check_at: datetime, note: str | None = None) -> dict | None:
    """The platform is processing the post: stay `publishing`, let go of the claim, and have a checker look
    at `check_at` (a delayed settle message, or the maintenance sweep if that message is lost)."""
    with connection() as c:
        return c.execute(
            f"""UPDATE publications SET next_check_at=%s, {_RELEASE_CLAIM}, updated_at=now(),
                    last_error=COALESCE(%s, last_error)
                WHERE id=%s AND claim_token=%s AND state='publishing' RETURNING *""",
            (check_at, note, pub_id, token)).fetchone()


def release(pub_id: str, token: str, not_before: datetime, kind: str, error: str,
            progress: dict[str, Any] | None = None) -> dict | None:
    """Back to planned, to run after `not_before`. Only for attempts whose publishing request was never sent
    (or was refused): rate limit, transient error, media still processing, a dead worker before its commit."""
    with connection() as c:
        return c.execute(
            f"""UPDATE publications SET state='planned', not_before=%s, error_kind=%s, last_error=%s,
                    {_RELEASE_CLAIM}, next_check_at=NULL, checks=0, progress = progress || %s, updated_at=now()
                WHERE id=%s AND claim_token=%s AND state='publishing' RETURNING *""",
            (not_before, kind, error[:2000], Jsonb(progress or {}), pub_id, token)).fetchone()


def mark_notified(pub_id: str, conn=None) -> bool:
    with _use(conn) as c:
        return c.execute("UPDATE publications SET notified=true WHERE id=%s AND NOT notified RETURNING id",
                         (pub_id,)).fetchone() is not None


# --- evidence and re-arming ---------------------------------------------------------------------------

def record_late_result(pub_id: str, token: str, evidence: dict[str, Any]) -> dict | None:
    """A superseded worker's answer (the platform accepted the post): appended as evidence, never a state
    change. An unconfirmed row nobody holds becomes due for a check now, so a checker settles it with it."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET late_results = late_results || jsonb_build_array(%s::jsonb),
                   next_check_at = CASE WHEN state='unconfirmed' AND claim_token IS NULL THEN now()
                                        ELSE next_check_at END
               WHERE id=%s RETURNING *""",
            (Jsonb({**evidence, "token": token}), pub_id)).fetchone()


def rearm_failed(pub_id: str) -> bool:
    """An explicit new request (compose re-send, an approved RSS retry, a gateway retry of a failure that may
    clear up) runs a failed publication again: only when we hold proof that the failed attempt posted nothing,
    and no late answer says otherwise. The one re-arm every path goes through."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET state='planned', progress='{}'::jsonb, error_kind=NULL, last_error=NULL,
                   absent_proof=NULL, not_before=NULL, notified=false, checks=0, next_check_at=NULL,
                   updated_at=now()
               WHERE id=%s AND state='failed' AND absent_proof IS NOT NULL
                   AND jsonb_array_length(late_results) = 0 RETURNING id""",
            (pub_id,)).fetchone() is not None


# --- what the sweeps look for -------------------------------------------------------------------------

def due_for_check(limit: int = 50) -> list[dict]:
    """Rows a checker should look at: held claims whose lease expired (their worker died or stalled), parked
    rows whose processing check is due, unconfirmed rows whose re-check is due. Two index scans."""
    with connection() as c:
        return c.execute(
            f"""(SELECT id, state FROM publications WHERE state IN {_HELD_STATES} AND claim_token IS NOT NULL
                    AND lease_until < now() ORDER BY lease_until LIMIT %s)
                UNION ALL
                (SELECT id, state FROM publications WHERE state IN {_HELD_STATES} AND claim_token IS NULL
                    AND next_check_at <= now() ORDER BY next_check_at LIMIT %s)""",
            (limit, limit)).fetchall()


def overdue_planned(grace_seconds: float, limit: int = 20) -> list[dict]:
    with connection() as c:
        return c.execute(
            """SELECT id FROM publications WHERE state='planned'
                   AND COALESCE(not_before, created_at) < now() - make_interval(secs => %s)
               ORDER BY COALESCE(not_before, created_at) LIMIT %s""", (grace_seconds, limit)).fetchall()


# --- pre-staged posts (shared/publishing/staging) -----------------------------------------------------

def stage(pub_id: str, stage_token: str, min_lead_seconds: float, slot: datetime,
          lookup_hints: dict[str, Any] | None = None) -> dict | None:
    """planned -> staged under `stage_token`, only while the row is still planned, still due at `slot` (the
    time the stage record was written for) and not due within `min_lead_seconds`. From here only the holder of
    that token (the staging write-back) moves the row. `lookup_hints` (progress.staged_lookup) is what a look-up
    needs if the stage's Redis record is lost."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET state='staged', stage_token=%s, updated_at=now(),
                   progress = progress || jsonb_build_object('staged_lookup', %s::jsonb)
               WHERE id=%s AND state='planned' AND NOT dry_run AND not_before = %s
                   AND not_before > now() + make_interval(secs => %s) RETURNING *""",
            (stage_token, Jsonb(lookup_hints or {}), pub_id, slot, min_lead_seconds)).fetchone()


def unstage_to_planned(pub_id: str, stage_token: str, not_before: datetime | None) -> dict | None:
    """staged -> planned (nothing was sent from the stage): the database path runs it at `not_before`."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET state='planned', stage_token=NULL, not_before=COALESCE(%s, not_before),
                   progress = progress - 'staged_lookup', updated_at=now()
               WHERE id=%s AND state='staged' AND stage_token=%s RETURNING *""",
            (not_before, pub_id, stage_token)).fetchone()


def unstage_to_publishing(pub_id: str, stage_token: str, lease_seconds: float, progress: dict[str, Any],
                          evidence: dict[str, Any] | None = None) -> dict | None:
    """staged -> publishing with a fresh claim (returned in `claim_token`), carrying what the staged sender
    recorded: its progress (commit_sent, text_key, ...) and, when the platform answered, its post id as
    evidence (`late_results`), so whoever settles the row — this claim, or a checker taking it over after a
    crash — finds the post without sending anything. `lease_seconds` <= 0 leaves the lease already expired: a
    checker's take-over (look-up only) settles it."""
    with connection() as c:
        return c.execute(
            """UPDATE publications SET state='publishing', stage_token=NULL, attempts=attempts+1, claimed_at=now(),
                   claim_token=gen_random_uuid(), lease_until=now() + make_interval(secs => %s),
                   next_check_at=NULL, updated_at=now(), progress = (progress - 'staged_lookup') || %s,
                   late_results = late_results || %s
               WHERE id=%s AND state='staged' AND stage_token=%s RETURNING *""",
            (lease_seconds, Jsonb(progress), Jsonb([evidence] if evidence else []), pub_id,
             stage_token)).fetchone()


def stageable(horizon_seconds: float, min_lead_seconds: float, targets: tuple[str, ...],
              limit: int = 100) -> list[dict]:
    """Planned live rows due within the horizon (not sooner than the lead) on the given targets."""
    with connection() as c:
        return c.execute(
            """SELECT * FROM publications WHERE state='planned' AND NOT dry_run AND platform = ANY(%s)
                   AND not_before > now() + make_interval(secs => %s)
                   AND not_before <= now() + make_interval(secs => %s)
               ORDER BY not_before LIMIT %s""",
            (list(targets), min_lead_seconds, horizon_seconds, limit)).fetchall()


def drop_planned(pub_ids: list[str], conn=None) -> set[str]:
    """Delete publications that are still `planned` (nothing of them was sent: a planned row was never claimed,
    or was released with proof nothing went out). Returns the ids deleted. Used only for a post carried ahead
    (staging/ahead.py) that its owner changed: the post goes back to its own delivery at the slot."""
    if not pub_ids:
        return set()
    with _use(conn) as c:
        rows = c.execute("DELETE FROM publications WHERE id = ANY(%s::uuid[]) AND state='planned' RETURNING id",
                         (list(pub_ids),)).fetchall()
    return {str(r["id"]) for r in rows}


def staged_past(grace_seconds: float, limit: int = 100) -> list[dict]:
    """Staged rows whose slot and grace have passed (the write-back settles those whose stage is gone)."""
    with connection() as c:
        return c.execute(
            """SELECT id, stage_token, not_before, progress->'staged_lookup' AS staged_lookup
               FROM publications WHERE state='staged'
                   AND not_before < now() - make_interval(secs => %s) ORDER BY not_before LIMIT %s""",
            (grace_seconds, limit)).fetchall()


def any_staged(family: str | None = None) -> bool:
    """Whether any row (of this account's family; None: any) is staged. One look into the partial index
    publications_staged_idx: with staging off and nothing left to drain, this is all the staging costs."""
    with connection() as c:
        return bool(one(c.execute(
            """SELECT EXISTS (SELECT 1 FROM publications WHERE state='staged'
                                  AND (%(family)s::text IS NULL OR family = %(family)s)) AS any""",
            {"family": family}).fetchone())["any"])
