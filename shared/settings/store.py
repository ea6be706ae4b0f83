"""Read and write the flat settings store (table `settings`), merging stored values over defaults.

Secrets are stored as {"$enc": <secretbox blob>} with the key as associated data, so a blob copied to another
key does not decrypt.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from shared.db import connection
from shared.settings.inventory import DEFAULTS, SECRET_KEYS


def _aad(key: str) -> str:
    return f"setting:{key}"


def encrypt_secret(key: str, plaintext: str) -> dict[str, str]:
    from shared.errors import AppError
    from shared.security.secretbox import SecretBoxError, get_secretbox

    try:
        box = get_secretbox()
    except SecretBoxError as exc:  # never store a secret in clear because a key is missing
        raise AppError(f"secrets cannot be stored: {exc}") from exc
    return {"$enc": box.encrypt(plaintext, aad=_aad(key))}


def decrypt_secret(key: str, value: Any) -> Any:
    if isinstance(value, dict) and "$enc" in value:
        from shared.security.secretbox import get_secretbox

        return get_secretbox().decrypt(value["$enc"], aad=_aad(key))
    return value


def _decode(key: str, value: Any) -> Any:
    return decrypt_secret(key, value) if key in SECRET_KEYS else value


def stored_rows(conn, keys: Iterable[str] | None = None, *, for_update: bool = False) -> dict[str, Any]:
    """Raw stored values (secrets still encrypted)."""
    lock = " FOR UPDATE" if for_update else ""
    if keys is None:
        rows = conn.execute("SELECT key, value FROM settings" + lock).fetchall()
    else:
        rows = conn.execute("SELECT key, value FROM settings WHERE key = ANY(%s)" + lock, (list(keys),)).fetchall()
    return {r["key"]: r["value"] for r in rows}


def upsert(conn, key: str, value: Any) -> None:
    from psycopg.types.json import Jsonb

    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (%s, %s, now()) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        (key, Jsonb(value)),
    )


def delete(conn, key: str) -> None:
    conn.execute("DELETE FROM settings WHERE key = %s", (key,))


def read_settings(keys: Iterable[str] | None = None, *, conn=None) -> dict[str, Any]:
    """Effective values (stored over defaults) with secrets decrypted: for server-side use only."""
    wanted = list(keys) if keys is not None else None

    def _query(c) -> dict[str, Any]:
        return {k: _decode(k, v) for k, v in stored_rows(c, wanted).items()}

    if conn is not None:
        stored = _query(conn)
    else:
        with connection() as c:
            stored = _query(c)
    base = {k: DEFAULTS.get(k) for k in wanted} if wanted is not None else dict(DEFAULTS)
    base = copy.deepcopy(base)  # defaults hold dicts and lists: callers must not mutate the inventory
    base.update(stored)
    return base


def read_setting(key: str, default: Any = None, *, conn=None) -> Any:
    value = read_settings([key], conn=conn).get(key)
    return default if value is None else value
