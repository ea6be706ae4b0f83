"""One module per platform behind one interface (`base.Adapter`). `get_adapter(family)` picks it lazily."""

from __future__ import annotations

import importlib

from shared.publishing.adapters.base import Adapter

_MODULES = {f: f"shared.publishing.adapters.{f}" for f in
            ("x", "threads", "facebook", "instagram", "tiktok", "youtube", "pinterest")}


def get_adapter(family: str) -> Adapter:
    return importlib.import_module(_MODULES[family]).ADAPTER
