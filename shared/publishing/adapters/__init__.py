"""One module per platform behind one interface (`base.Adapter`). `get_adapter(family)` picks it lazily."""

from __future__ import annotations

import importlib

from shared.publishing.adapters.base import Adapter

_MODULES = {f: f"shared.publishing.adapters.{f}" for f in
            ("x", "threads", "facebook", "instagram", "tiktok", "youtube", "pinterest")}

# Targets of a family with an adapter of their own (the family's connection, another request sequence):
# comment replies (shared/comments/replies). Picked by `ctx.target` when the adapter is called.
TARGET_MODULES = {f"{f}_comment_reply": f"shared.comments.replies.{f}" for f in
                  ("x", "threads", "facebook", "instagram", "youtube")}


class _ByTarget:
    """The family's adapter, unless the publication's target has its own: every method called with a context
    (`publish`, `lookup`, ...) goes to the adapter of `ctx.target`. A target adapter missing a method fails loudly
    rather than letting the family's adapter answer for it."""

    def __init__(self, base: Adapter):
        self.base = base
        self.family = base.family

    def _pick(self, ctx) -> Adapter:
        module = TARGET_MODULES.get(getattr(ctx, "target", "") or "")
        return importlib.import_module(module).ADAPTER if module else self.base

    def __getattr__(self, name):
        attr = getattr(self.base, name)
        if not callable(attr):
            return attr

        def call(*args, **kw):
            ctx = kw.get("ctx") or next((a for a in args if hasattr(a, "target")), None)
            return getattr(self._pick(ctx), name)(*args, **kw)
        return call


def get_adapter(family: str) -> Adapter:
    return _ByTarget(importlib.import_module(_MODULES[family]).ADAPTER)
