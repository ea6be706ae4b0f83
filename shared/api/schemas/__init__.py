"""Response models for /openapi.json: what each route answers, written as pydantic models.

They document; they do not filter. Routes return plain dicts (or pre-rendered JSON on the polled endpoints), and
FastAPI's `response_model` would validate and re-serialise every answer (a per-request cost on the 3 s and 30 s
polls, and a 500 instead of an answer on any drift). So the models live here, one module per router group, and are
imported only when /openapi.json is built (shared/api/openapi.py): defining ~150 model classes costs ~100 ms, which
a cold start must not pay. Their truth is held by tests instead: schemathesis checks every generated answer
against them (tests/test_api_fuzz.py), and the frontend contract walk validates real answers with every object
closed, so an undocumented field fails too (tests/test_frontend_contract_walk.py).

Each module exports `RESPONSES`: "METHOD /path" (the route's own path template) -> the model of its success body.
"""

from __future__ import annotations

import importlib
from typing import Any

MODULES = ("system", "media", "rss", "channels", "tmdb", "platforms", "comments", "dashboard", "compose")


def responses() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in MODULES:
        table = importlib.import_module(f"shared.api.schemas.{name}").RESPONSES
        clash = set(out) & set(table)
        if clash:
            raise ValueError(f"response models declared twice: {sorted(clash)}")
        out.update(table)
    return out
