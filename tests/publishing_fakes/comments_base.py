"""Shared plumbing for the comment endpoints added to the platform fakes: a route put in front of an existing one,
ISO times. Every request to these routes is held to the platform's description by the fake's own `contract`
(tests/contracts: X OpenAPI, YouTube discovery, Meta node specs, Threads' documented endpoints)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone


def route_first(fake, method: str, pattern: str, name: str, fn: Callable) -> None:
    """Like Fake.route, but ahead of the routes already there (to look at a request before its old handler)."""
    fake.route(method, pattern, name, fn)
    fake.routes.insert(0, fake.routes.pop())


def handler(fake, name: str, method: str) -> Callable:
    return next(fn for m, _, n, fn in fake.routes if n == name and m == method)


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime, graph: bool = False) -> str:
    """RFC 3339 (X, YouTube, Threads) or Graph's `+0000` spelling."""
    s = dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return s + ("+0000" if graph else "Z")


def as_time(value: str | None) -> float | None:
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
