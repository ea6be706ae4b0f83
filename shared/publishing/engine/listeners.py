"""Settle listeners: a capability that publishes through the gateway learns the final state of its
publications, whichever worker settles them (the request itself, a delayed run after a rate limit or a
transient error, the processing check, the maintenance sweep).

`register(source, fn)`; `fn(source, source_ref, platform, publication)` is called after a publication of that
source reached published / failed / unconfirmed / dry_run and the row was committed. `publication` is the
row (`gateway.outcome_of` turns it into a PublishOutcome). A listener may be called more than once for one
publication (a late answer turning `unconfirmed` into `published`, or two settle paths racing): it must be
idempotent. A failing listener is logged and never breaks publishing.

`fn` may be a "module:function" string, resolved at the first call: registering costs no import.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("screndly.publishing.listeners")

Listener = Callable[[str, "str | None", str, dict[str, Any]], None]
_TERMINAL = ("published", "failed", "unconfirmed", "dry_run")
_listeners: dict[str, list[Listener | str]] = {}
# the package that registers a source's listeners, imported at that source's first settle: a worker that never
# touched the capability (a fresh function answering the processing check's QStash message) still tells it. The
# other sources reconcile what such a worker missed on their own schedules (tmdb, rss, comments).
_PACKAGES = {"compose": "shared.compose"}


def register(source: str, fn: Listener | str) -> None:
    """Idempotent: registering the same listener twice keeps one."""
    bucket = _listeners.setdefault(source, [])
    if fn not in bucket:
        bucket.append(fn)


def _resolve(fn: Listener | str) -> Listener:
    if callable(fn):
        return fn
    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)


def settled(row: dict[str, Any] | None) -> None:
    """Tell the publication's source about its final state. Call only after the state change is committed."""
    if not row or row.get("state") not in _TERMINAL:
        return
    source = str(row.get("source") or "")
    if source in _PACKAGES and source not in _listeners:
        try:
            importlib.import_module(_PACKAGES[source])
        except Exception:
            logger.exception("could not load the %s settle listeners", source)
    for fn in list(_listeners.get(source, ())):
        try:
            _resolve(fn)(source, row.get("source_ref"), str(row.get("platform")), row)
        except Exception as exc:
            logger.exception("settle listener %r failed for publication %s", fn, row.get("id"))
            try:
                from shared import activity

                activity.log("publishing", "error", f"a {source} listener failed on publication {row.get('id')}: "
                             f"{type(exc).__name__}", {"publicationId": str(row.get("id")), "source": source})
            except Exception:
                logger.exception("could not record the listener failure")
