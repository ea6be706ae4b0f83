"""What the Create page's state routes do: read the workspace, merge a device's copy into it."""

from __future__ import annotations

from typing import Any

from shared.compose import store
from shared.compose.merge import BadWorkspace
from shared.errors import ValidationFailed

MAX_ITEMS = 1000  # a workspace is a few dozen drafts; the cap bounds one row and one merge


def workspace() -> dict[str, Any]:
    return store.read()


def save_workspace(items: list[Any], last_modified_at: Any) -> dict[str, Any]:
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(f"a workspace holds at most {MAX_ITEMS} items", details={"items": len(items)})
    try:
        return store.save(items, last_modified_at)
    except BadWorkspace as exc:
        raise ValidationFailed(str(exc), details={"field": "items"}) from exc
