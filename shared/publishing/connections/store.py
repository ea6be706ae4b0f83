"""The platform_connections table. Tokens go in and out through the secretbox (AES-GCM) with associated data
naming the platform, account and field, so a blob copied to another row or column does not decrypt."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shared.db import connection


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)


@dataclass
class Connection:
    platform: str
    account_id: str
    username: str | None
    profile_url: str | None
    access_token: str
    refresh_token: str | None
    extra: dict[str, Any]
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    scopes: list[str]
    metadata: dict[str, Any]
    status: str
    last_error: str | None
    last_post_at: datetime | None


def _aad(platform: str, account_id: str, fld: str) -> str:
    return f"conn:{platform}:{account_id}:{fld}"


def _box():
    from shared.security.secretbox import get_secretbox

    return get_secretbox()


def save(platform: str, account_id: str, tokens: Tokens, *, username: str | None, profile_url: str | None,
         metadata: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    box = _box()
    enc = lambda v, f: box.encrypt(v, _aad(platform, account_id, f)) if v else None  # noqa: E731
    with connection() as c:
        c.execute(
            """INSERT INTO platform_connections (platform, account_id, username, profile_url, access_token_enc,
                   refresh_token_enc, extra_secrets_enc, expires_at, refresh_expires_at, scopes, metadata, status,
                   last_error, connected_at, refreshed_at, updated_at)
               VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'connected',NULL,now(),now(),now())
               ON CONFLICT (platform) DO UPDATE SET account_id=EXCLUDED.account_id, username=EXCLUDED.username,
                   profile_url=EXCLUDED.profile_url, access_token_enc=EXCLUDED.access_token_enc,
                   -- a reconnect without a refresh token must not wipe the stored one (Postiz PR #1884)
                   refresh_token_enc=COALESCE(EXCLUDED.refresh_token_enc,
                       CASE WHEN platform_connections.account_id = EXCLUDED.account_id
                            THEN platform_connections.refresh_token_enc END),
                   extra_secrets_enc=EXCLUDED.extra_secrets_enc, expires_at=EXCLUDED.expires_at,
                   refresh_expires_at=EXCLUDED.refresh_expires_at, scopes=EXCLUDED.scopes,
                   metadata=EXCLUDED.metadata, status='connected', last_error=NULL, connected_at=now(),
                   refreshed_at=now(), updated_at=now()""",
            (platform, account_id, username, profile_url, enc(tokens.access_token, "access"),
             enc(tokens.refresh_token, "refresh"), enc(json.dumps(extra), "extra") if extra else None,
             tokens.expires_at, tokens.refresh_expires_at, tokens.scopes, Jsonb(metadata)))
    _changed(platform)


def _changed(platform: str | None) -> None:
    """A new token (or every token re-encrypted): the comment poll's Redis copy of the old one goes now, and so
    do the staged posts sealed with it (shared/publishing/staging/owner.py; they go back to planned)."""
    from shared.comments.mirror import forget
    from shared.publishing.staging.owner import drop_account

    forget(platform)
    drop_account(platform)


def update_tokens(platform: str, account_id: str, tokens: Tokens) -> None:
    box = _box()
    with connection() as c:
        c.execute(
            """UPDATE platform_connections SET access_token_enc=%s,
                   refresh_token_enc=COALESCE(%s, refresh_token_enc), expires_at=%s,
                   refresh_expires_at=COALESCE(%s, refresh_expires_at), status='connected', last_error=NULL,
                   refreshed_at=now(), updated_at=now()
               WHERE platform=%s AND account_id=%s""",
            (box.encrypt(tokens.access_token, _aad(platform, account_id, "access")),
             box.encrypt(tokens.refresh_token, _aad(platform, account_id, "refresh")) if tokens.refresh_token
             else None, tokens.expires_at, tokens.refresh_expires_at, platform, account_id))
    from shared.publishing.staging.owner import drop_account

    drop_account(platform)  # stages sealed the old token


def _row_to_connection(r: dict) -> Connection:
    box = _box()
    p, a = r["platform"], r["account_id"]
    extra = json.loads(box.decrypt(r["extra_secrets_enc"], _aad(p, a, "extra"))) if r["extra_secrets_enc"] else {}
    return Connection(
        platform=p, account_id=a, username=r["username"], profile_url=r["profile_url"],
        access_token=box.decrypt(r["access_token_enc"], _aad(p, a, "access")),
        refresh_token=box.decrypt(r["refresh_token_enc"], _aad(p, a, "refresh")) if r["refresh_token_enc"] else None,
        extra=extra, expires_at=r["expires_at"], refresh_expires_at=r["refresh_expires_at"],
        scopes=list(r["scopes"] or []), metadata=dict(r["metadata"] or {}), status=r["status"],
        last_error=r["last_error"], last_post_at=r["last_post_at"])


def from_row(r: dict | None) -> Connection | None:
    """A Connection from a platform_connections row read elsewhere (e.g. joined to a claim)."""
    if not r:
        return None
    r = dict(r)
    for k in ("expires_at", "refresh_expires_at", "last_post_at"):
        if isinstance(r.get(k), str):
            r[k] = datetime.fromisoformat(r[k])
    return _row_to_connection(r)


def get(platform: str) -> Connection | None:
    with connection() as c:
        r = c.execute("SELECT * FROM platform_connections WHERE platform=%s", (platform,)).fetchone()
    return _row_to_connection(r) if r else None


def summaries() -> list[dict]:
    """Non-secret columns only: the status endpoint never decrypts anything."""
    with connection() as c:
        return c.execute(
            """SELECT platform, account_id, username, profile_url, expires_at, refresh_expires_at, status,
                      last_error, last_post_at, refresh_token_enc IS NOT NULL AS refreshable
               FROM platform_connections""").fetchall()


def mark_needs_reconnect(platform: str, reason: str) -> bool:
    """True when this call changed the state (so the caller notifies once, not on every failed publish)."""
    with connection() as c:
        r = c.execute("""UPDATE platform_connections SET status='needs_reconnect', last_error=%s, updated_at=now()
                         WHERE platform=%s AND status <> 'needs_reconnect' RETURNING platform""",
                      (reason[:500], platform)).fetchone()
    return r is not None


def touch_last_post(platform: str) -> None:
    with connection() as c:
        c.execute("UPDATE platform_connections SET last_post_at=now() WHERE platform=%s", (platform,))


def delete(platform: str) -> bool:
    with connection() as c:
        r = c.execute("DELETE FROM platform_connections WHERE platform=%s RETURNING platform", (platform,)).fetchone()
    if r is not None:
        from shared.publishing.staging.owner import drop_account

        drop_account(platform)
    return r is not None


def rotate_keys() -> int:
    """Re-encrypt every token blob not under the first ENCRYPTION_KEYS key (after prepending a new key).
    Returns how many rows changed. Each row is rewritten in one statement, guarded by its old blob."""
    box = _box()
    changed = 0
    with connection() as c:
        rows = c.execute("SELECT platform, account_id, access_token_enc, refresh_token_enc, extra_secrets_enc "
                         "FROM platform_connections").fetchall()
        for r in rows:
            p, a = r["platform"], r["account_id"]
            new = {}
            for col, fld in (("access_token_enc", "access"), ("refresh_token_enc", "refresh"),
                             ("extra_secrets_enc", "extra")):
                blob = r[col]
                new[col] = box.reencrypt(blob, _aad(p, a, fld)) if blob and box.needs_rotation(blob) else blob
            if new == {k: r[k] for k in new}:
                continue
            c.execute("""UPDATE platform_connections SET access_token_enc=%s, refresh_token_enc=%s,
                             extra_secrets_enc=%s, updated_at=now()
                         WHERE platform=%s AND access_token_enc=%s""",
                      (new["access_token_enc"], new["refresh_token_enc"], new["extra_secrets_enc"], p,
                       r["access_token_enc"]))
            changed += 1
    if changed:
        _changed(None)
    return changed


def merge_metadata(platform: str, values: dict[str, Any]) -> None:
    with connection() as c:
        c.execute("UPDATE platform_connections SET metadata = metadata || %s, updated_at=now() WHERE platform=%s",
                  (Jsonb(values), platform))
