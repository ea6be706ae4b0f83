"""Merging a device's copy of the compose workspace into the stored one (pure).

The frontend PUTs its whole list (`{items, lastModifiedAt}`); two tabs or devices may each hold an older copy.
The peer backend merged by item `updatedAt` (peer-backend.md, `/api/create`); we do the same and also decide
deletions, which a plain merge would undo:
- an item in both: the copy with the later `updatedAt` wins (a tie goes to the incoming copy: it is the owner's
  latest action);
- an item only in the incoming list: added;
- an item only in the store: the device deleted it if the server stored that item's current copy no later than
  the device's `lastModifiedAt` (the device's list reflects a moment after it), else another tab or device
  stored it after this device last saw the workspace, so it is kept. The comparison uses the server's own
  stamps (`stored_at`), never the `updatedAt` devices write into items: a tab's clock or a stale tab must not
  delete what another tab saved. When `lastModifiedAt` is the `updatedAt` the device last read from us, this is
  exact; when it is the device's own clock, a tab that never reloaded can still delete a draft another tab saved
  before that tab's last change (the contract carries no read version: docs/ARCHITECTURE.md);
Order follows the incoming list, then kept stored items in their stored order.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


class BadWorkspace(ValueError):
    """The body is not a workspace the merge can read."""


def instant(value: Any) -> datetime | None:
    """`updatedAt`/`lastModifiedAt` as the frontend writes them: an ISO-8601 string or epoch milliseconds."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(float(value) / 1000.0, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def item_id(item: Any, where: int) -> str:
    if not isinstance(item, dict):
        raise BadWorkspace(f"items[{where}] is not an object")
    value = item.get("id")
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise BadWorkspace(f"items[{where}] has no id")
    return str(value)


def merge(stored: list[dict[str, Any]], incoming: list[Any], last_modified_at: Any,
          stored_at: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], set[str]]:
    """(the merged list, the ids whose incoming copy was taken: the caller stamps them with the server's time)."""
    ids = [item_id(item, n) for n, item in enumerate(incoming)]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise BadWorkspace(f"items has the id {dup!r} twice")
    by_id = {item_id(item, n): item for n, item in enumerate(stored)}
    device_seen = instant(last_modified_at)
    stamps = stored_at or {}
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    for i, item in zip(ids, incoming, strict=True):
        kept = by_id.get(i)
        if kept is not None:
            theirs, ours = instant(item.get("updatedAt")), instant(kept.get("updatedAt"))
            if theirs is not None and ours is not None and ours > theirs:
                out.append(kept)
                continue
        out.append(item)
        taken.add(i)
    incoming_ids = set(ids)
    for i, item in by_id.items():
        if i in incoming_ids:
            continue
        # rows stored before stamps existed fall back to the item's own time
        changed = instant(stamps.get(i)) or instant(item.get("updatedAt"))
        deleted_by_device = device_seen is not None and changed is not None and changed <= device_seen
        if not deleted_by_device:
            out.append(item)
    return out, taken
