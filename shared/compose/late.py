"""A scheduled Create post's platforms that settle after the server wrote the item's result.

The server's fallback (scheduler.py) writes an item's result once every platform answered. A platform that took
the video and is still processing it (Instagram and Threads containers, YouTube, TikTok), one the engine sends
later (a rate limit) and one it could not confirm are then recorded `failed` with a text saying so
(rules.PROCESSING, the gateway's "check your account"). The engine settles those publications later (the
processing check, the maintenance sweep, the unconfirmed re-checks) and calls its settle listeners; this one
writes the platform's answer into the item:

- `remember`, in the scheduler's own write: the item's per-platform entries, the publications still pending and
  the item's `updatedAt` as written go to `compose_settling` (one row per item), under the workspace's row lock.
- `on_publication_settled` (the listener, source "compose"): an indexed read finds the items waiting on the
  publication (none for a client's own publish: nothing else is read). Under the row lock the entry is replaced;
  any platform posted: the item becomes `published` as the first answer would have made it (scheduledAt removed,
  retry count 0, no error); none: `failed` with the real errors (the retry count stays: same attempt). The write is
  stamped like every server write (`updatedAt` after the one it replaces, stored_at), then an activity line, and
  for a platform that posted after all one notification. The pending entry is gone with it: a repeated call
  (two settle paths, a re-check) finds nothing to do, so nothing is written or told twice.
- A newer edit wins: an item whose `updatedAt` is not the one the server wrote (the owner re-scheduled, edited or
  deleted it) is left as it is, its record dropped; a post that went out after all is still told.
- `catch_up`: a publication that settled between the publish and the scheduler's write had its listener call find
  no record; the scheduler looks once after its write committed. `reconcile` (the scheduler's sweep, at least
  every 6 h) settles what a lost listener call missed and forgets records nothing moved for FORGET_AFTER_DAYS.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from shared import clock
from shared.compose import rules, store

log = logging.getLogger("screndly.compose.late")

SOURCE = "compose"  # what /api/platforms/post's publications carry (shared/publishing/api_service.py)
FORGET_AFTER_DAYS = 14  # the engine re-checks an unconfirmed post for about a week (outcomes.MAX_RECHECKS)


def remember(conn, item: dict[str, Any], outcome: rules.Outcome) -> None:
    """In the transaction that wrote the item's result: what it still waits on (nothing: no record)."""
    store.keep_settling(conn, str(item.get("id")), str(item.get("updatedAt")), outcome.entries, outcome.pending)


def catch_up(publication_ids: list[str]) -> int:
    """After the scheduler's write committed: settle the pending publications that ended before it."""
    if not publication_ids:
        return 0
    from shared.db import connection

    with connection() as conn:
        rows = conn.execute("SELECT * FROM publications WHERE id = ANY(%s::uuid[]) AND state IN ('published', "
                            "'failed', 'unconfirmed', 'dry_run')", (publication_ids,)).fetchall()
    for row in rows:
        on_publication_settled(SOURCE, None, str(row["platform"]), row)
    return len(rows)


def reconcile() -> int:
    """The safety net for a listener call that never came (a crash between the engine's commit and the call)."""
    rows = store.settling_publications(FORGET_AFTER_DAYS)
    for row in rows:
        on_publication_settled(SOURCE, None, str(row["platform"]), row)
    return len(rows)


def on_publication_settled(source: str, source_ref: str | None, platform: str, publication: dict) -> None:
    """The engine's settle listener (registered in shared/compose/__init__.py)."""
    if source != SOURCE or not publication.get("id"):
        return
    pub_id = str(publication["id"])
    for item_id in store.settling_items(pub_id):
        _settle(item_id, pub_id, publication)


def _stamp_after(previous: Any) -> str:
    """The server's now, but never at or before the stamp it replaces: a device holding the previous copy must
    lose the merge to this one."""
    now = clock.now()
    before = rules.parse_instant(previous)
    if before is not None and now <= before:
        now = before + timedelta(milliseconds=1)
    return rules.iso_ms(now)


def _settle(item_id: str, pub_id: str, publication: dict) -> None:
    from shared.publishing.api_service import result_of

    result = result_of(publication, "", "settled")  # the entry keeps its own platform name

    def change(conn, item: dict[str, Any] | None) -> dict[str, Any] | None:
        rec = store.settling_of(conn, item_id)
        if rec is None or pub_id not in {str(p) for p in rec["pending"]}:
            return None  # settled by an earlier call
        late = rules.settle_late(list(rec["entries"]), pub_id, result)
        if late is None:
            return None  # the same answer again
        entries, old, new = late
        outcome = rules.outcome_of(entries)
        if item is None or item.get("updatedAt") != rec["stamp"]:
            # deleted, or changed by the owner since the server wrote it: their change wins, nothing to wait for
            store.keep_settling(conn, item_id, rec["stamp"], entries, [])
            _record(conn, item_id, item, old, new, outcome, written=False)
            return None
        after = rules.with_late_result(item, outcome)
        if after == item:  # e.g. already published by another platform: the item reads the same, no write
            store.keep_settling(conn, item_id, rec["stamp"], entries, outcome.pending)
            _record(conn, item_id, item, old, new, outcome, written=False, kept=True)
            return None
        after["updatedAt"] = _stamp_after(item.get("updatedAt"))
        store.keep_settling(conn, item_id, after["updatedAt"], entries, outcome.pending)
        _record(conn, item_id, after, old, new, outcome, written=True)
        return after

    store.update_item_in(item_id, change)


def _record(conn, item_id: str, item: dict[str, Any] | None, old: dict[str, Any], new: dict[str, Any],
            outcome: rules.Outcome, *, written: bool, kept: bool = False) -> None:
    """One activity line per change; a notification for a platform that posted after all (and for a processing
    one that failed: the owner was told it would complete). In the write's transaction: exactly once."""
    from shared import activity

    label = rules.describe(item) if item else f"item {item_id}"
    platform = str(new["platform"])
    was = "unconfirmed" if old["unconfirmed"] else "still processing"
    meta = {"itemId": item_id, "platform": platform, "publicationId": new.get("publicationId"), "was": was,
            "posted": new["posted"], "error": new.get("error"), "itemStatus": outcome.status, "written": written,
            "by": "server"}
    # kept: the item already read right (published by another platform); else not written: changed or deleted
    note = "" if written or kept else "; the item had been changed since, so it was left as it is"
    if item is None:
        note = "; the item was deleted"
    if new["posted"]:
        activity.log("compose", "info", f"scheduled post went out on {platform} after all (it was {was}): "
                     f"{label[:120]}{note}", meta, conn=conn)
        activity.notify("success", f"Posted after all: {label[:80]}",
                        f"{platform} published the post it was {was} on when the result was recorded{note}.",
                        source="create_studio", action_page="/create", conn=conn)
    elif new["unconfirmed"]:
        activity.log("compose", "warn", f"scheduled post on {platform} is unconfirmed (it was {was}): {label[:120]} "
                     f"({str(new.get('error'))[:300]}){note}", meta, conn=conn)
    else:
        activity.log("compose", "error", f"scheduled post not posted on {platform} (it was {was}): {label[:120]} "
                     f"({str(new.get('error'))[:300]}){note}", meta, conn=conn)
        if not old["unconfirmed"]:
            activity.notify("error", f"Post failed on {platform}: {label[:80]}", str(new.get("error")),
                            source="create_studio", action_page="/create", conn=conn)
