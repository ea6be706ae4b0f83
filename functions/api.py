"""Vercel Python function: the Screndly API (every router group) as one ASGI app.

vercel.json routes /api/*, /health, /docs and /openapi.json here. The module is kept lean: FastAPI and the app's
middleware only. Each router module is imported by the first request under its path prefix
(shared/api/lazy_routers.py); psycopg, upstash-redis, argon2, boto3 and qstash by the first request that needs
them; PyJWT only by a login (bench/imports.py measures the import and the first request). FastAPI's own OpenAPI
models are built when /openapi.json is first asked for, not at import (shared/api/fastapi_compat.py). A missing
production variable fails the import with a message naming it, so a misconfigured deploy never serves traffic.

The cyclic garbage collector is paused while the app is built: importing FastAPI and building the routes
creates tens of thousands of objects that all live as long as the process, and the collections their creation
triggers cost ~50-80 ms of a cold start for nothing. `gc.freeze()` then moves them out of future collections,
which also shortens GC pauses during requests.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

gc.disable()
try:
    _ROOT = str(Path(__file__).resolve().parents[1])
    if _ROOT not in sys.path:  # Vercel runs the file from the bundle root, but be explicit about it
        sys.path.insert(0, _ROOT)

    from shared.api.fastapi_compat import import_fastapi_deferring_its_models

    import_fastapi_deferring_its_models()
    from shared.api.app import create_app

    app = create_app()
finally:
    gc.freeze()
    gc.enable()
