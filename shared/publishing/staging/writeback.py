"""Write staged outcomes back in an awake window, through the engine's own functions, fenced by the stage token.

For each stage whose slot has come (or whose sender finished), `record.freeze` decides atomically what a sender
can no longer change, then the row moves on in Postgres:

- done, published: the row becomes `publishing` under a fresh claim with the post id as evidence
  (`late_results`), then `outcomes.published` (activity, listeners) settles it. Killed in between, the
  evidence is in the row and the engine's checker settles it as published from there.
- done, failed (with proof): the same claim, then `outcomes.failed`.
- done, release / expired / cancelled (nothing was sent): the row goes back to `planned` and runs on the
  database path (a delayed run message at its time, or now).
- done, lookup / settling (sent, no answer; or the sender died after `sending`) / a staged row whose record is
  gone past its slot: the row becomes `publishing` with `commit_sent` and an already expired claim, and the
  engine's checker takes it over: look-up only (posted / proven absent / unknown -> unconfirmed), never re-sent.

Only then is the record forgotten. A write-back killed at any point leaves either the record (done again: the
row update is fenced by the stage token, so a second one does nothing) or a row the engine's checkers own.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from shared import clock
from shared.config import get_config
from shared.publishing.staging import record

log = logging.getLogger("screndly.publishing.staging")


def write_back(limit: int = 200) -> dict[str, int]:
    """Settle every stage that is ready to be written back; and staged rows whose record was lost."""
    from shared.publishing.engine import publications as pubs

    counts: dict[str, int] = {}
    seen = set()
    for pub_id in record.candidates(clock.time(), limit):
        verdict = apply_one(pub_id)
        if verdict == "missing":  # an index entry without its record: the row decides below
            record.forget(pub_id, "")
            continue
        seen.add(pub_id)
        counts[verdict] = counts.get(verdict, 0) + 1
    for row in pubs.staged_past(get_config().publish_stage_grace_seconds, limit):
        pub_id = str(row["id"])
        if pub_id in seen or record.exists(pub_id):
            continue
        # what the stage saved on the row for this case: the text and the time range a look-up searches
        verdict = _settle_by_lookup(pub_id, str(row["stage_token"]), dict(row["staged_lookup"] or {}),
                                    "the staged post's record was lost")
        counts[f"lost:{verdict}"] = counts.get(f"lost:{verdict}", 0) + 1
    return counts


def apply_one(pub_id: str, run_message: bool = True) -> str:
    """Write back one stage. `run_message=False`: a row that goes back to `planned` gets no run message (its
    caller, an owner's change to a post carried ahead, deletes it or keeps it at its slot itself)."""
    state, rec = record.freeze(pub_id)
    if state in ("wait", "missing"):
        return state
    token = rec.get("token", "")
    progress = record.decode(rec.get("progress"), {}) or {}
    if state in ("expired", "cancelled"):
        return _back_to_planned(pub_id, token, None, f"stage {state}", run_message,
                                grace_until=_float(rec.get("grace_until")))
    if state == "settling":
        verdict = _settle_by_lookup(pub_id, token, {**progress, "commit_sent": True},
                                    "the staged sender stopped after sending the post", rec.get("late"))
    else:  # done
        verdict = _apply_outcome(pub_id, token, rec, record.decode(rec.get("outcome"), {}) or {}, progress,
                                 run_message)
    record.forget(pub_id, token)
    return verdict


def _apply_outcome(pub_id: str, token: str, rec: dict[str, str], outcome: dict[str, Any],
                   progress: dict[str, Any], run_message: bool = True) -> str:
    from shared.publishing.adapters.base import Account, PostResult
    from shared.publishing.engine import outcomes
    from shared.publishing.engine import publications as pubs
    from shared.publishing.engine.lease import Lease

    kind = outcome.get("kind")
    if outcome.get("auth"):
        if not _sealed_token_replaced(rec):
            from shared.publishing.connections.refresh import mark_needs_reconnect

            mark_needs_reconnect(rec.get("family", ""), str(outcome["auth"]))
        elif kind == "failed":  # refused before anything was posted, for a token the account no longer uses
            return _back_to_planned(pub_id, token, None, "the account's token was replaced after this post was "
                                    "staged; the database path sends it with the current one", run_message,
                                    grace_until=_float(rec.get("grace_until")))
    if kind == "release":
        at = datetime.fromtimestamp(float(outcome["at"]), timezone.utc) if outcome.get("at") else None
        return _back_to_planned(pub_id, token, at, str(outcome.get("reason") or "released"), run_message,
                                warn=outcome.get("errorKind") == "not_durable",
                                grace_until=_float(rec.get("grace_until")))
    if kind == "lookup":
        return _settle_by_lookup(pub_id, token, {**progress, "commit_sent": True}, str(outcome.get("reason") or
                                                                                          "no answer"))
    cfg = get_config()
    evidence = None
    if kind == "published":
        evidence = {"postId": outcome["postId"], "url": outcome.get("url"), "at": _now().isoformat(),
                    "role": "staged sender"}
    started = time.monotonic()
    row = pubs.unstage_to_publishing(pub_id, token, cfg.publish_lease_seconds, progress, evidence)
    if row is None:
        return "stale"  # written back already (a repeated write-back), or the row moved on
    lease = Lease(pub_id, str(row["claim_token"]), seconds=cfg.publish_lease_seconds, role="sender",
                  started=started, send_margin=cfg.publish_http_timeout_seconds)
    account = Account(platform=rec.get("family", ""), account_id=rec.get("account_id", ""), access_token="")
    if kind == "published":
        result = PostResult(str(outcome["postId"]), outcome.get("url"),
                            {**(outcome.get("details") or {}), "staged": True})
        return outcomes.published(row, lease, result, account)["state"]
    if kind == "failed":
        return outcomes.failed(row, lease, str(outcome.get("errorKind") or "unknown"),
                               str(outcome.get("message") or "refused"), str(outcome.get("proof") or "not_sent"),
                               outcome.get("details"))["state"]
    # an outcome this version does not know: never guess; a checker looks the post up
    return outcomes.unconfirmed(row, lease, f"unknown staged outcome {kind!r}")["state"]


def _back_to_planned(pub_id: str, token: str, at: datetime | None, reason: str, run_message: bool = True,
                     warn: bool = False, grace_until: float | None = None) -> str:
    """Nothing was sent from the stage: the database path runs it (at `at`, or its own time, or now). The
    record is forgotten before the run message goes out, so the run route finds no stage and runs the row.
    `warn`: the owner should hear why (Redis could not confirm the checkpoint: staging saves nothing so).

    Before the stage's grace is over a Redis sender could still claim it, should Redis lose the record's final
    state (a failover to a replica that missed it would bring back `ready`): the database path may run it
    before then only if Redis confirms that final state durable; otherwise it runs just after the grace, when no
    claim is taken any more, whatever Redis lost."""
    from shared.publishing.engine import publications as pubs
    from shared.publishing.engine.runner import schedule_run
    from shared.publishing.staging import durability

    if grace_until is not None and clock.time() < grace_until:
        after_grace = datetime.fromtimestamp(grace_until + 1.0, timezone.utc)
        if (at is None or at < after_grace) and not durability.confirm()[0]:
            at = after_grace
    row = pubs.unstage_to_planned(pub_id, token, at)
    record.forget(pub_id, token)
    if row is None:
        return "stale"
    if run_message:
        when = max(row["not_before"] or _now(), _now() + timedelta(seconds=1))
        schedule_run(row, when, f"back from a stage: {reason}")
    if warn:
        from shared import activity

        activity.log("publishing", "warn", f"a staged {row['platform']} post was not sent from Redis ({reason}); "
                     "it is published the usual way instead", {"publicationId": pub_id, "platform": row["platform"]})
    return "planned"


def _settle_by_lookup(pub_id: str, token: str, progress: dict[str, Any], reason: str,
                      late: str | None = None) -> str:
    """The post may exist: hand the row to the engine's checker (look-up only, never a re-send)."""
    from shared import activity
    from shared.publishing.engine import publications as pubs
    from shared.publishing.engine.checks import check

    late_outcome = record.decode(late, {}) if late else {}
    evidence = None
    if late_outcome.get("kind") == "published":  # the sender's answer arrived after the freeze: evidence
        evidence = {"postId": late_outcome["postId"], "url": late_outcome.get("url"), "at": _now().isoformat(),
                    "role": "staged sender (late)"}
    row = pubs.unstage_to_publishing(pub_id, token, -1.0, {**progress, "commit_sent": True}, evidence)
    if row is None:
        return "stale"
    activity.log("publishing", "warn", f"a staged {row['platform']} post may have been sent ({reason}); looking "
                 "it up, never re-sending it", {"publicationId": pub_id, "platform": row["platform"]})
    return check(pub_id).state


def _sealed_token_replaced(rec: dict[str, str]) -> bool:
    """The stage sealed a token the account has replaced since (a refresh or a reconnect raced the send): its
    401 says nothing about the account. A record without a fingerprint, or an unreadable connection: not known,
    treated as the current token (the account is marked, as before)."""
    from shared.publishing.connections import store
    from shared.publishing.staging.stage import token_fingerprint

    sealed = rec.get("token_fp")
    if not sealed:
        return False
    try:
        conn = store.get(rec.get("family", ""))
    except Exception:
        log.warning("could not read the %s connection to judge a 401", rec.get("family"), exc_info=True)
        return False
    return conn is not None and token_fingerprint(conn.access_token) != sealed


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _now() -> datetime:
    return datetime.now(timezone.utc)
