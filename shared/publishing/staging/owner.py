"""Changes from outside to a staged publication: cancel the Redis stage first, atomically, and only then touch
the row. A stage being sent (`claimed` with a live lease, or `sending`) cannot be cancelled: the caller answers
that the post is being published (409), never two senders.

Connection changes (disconnect, a token refresh, a key rotation) drop the stages of that account: they carry a
sealed copy of the old token. Their rows go back to `planned` right away (the database is awake for those
changes) and run on the database path, or are staged again in the next window.
"""

from __future__ import annotations

import logging

from shared.errors import Conflict
from shared.publishing.staging import record

log = logging.getLogger("screndly.publishing.staging")


class BeingPublished(Conflict):
    """The staged post is being sent right now: the change must wait (a Conflict: the API answers 409)."""


class CancelNotConfirmed(BeingPublished):
    """The stage was cancelled, but Redis did not confirm it durable: the post cannot be handed back to a delivery
    that sends it at its slot (a failover could revive the stage and a Redis sender send it too). The change waits;
    a retry, or the next window's write-back, finishes it."""


def unstage(pub_id: str, run_message: bool = True) -> str:
    """Before an owner's change to a publication: make sure no stage can send it. Returns `none` (no stage),
    `planned` (the stage was cancelled and the row is `planned` again), or the write-back's verdict for a
    stage that had already finished; raises BeingPublished when it is being sent. `run_message=False`: a row
    back to `planned` gets no run message (the caller deletes it, or keeps it at its slot itself)."""
    from shared.publishing.staging.writeback import apply_one

    if not record.exists(pub_id):
        return "none"
    verdict = record.cancel(pub_id)
    if verdict == "busy":
        raise BeingPublished("this post is being published right now; try again in a minute")
    if verdict == "missing":
        return "none"
    if verdict == "cancelled" and not run_message:
        # the caller hands the post back to its own at-slot delivery (run_message=False), past the write-back's
        # grace logic: only once the cancel is confirmed durable (staging/durability.py)
        from shared.publishing.staging import durability

        confirmed, why = durability.confirm()
        if not confirmed:
            raise CancelNotConfirmed("this post's pre-staged copy could not be confirmed cancelled "
                                     f"({why[:120]}); try again in a minute")
    return apply_one(pub_id, run_message)


def drop_account(family: str | None) -> int:
    """Cancel the stages of one account (None: of every account; those being sent go on) and write them back
    now. Best effort: a stage left over is still refused by the platform or written back by the next window."""
    from shared.config import get_config
    from shared.publishing.engine import publications as pubs
    from shared.publishing.staging.writeback import apply_one

    dropped = 0
    try:
        # off: no stage is being made, so a stage worth dropping has its row staged (a drain after the flag went
        # off); none staged for this account, no Redis command. On, a stage being made has a pending record
        # whose row is not staged yet: only Redis knows it, so Redis is always asked.
        if not get_config().publish_staging and not pubs.any_staged(family):
            return 0
        ids = record.all_ids()
        if not ids:  # the common case: one Redis command
            return 0
        for pub_id in ids:
            rec = record.read(pub_id)
            if family is not None and rec.get("family") != family:
                continue
            if record.cancel(pub_id) == "cancelled":
                apply_one(pub_id)
                dropped += 1
    except Exception:
        log.warning("could not drop the staged posts of %s", family, exc_info=True)
    return dropped
