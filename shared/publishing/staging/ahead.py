"""Posts carried ahead: the RSS planned posts and TMDb posts due within the staging horizon get their publication
created in an awake window, before their slot, so pre-staging reaches them and their slot wakes no database.

Each capability registers a provider (`carriers.register`, from its package's __init__, as the settle listeners
are);
the staging window (`timing.window`: the `publishing.staging` kind, which joins every window that opens, such as
the RSS planning step, and the 6-hourly maintenance) calls them with the horizon. A provider, per post:
1. reads the post and judges it as its delivery would now (the delivery-time cancel checks); content is resolved
   the way the delivery resolves it;
2. `carry(request, slot)`: the publication is created through the gateway (`gateway.prepare`: `planned`,
   not_before = the slot, under the delivery's own idempotency key) and staged (`stage.stage_one`). Not
   stageable (validation, token, board): the publication made here is deleted again, and the post stays on its
   own delivery at the slot, exactly as with staging off;
3. hands over in one transaction that re-checks the post under locks (an owner's change that came meanwhile
   wins): the post is marked carried (`carried_by`) and, after the commit, its dispatcher item is disarmed.
   The engine's settle listener reports the outcome as before. Nothing handed over: `withdraw` (unstage, delete).

A killed provider leaves either nothing, a planned publication nobody stages (the delivery at the slot finds it
under the same key and runs it), or a staged one next to a post that is still armed (the slot sends it from the
stage and the delivery finds it `staged`: it waits for the settle listener). Never a second publication.

Owner changes to a carried post (`release` first: a stage being sent answers 409, and nothing was changed), then,
inside the owner's transaction, `drop` deletes the publication (still `planned`: nothing was sent) and the post
goes back to its own delivery at the slot, which applies the owner's change as it always did.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.errors import Conflict

log = logging.getLogger("screndly.publishing.staging")

# a post due sooner than this is left to its own delivery: clear of the deliveries' early tolerance (RSS delivers
# up to 60 s early) and of staging's own minimum lead (60 s), so a delivery never runs while its post is carried
LEAD_SECONDS = 180.0

_pass = threading.local()  # per window pass (ticks may run in threads): families refreshed, items disarmed


def _resolve(ref: str) -> Callable[[float, float], dict[str, int]]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def materialise() -> dict[str, dict[str, int]]:
    """Every provider, each in its own try (one capability's surprise never holds the other's posts)."""
    from shared.config import get_config
    from shared.publishing.engine.service import publish_mode

    horizon = float(get_config().publish_stage_horizon_seconds)
    reset_pass()
    if publish_mode() == "dry_run":  # dry runs are recorded at their time, never ahead: nothing to carry
        return {}
    from shared.publishing.staging.stage import durable_here

    if not durable_here():  # a Redis that cannot confirm a checkpoint: nothing would be staged, carry nothing
        return {"all": {"not_durable": 1}}
    out: dict[str, dict[str, int]] = {}
    from shared.publishing.staging.carriers import providers

    for name, fn in sorted(providers.items()):
        try:
            out[name] = _resolve(fn)(horizon, LEAD_SECONDS)
        except Exception:
            log.exception("carrying %s posts ahead failed", name)
            out[name] = {"error": 1}
    return out


def carry(request: Any, slot: datetime) -> tuple[str | None, str | None]:
    """Create (or find) the publication of `request` planned at `slot` and stage it. Returns (publication id,
    None) when it is staged for that slot, else (None, why not): a publication created here and not staged is
    deleted again (one found from an earlier pass is left for the delivery at the slot, which runs it)."""
    from shared.publishing.engine import publications as pubs
    from shared.publishing.gateway import drop_planned, prepare
    from shared.publishing.platforms import TARGETS, normalize_target
    from shared.publishing.staging.stage import _refresh_first, stage_one

    family = TARGETS[normalize_target(request.platform)]
    refreshed = _pass.__dict__.setdefault("refreshed", set())
    if family not in refreshed:  # a refresh drops the account's stages: never between two stages of one pass
        refreshed.add(family)
        _refresh_first({family})
    got = prepare(request, slot)
    if got is None:
        return None, "dry run (recorded at its time, never ahead)"
    row, created = got
    pub_id = str(row["id"])
    if row["state"] == "staged" and row["not_before"] == slot:
        return pub_id, None  # an earlier pass staged it and was stopped before the hand-over: adopt it
    if row["state"] != "planned" or row["not_before"] != slot:
        return None, f"its publication is already {row['state']}"
    try:
        why = stage_one(row)
    except Exception as exc:
        log.exception("staging publication %s ahead failed", pub_id)
        why = f"staging failed ({type(exc).__name__})"
    if why is None:
        return pub_id, None
    current = pubs.get(pub_id)
    if current is not None and current["state"] == "staged" and current["not_before"] == slot:
        return pub_id, None  # another window staged it meanwhile
    if created and not _stage_record_exists(pub_id):  # (another window staging it meanwhile keeps it)
        drop_planned([pub_id])
    return None, why


def _stage_record_exists(pub_id: str) -> bool:
    from shared.publishing.staging import record

    try:
        return record.exists(pub_id)
    except Exception:  # Redis down: keep the row (the delivery at the slot finds it by key and runs it)
        return True


def disarm(kind: str, ref: str) -> None:
    """A carried post's own dispatcher item goes: now (one Redis command), and from the tick this pass runs in,
    if any (`disarmed()`: the staging window's handler drops them from its commit, which would otherwise arm
    again an item the same tick's planning step armed). An item left behind finds its post carried and does
    nothing (it only wakes the database once)."""
    from shared.scheduling import dispatch

    _pass.__dict__.setdefault("disarmed", []).append((kind, ref))
    try:
        dispatch.disarm(kind, [ref])
    except Exception:
        log.warning("could not disarm %s %s", kind, ref, exc_info=True)


def disarmed() -> list[tuple[str, str]]:
    """The items this thread's last pass disarmed."""
    return list(_pass.__dict__.get("disarmed", []))


def reset_pass() -> None:
    _pass.refreshed, _pass.disarmed = set(), []


def carry_each(source: str, ref_key: str, ids: list[str], carry_one: Callable[[str], str | None]) -> dict[str, int]:
    """Each provider's loop: carry every post (`carry_one` -> None when handed over, else why not); one post's
    surprise leaves it on its delivery at the slot, says why in the activity log, and the others go on."""
    counts = {"carried": 0, "left": 0}
    for ref in ids:
        try:
            why = carry_one(ref)
        except Exception as exc:  # it stays planned and armed: its delivery at the slot publishes it
            log.exception("carrying %s post %s ahead failed", source, ref)
            carry_failed(source, {ref_key: ref}, exc)
            why = "error"
        counts["carried" if why is None else "left"] += 1
        if why is not None:
            log.info("%s post %s stays on its delivery: %s", source, ref, why)
    return counts


def carry_failed(source: str, meta: dict[str, Any], exc: Exception) -> None:
    """A carry that raised leaves its post on its delivery at the slot; the owner's activity log says why."""
    from shared import activity

    try:
        activity.log(source, "warn", f"could not pre-stage a post ({type(exc).__name__}: {str(exc)[:200]}); it "
                     "goes out at its time as usual", meta)
    except Exception:
        log.exception("could not record the failed carry")


def withdraw(pub_ids: list[str]) -> None:
    """Undo carries that were not handed over (the post changed meanwhile): cancel their stages and delete the
    publications (still planned, nothing was sent). Their slot is at least LEAD_SECONDS away, so no stage of
    theirs is being sent. Best effort: a stage left over is written back to `planned` and found by the delivery
    under the same key."""
    from shared.publishing.gateway import drop_planned
    from shared.publishing.staging.owner import unstage

    for pub_id in pub_ids:
        try:
            unstage(pub_id, run_message=False)
            drop_planned([pub_id])
        except Exception:
            log.warning("could not withdraw the carried publication %s", pub_id, exc_info=True)


class CarriedChanged(Conflict):
    """A carried post's publication moved on between `release` and the owner's transaction (a window staged it
    again, or it is being sent): the change is refused (409) and nothing was changed."""


def release(pub_ids: list[str], source: str, what: str, meta: dict[str, Any]) -> list[str]:
    """Before an owner's change to carried posts: cancel their stages (`owner.unstage`), so no stage of theirs
    can send any more. A stage being sent raises BeingPublished (409) after saying so in the activity log;
    the stages released before it are kept at their slot on the database path (`gateway.keep_at_slot`), the
    posts are unchanged. Returns the ids released."""
    from shared import activity
    from shared.publishing.staging.owner import BeingPublished, unstage

    done: list[str] = []
    for pub_id in pub_ids:
        try:
            unstage(pub_id, run_message=False)
        except BeingPublished as exc:
            keep_at_slot(done)
            _log_refusal(activity, source, what, meta, pub_id,
                         "it is being published right now" if type(exc) is BeingPublished
                         else "its pre-staged copy could not be confirmed cancelled")
            raise
        done.append(pub_id)
    return done


def drop(conn, pub_ids: list[str], source: str, what: str, meta: dict[str, Any]) -> set[str]:
    """Inside the owner's transaction, after `release`: delete the carried publications that are still
    planned. One that is staged or publishing again raises CarriedChanged (the transaction rolls back: the
    post stays as it was; the caller keeps the released ones at their slot). One that has already settled is
    left: the settle listener reports it. Returns the ids deleted."""
    from shared import activity
    from shared.publishing.gateway import drop_planned

    dropped = drop_planned(pub_ids, conn)
    rest = [p for p in pub_ids if p not in dropped]
    if rest:
        busy = conn.execute("SELECT id, state FROM publications WHERE id = ANY(%s::uuid[]) "
                            "AND state IN ('staged', 'publishing')", (rest,)).fetchall()
        if busy:
            _log_refusal(activity, source, what, meta, str(busy[0]["id"]),
                         f"its post is {busy[0]['state']} again")
            raise CarriedChanged("this post is being prepared or published right now; try again in a minute",
                                 details={"publicationId": str(busy[0]["id"])})
    return dropped


def keep_at_slot(pub_ids: list[str]) -> None:
    from shared.publishing.gateway import keep_at_slot as keep

    for pub_id in pub_ids:
        try:
            keep(pub_id)
        except Exception:  # the next window stages it again; the maintenance runs an overdue planned row
            log.warning("could not keep publication %s at its slot", pub_id, exc_info=True)


def _log_refusal(activity, source: str, what: str, meta: dict[str, Any], pub_id: str, why: str) -> None:
    try:  # its own connection: the caller's transaction rolls back
        activity.log(source, "warn", f"not changed ({what}): {why}; nothing was changed, try again in a minute",
                     {**meta, "publicationId": pub_id})
    except Exception:
        log.exception("could not record the refused change")
