"""Who carries posts ahead (staging/ahead.py): each capability registers its provider here from its package's
__init__, as it registers its settle listener. No imports: registering costs nothing at cold start.

`fn(horizon_seconds, lead_seconds) -> counts`, given as "module:function" and imported at the first window."""

from __future__ import annotations

providers: dict[str, str] = {}


def register(name: str, fn: str) -> None:
    providers[name] = fn
