"""One reader per platform: new comments on our recent posts since the last poll (I/O).

`read(ctx)` returns what it found and leaves `ctx.exhausted` set when the read budget ran out before every post
was read (the poll then keeps its `since`, so the next poll reads those posts again).
"""

from __future__ import annotations

import importlib

from shared.comments.fetch.base import Fetched, ReadContext

_MODULES = {p: f"shared.comments.fetch.{p}" for p in ("x", "threads", "facebook", "instagram", "youtube")}


def read(ctx: ReadContext) -> list[Fetched]:
    return importlib.import_module(_MODULES[ctx.platform]).read(ctx)
