"""Router modules imported on the first request under their path prefix, not when the function starts.

A cold start used to import and build every router (~75 routes, their pydantic models and services) before it
could answer anything, although an instance woken by the 30 s notifications poll only ever needs one of them.
Now the app starts with none: `LoadRoutersFor` (the innermost middleware, so a refused request loads nothing
and an import error is answered in the envelope) includes the modules whose prefixes cover the request's path,
and anything that enumerates the app's routes (`app.routes`: the OpenAPI schema behind /docs and
/openapi.json, the 405 `Allow` header, tests) gets every module first, so nothing sees a partial app.

Correctness rests on two facts that tests/test_lazy_routers.py checks for every route, including routes added
later: each route's path lies under one of its own module's prefixes (so the module is loaded before the router
looks for it), and no concrete path is served by routes of two modules (so the order modules happen to be
loaded in cannot change which route answers).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path  # what Starlette's router matches (starlette is pinned)


def covers(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class LazyRouters:
    def __init__(self, app: FastAPI, prefixes: dict[str, tuple[str, ...]]):
        self.app = app
        self.prefixes = prefixes  # router module -> the path prefixes its routes live under
        self.loaded: set[str] = set()
        self._lock = threading.RLock()
        self._by_path: dict[str, list[str]] = {}

    def modules_for(self, path: str) -> list[str]:
        return [m for m, ps in self.prefixes.items() if any(covers(p, path) for p in ps)]

    def _modules_for_cached(self, path: str) -> list[str]:
        # the polls ask for the same few paths all day: remember them (bounded: paths carry ids)
        hit = self._by_path.get(path)
        if hit is None:
            if len(self._by_path) >= 512:
                self._by_path.clear()
            hit = self._by_path[path] = self.modules_for(path)
        return hit

    def load(self, modules: list[str]) -> None:
        if self.loaded.issuperset(modules):
            return
        with self._lock:
            for module in modules:
                if module not in self.loaded:
                    self.app.include_router(importlib.import_module(module).router)
                    self.loaded.add(module)

    def load_for(self, path: str) -> None:
        self.load(self._modules_for_cached(path))

    def load_all(self) -> None:
        self.load(list(self.prefixes))


class LazyFastAPI(FastAPI):
    """FastAPI whose `routes` (what the OpenAPI schema and route enumeration read) include every router module;
    request routing reads `router.routes` directly and sees the modules loaded so far."""

    lazy_routers: LazyRouters | None = None

    @property
    def routes(self) -> list[Any]:
        if self.lazy_routers is not None:
            self.lazy_routers.load_all()
        return self.router.routes


class LoadRoutersFor:
    """ASGI middleware: before routing, load the router modules the request's path needs."""

    def __init__(self, app: Any, lazy: LazyRouters):
        self.app = app
        self.lazy = lazy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            # what the router matches (a mount point stripped at a segment boundary), as the bearer gate reads it
            self.lazy.load_for(get_route_path(scope))
        await self.app(scope, receive, send)
