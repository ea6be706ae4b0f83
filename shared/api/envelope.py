"""The `{success, data}` envelope the frontend's api client unwraps."""

from __future__ import annotations

from typing import Any


def ok(data: Any = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if meta:
        body["meta"] = meta
    return body
