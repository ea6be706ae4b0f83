"""The activity trail every capability writes to: `log` (GET /api/logs) and `notify` (GET /api/notifications).

Both accept an open connection so a step can record what it did inside its own transaction; without one they
use a pooled connection. Metadata is scrubbed of anything that looks like a secret before it is stored.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from shared.db import connection
from shared.db.rows import one

Level = Literal["debug", "info", "warn", "error"]
NotificationType = Literal["success", "error", "info", "warning"]

_SECRET_KEY = re.compile(r"(token|secret|password|api[_-]?key|authorization|signature|credential)", re.I)


def storable(text: str) -> str:
    """The trail records text from anywhere (file names, feed titles, exception messages): drop what Postgres
    cannot hold (NUL) or UTF-8 cannot encode (lone surrogates) rather than lose the whole entry."""
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {storable(str(k)): ("[redacted]" if _SECRET_KEY.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return storable(value)
    return value


def log(service: str, level: Level, message: str, metadata: dict[str, Any] | None = None, *, conn=None) -> None:
    from psycopg.types.json import Jsonb

    sql = "INSERT INTO activity_logs (service, level, message, metadata) VALUES (%s, %s, %s, %s)"
    params = (service, level, storable(message[:4000]), Jsonb(scrub(metadata)) if metadata is not None else None)
    if conn is not None:
        conn.execute(sql, params)
        return
    with connection() as c:
        c.execute(sql, params)


def normalise_source(source: str | None) -> str:
    """The frontend sends `video_studio` in places and shows `videostudio`: store one spelling."""
    s = (source or "system").strip().lower() or "system"
    return "videostudio" if s == "video_studio" else s


def notify(type: NotificationType, title: str, message: str = "", *, source: str = "system",
           action_page: str | None = None, conn=None) -> str:
    sql = ("INSERT INTO notifications (type, title, message, source, action_page) "
           "VALUES (%s, %s, %s, %s, %s) RETURNING id")
    params = (type, storable(title[:300]), storable(message[:4000]), normalise_source(source), action_page)
    if conn is not None:
        return str(one(conn.execute(sql, params).fetchone())["id"])
    with connection() as c:
        return str(one(c.execute(sql, params).fetchone())["id"])
