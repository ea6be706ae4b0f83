"""Read and write the flat settings store (table `settings`), merging stored values over defaults.

Secrets are stored as {"$enc": <secretbox blob>} with the key as associated data, so a blob copied to another
key does not decrypt.
"""

from __future__ import annotations

from typing import Any, Iterable

from shared.db import connection
from shared.settings.inventory import DEFAULTS, SECRET_KEYS


def _decode(key: str, value: Any) -> Any:
    if key in SECRET_KEYS and isinstance(value, dict) and "$enc" in value:
        from shared.security.secretbox import get_secretbox

        return get_secretbox().decrypt(value["$enc"], aad=f"setting:{key}")
    return value


def read_settings(keys: Iterable[str] | None = None, *, conn=None) -> dict[str, Any]:
    """Effective values (stored over defaults) with secrets decrypted: for server-side use only."""
    wanted = list(keys) if keys is not None else None

    def _query(c) -> dict[str, Any]:
        if wanted is None:
            rows = c.execute("SELECT key, value FROM settings").fetchall()
        else:
            rows = c.execute("SELECT key, value FROM settings WHERE key = ANY(%s)", (wanted,)).fetchall()
        return {r["key"]: _decode(r["key"], r["value"]) for r in rows}

    if conn is not None:
        stored = _query(conn)
    else:
        with connection() as c:
            stored = _query(c)
    base = {k: DEFAULTS.get(k) for k in wanted} if wanted is not None else dict(DEFAULTS)
    base.update(stored)
    return base


def read_setting(key: str, default: Any = None, *, conn=None) -> Any:
    value = read_settings([key], conn=conn).get(key)
    return default if value is None else value
