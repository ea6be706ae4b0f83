"""Time passing for claims whose worker is gone: a dead worker stops its heartbeat, and after the lease its claim
may be taken over. Tests that kill a worker in-process (an uncaught BaseException) move the lease's expiry into
the past instead of waiting the lease out."""

from __future__ import annotations


def expire_leases(publication_id: str | None = None) -> int:
    """Let the lease of every held claim (or of one publication) run out now. Returns rows changed."""
    from shared.db import connection

    with connection() as c:
        return c.execute(
            "UPDATE publications SET lease_until = now() - interval '1 second' WHERE claim_token IS NOT NULL "
            "AND state IN ('publishing', 'unconfirmed') AND (%s::uuid IS NULL OR id = %s::uuid)",
            (publication_id, publication_id)).rowcount


def sweep_after_lease() -> dict[str, int]:
    """What the maintenance tick does once the dead worker's lease has run out."""
    from shared.publishing.engine import runner

    expire_leases()
    return runner.sweep_stuck()


def make_due(publication_id: str | None = None, states: tuple[str, ...] = ("publishing", "unconfirmed")) -> int:
    """Bring forward the next check of parked (`publishing`) and/or `unconfirmed` rows: the settle delay or
    hours of back-off pass in an instant."""
    from shared.db import connection

    with connection() as c:
        return c.execute(
            "UPDATE publications SET next_check_at = now() - interval '1 second' WHERE claim_token IS NULL "
            "AND next_check_at IS NOT NULL AND state = ANY(%s) AND (%s::uuid IS NULL OR id = %s::uuid)",
            (list(states), publication_id, publication_id)).rowcount
