"""FastAPI asks "is this a pydantic.v1 model?" of every parameter and body type when it builds a route, and to
answer imports `pydantic.v1`, a second copy of pydantic that nothing here uses: ~20 ms of CPU (100+ ms on a busy
machine) on the first request of every cold instance.

The answer needs no import: a class can only be a pydantic.v1 model if `pydantic.v1` has been imported, so while
it is absent from `sys.modules` the answer is "no", and once something imports it the original check runs.
Same answers, no import. Installed once by create_app; a FastAPI release that renames these functions only
loses the shortcut (tests/test_lazy_routers.py notices).
"""

from __future__ import annotations

import sys
from typing import Any

_installed = False


def skip_pydantic_v1_probe() -> bool:
    """Make FastAPI's pydantic.v1 checks free while pydantic.v1 is not loaded. True if installed."""
    global _installed
    if _installed:
        return True
    try:
        import fastapi._compat as compat
        from fastapi import encoders
        from fastapi._compat import shared
    except ImportError:  # pragma: no cover - a FastAPI without the compat layer needs nothing
        return False
    original_class = getattr(shared, "is_pydantic_v1_model_class", None)
    original_instance = getattr(shared, "is_pydantic_v1_model_instance", None)
    if original_class is None or original_instance is None:
        return False

    def is_pydantic_v1_model_class(cls: Any) -> bool:
        return "pydantic.v1" in sys.modules and original_class(cls)

    def is_pydantic_v1_model_instance(obj: Any) -> bool:
        return "pydantic.v1" in sys.modules and original_instance(obj)

    # annotation_is_pydantic_v1 looks the class check up in its module; jsonable_encoder imported the other
    shared.is_pydantic_v1_model_class = is_pydantic_v1_model_class
    shared.is_pydantic_v1_model_instance = is_pydantic_v1_model_instance
    for module in (compat, encoders):
        if getattr(module, "is_pydantic_v1_model_instance", None) is original_instance:
            setattr(module, "is_pydantic_v1_model_instance", is_pydantic_v1_model_instance)  # noqa: B010
    _installed = True
    return True


def import_fastapi_deferring_its_models() -> None:
    """Import FastAPI with pydantic's `defer_build` on for the models FastAPI defines at import (the OpenAPI
    document's ~40 models: Contact, License, Server, Tag, ...): their validators are then built the first time
    /openapi.json needs them instead of on every cold start (~10-15 % of `import fastapi`). The setting is
    removed from pydantic's base config right after, so models defined later (ours) build as before. Does
    nothing if FastAPI is already imported. Same schema, same validation: tests/test_lazy_routers.py compares the
    entry's /openapi.json and error answers with an app built in a process that imported FastAPI normally."""
    if "fastapi" in sys.modules:
        return
    from pydantic import BaseModel

    config = BaseModel.model_config
    had = "defer_build" in config
    previous = config.get("defer_build")
    config["defer_build"] = True
    try:
        import fastapi  # noqa: F401
    finally:
        if had:
            config["defer_build"] = previous  # type: ignore[typeddict-item]
        else:
            config.pop("defer_build", None)
