"""Shared plumbing for the comment endpoints added to the platform fakes: a contract check on every request
(through comments_contract.VALIDATE), a route put in front of an existing one, ISO times."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

import httpx

from publishing_fakes import comments_contract


def checked(fake, kind: str, request: httpx.Request) -> httpx.Response | None:
    """Hold the request to the platform's description; a request it does not allow gets the platform's 400."""
    problems = comments_contract.VALIDATE(kind, request)
    if not problems:
        return None
    with fake.lock:
        fake.contract_problems.append((kind, problems))
    return fake.json({"error": {"message": "; ".join(problems), "code": 100, "type": "OAuthException"}}, 400)


def route_first(fake, method: str, pattern: str, name: str, fn: Callable) -> None:
    """Like Fake.route, but ahead of the routes already there (to look at a request before its old handler)."""
    fake.route(method, pattern, name, fn)
    fake.routes.insert(0, fake.routes.pop())


def handler(fake, name: str, method: str) -> Callable:
    return next(fn for m, _, n, fn in fake.routes if n == name and m == method)


def prepare(fake) -> None:
    if not hasattr(fake, "contract_problems"):
        fake.contract_problems = []


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
