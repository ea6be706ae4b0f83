"""Scheduled Create (compose) posts go out when the browser is closed: a server-side fallback to the client's own
scheduler, on the dispatcher (shared/scheduling/dispatch.py).

The Create page publishes its scheduled items itself while it is open (ComposeScheduler.tsx: every 30 s, an item
`scheduled`, due, without a live `publishLockExpiresAt`; it saves a 10-minute lock, publishes one platform per
request through POST /api/platforms/post, then writes the result into the item). This module does the same for an
item nobody published, a grace period after its time:

- `compose.publish|<itemId>` is armed at `scheduledAt + GRACE_SECONDS` whenever a PUT /api/create/state changes
  an item's status or scheduledAt (`schedule_changed`: the request has the database awake anyway), moved when it
  is rescheduled, dropped when it is unscheduled or deleted. Nothing scheduled: no item, no wake-up, no Redis
  command. A post for tomorrow costs nothing until then (the hourly safety net arms its wake-up).
- `sweep` re-arms every scheduled item the dispatcher does not hold (Redis lost its data, an arm failed), called
  by the usage housekeeping window (at least every 6 h, in a window open anyway): no wake-up or item of its own.
- At its time (`publish_due`), under the workspace's row lock, the item is read again. It acts only if the item is
  `scheduled`, due by the scheduledAt it has now (a later one: re-armed there), and not locked by a client (a live
  lock: looked at again when the lock expires). It validates as composeValidation.ts does (invalid: `failed` with
  that message), writes the lock, `lastPublishAttemptAt` and a server `updatedAt`, and COMMITS before publishing:
  an open client sees the lock on its next pull, and a device's older copy loses to it in the merge.
- It publishes each platform in turn through the path /api/platforms/post takes (api_service.publish_now), with
  the body composePublish.ts sends (shared/compose/rules.py): the idempotency key is the one a client firing at the
  same moment gets, so the gateway answers the second request with the first's publication, never a second post.
- It writes the result back under the lock as ComposeScheduler.tsx does (status, scheduledAt cleared on success,
  publishRetryCount, error, the lock removed, updatedAt = server now) unless the item was rescheduled or changed
  status meanwhile, and records an activity entry and a notification. An unconfirmed result is `failed` with
  "check whether it posted before retrying": nothing is re-sent by the server. A platform still settling then
  (processing, unconfirmed) has its final answer written into the item when the engine settles it
  (shared/compose/late.py).

GRACE_SECONDS = 90: an open client fires within 30 s of the slot (its interval) and saves its lock ~0.5 s later
(ComposeSync.tsx's debounce) plus a round trip; a tab in the background has its timers throttled by the browser
to about one run a minute, so it fires within ~60 s. 90 s lets both land first with a margin for a slow network,
and costs a closed-browser post 1.5 minutes. The grace saves work, it is not what prevents a double post: the
shared idempotency key does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from shared import clock
from shared.compose import rules
from shared.scheduling.dispatch import Kind, Tick, register

log = logging.getLogger("screndly.compose.scheduler")

KIND = "compose.publish"
GRACE_SECONDS = 90.0
LOCK = timedelta(minutes=10)  # ComposeScheduler.tsx PUBLISH_LOCK_MS
LOCK_SLACK = 5.0  # looked at again this long after a client's lock expires
MAX_REF = 200  # an item id longer than this is not armed (the member is a Redis key's content)

register(Kind(KIND, "shared.compose.scheduler:publish_due", needs_db=True, order=36))


def due_at(item: dict[str, Any]) -> float | None:
    """When the fallback looks at a scheduled item: its slot plus the grace, or after a client's live lock."""
    if item.get("status") != "scheduled":
        return None
    at = rules.parse_instant(item.get("scheduledAt"))
    if at is None:
        return None
    when = at.timestamp() + GRACE_SECONDS
    lock = rules.parse_instant(item.get("publishLockExpiresAt"))
    if lock is not None and lock.timestamp() + LOCK_SLACK > when:
        when = lock.timestamp() + LOCK_SLACK
    return when


def _ref_ok(ref: str) -> bool:
    return 0 < len(ref) <= MAX_REF


def schedule_changed(changed: dict[str, Any]) -> None:
    """After a save committed: arm, move or drop the items whose status or scheduledAt it changed (id -> (before,
    after) as (status, scheduledAt), None: absent). Drafts coming and going cost nothing. Redis being unreachable
    is logged, not raised (the save stands; the next sweep arms them)."""
    from shared.scheduling import dispatch

    arms, drops = [], []
    for ref, (before, after) in changed.items():
        if not _ref_ok(ref):
            continue
        at = due_at({"status": after[0], "scheduledAt": after[1]}) if after is not None else None
        if at is not None:
            # the device saving it is open: an overdue slot is its to fire first (within 30 s), so the grace runs
            # from now, not from a slot already past
            arms.append((KIND, ref, max(at, clock.time() + GRACE_SECONDS)))
        elif before is not None and before[0] == "scheduled":  # it was armed (or could have been)
            drops.append(ref)
    if not arms and not drops:
        return
    try:
        if drops:
            dispatch.disarm(KIND, drops)
        if arms:
            dispatch.arm(arms)
    except Exception:
        log.warning("could not arm %d scheduled compose item(s)", len(arms) + len(drops), exc_info=True)


def sweep(t: Tick) -> None:
    """The safety net, run by the usage housekeeping window (shared/usage/housekeeping.py, at least every 6 h):
    arm the scheduled items the dispatcher does not hold, and settle the items' platforms whose late answer a
    lost listener call missed (late.reconcile). Two SELECTs; a Redis read only when something is scheduled."""
    from shared.compose import late, store
    from shared.scheduling import dispatch

    try:
        settled = late.reconcile()
    except Exception:  # the re-arming below matters more; the next window tries again
        log.exception("could not reconcile the compose items' late results")
        settled = 0
    if settled:
        t.count("compose.late_settled", settled)
    wanted = {str(i.get("id")): due_at(i) for i in store.all_items()}
    wanted = {ref: at for ref, at in wanted.items() if at is not None and _ref_ok(ref)}
    if not wanted:
        return
    held = {dispatch.split(m)[1] for m in dispatch.pending(KIND)}
    for ref, at in wanted.items():
        if at is not None and ref not in held:
            t.arm(KIND, ref, at)
            t.count("compose.rearmed")


# --- the run -------------------------------------------------------------------------------------------------
def publish_due(t: Tick, refs: list[str]) -> None:
    for ref in refs:
        try:
            decision = _run_one(ref)
        except Exception:  # one item's surprise never holds the others; its lock (if written) makes a rerun wait
            log.exception("scheduled compose item %s failed", ref)
            t.count("compose.errors")
            t.arm(KIND, ref, clock.time() + LOCK.total_seconds() + LOCK_SLACK)
            continue
        t.count(f"compose.{decision[0]}")
        if decision[1] is not None:
            t.arm(KIND, ref, decision[1])


def _now() -> datetime:
    return clock.now()


def _run_one(ref: str) -> tuple[str, float | None]:
    """(what happened, when to look again or None)."""
    from shared.compose import late, store

    start = _now()
    seen: dict[str, Any] = {}

    def claim(item: dict[str, Any] | None) -> dict[str, Any] | None:
        if item is None or item.get("status") != "scheduled":
            seen["why"] = "stale"  # deleted, published, failed or unscheduled since it was armed
            return None
        at = due_at(item)
        if at is None or at > start.timestamp() + 1:
            seen["why"], seen["again"] = ("later", at) if at is not None else ("stale", None)
            return None  # moved later (or locked by a client): looked at again then, never early
        held = rules.normalize(item)
        problem = rules.validation_error(held)
        stamp = rules.iso_ms(_now())
        if problem:
            seen["why"], seen["error"], seen["item"] = "invalid", problem, item
            out = {**item, "status": "failed", "updatedAt": stamp, "lastPublishAttemptAt": stamp,
                   "publishRetryCount": rules.retry_count(item) + 1, "error": problem}
            out.pop("publishLockExpiresAt", None)
            return out
        seen["why"], seen["held"], seen["started"] = "claimed", held, stamp
        out = {**item, "publishLockExpiresAt": rules.iso_ms(_now() + LOCK), "lastPublishAttemptAt": stamp,
               "updatedAt": stamp}
        out.pop("error", None)
        return out

    store.update_item(ref, claim)  # committed: an open client sees the lock on its next pull
    why = seen.get("why", "stale")
    if why == "invalid":
        _record_failure(seen["item"], seen["error"], invalid=True)
        return why, None
    if why != "claimed":
        return why, seen.get("again")
    held: dict[str, Any] = seen["held"]
    outcome = _publish(held)
    wrote: dict[str, Any] = {}

    def settle(conn, item: dict[str, Any] | None) -> dict[str, Any] | None:
        # ComposeScheduler.tsx: a result is written only onto the item it was published for
        if item is None or item.get("status") != "scheduled" or item.get("scheduledAt") != held.get("scheduledAt"):
            return None
        out = rules.with_late_result(item, outcome)  # status, scheduledAt, error, retry count 0 on success
        out.update(updatedAt=rules.iso_ms(_now()), lastPublishAttemptAt=seen["started"])
        if outcome.status == "failed":  # this attempt failed: one more (a late answer keeps the count)
            out["publishRetryCount"] = rules.retry_count(item) + 1
        out.pop("publishLockExpiresAt", None)
        wrote["item"] = out
        late.remember(conn, out, outcome)  # platforms still settling: their answer is written in later
        return out

    store.update_item_in(ref, settle)
    _record(held, outcome, written="item" in wrote)
    if "item" in wrote:
        try:  # a pending platform that settled before this write committed: its listener call found no record
            late.catch_up(outcome.pending)
        except Exception:
            log.exception("could not catch up on the settled platforms of compose item %s", ref)
    return outcome.status, None


def _publish(item: dict[str, Any]) -> rules.Outcome:
    """composePublish.ts: one request per platform, in order, each with the body the client would send."""
    from shared.errors import AppError
    from shared.publishing.api_service import publish_now

    out = rules.Outcome()
    for platform in item["platforms"]:
        name = rules.PLATFORM_NAMES[platform]
        try:
            res = publish_now([name], rules.content_for(item, platform), None)
        except AppError as exc:  # the route would answer an error: the client records its message
            rules.add_entry(out, rules.entry_without_publication(rules.PLATFORM_LABELS[platform],
                                                                 exc.message or "Failed to publish post"))
            continue
        except Exception:  # may or may not have reached the platform: never sent again by us
            log.exception("publishing compose item %s to %s failed", item.get("id"), name)
            rules.add_entry(out, rules.entry_without_publication(rules.PLATFORM_LABELS[platform], rules.INTERRUPTED,
                                                                 unconfirmed=True))
            continue
        rules.add_results(out, list(res.get("results") or []))
    return out


def _record(item: dict[str, Any], outcome: rules.Outcome, *, written: bool) -> None:
    from shared import activity

    label = rules.describe(item)
    meta = {"itemId": str(item.get("id")), "scheduledAt": item.get("scheduledAt"), "posted": outcome.posted,
            "failed": [{"platform": p, "error": e} for p, e in outcome.failed],
            "unconfirmed": outcome.unconfirmed, "written": written, "by": "server"}
    try:
        if not written:  # rescheduled, published or failed by a device meanwhile: its own result stands
            activity.log("compose", "info", f"scheduled post {outcome.status} by the server: {label[:120]}; the item "
                         "had changed meanwhile, so its own state was kept", meta)
            return
        if outcome.status == "published":
            activity.log("compose", "info" if not outcome.failed else "warn",
                         f"scheduled post published by the server: {label[:120]} on {', '.join(outcome.posted)}"
                         + (f" ({outcome.error or ''})" if outcome.failed else ""), meta)
            if outcome.failed:
                activity.notify("warning", f"Post partially published: {label[:80]}",
                                f"Posted to {', '.join(outcome.posted)}. Not posted: "
                                + "; ".join(f"{p}: {e}" for p, e in outcome.failed),
                                source="create_studio", action_page="/create")
            else:
                activity.notify("success", f"Post published: {label[:80]}",
                                f"Posted to {', '.join(outcome.posted)} while the app was closed.",
                                source="create_studio", action_page="/create")
            return
        _record_failure(item, outcome.error or "no platform posted", invalid=False, meta=meta)
    except Exception:  # the item carries the result; the trail is best effort
        log.exception("could not record the compose result of %s", item.get("id"))


def _record_failure(item: dict[str, Any], error: str, *, invalid: bool, meta: dict | None = None) -> None:
    from shared import activity

    label = rules.describe(rules.normalize(item) if invalid else item)
    activity.log("compose", "error", f"scheduled post failed: {label[:120]} ({error[:500]})",
                 meta or {"itemId": str(item.get("id")), "scheduledAt": item.get("scheduledAt"), "error": error,
                          "by": "server", "validation": invalid})
    activity.notify("error", f"Post publish failed: {label[:80]}", error, source="create_studio",
                    action_page="/create")
