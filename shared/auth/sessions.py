"""Revoking sessions: "sign out everywhere" (an epoch: tokens issued at or before it are void) and "sign out
here" (the token's `jti` on a list until it would have expired anyway).

Where the state lives and what it costs: one row (`session_epoch`) and a short list (`revoked_sessions`) in
Postgres, read together with one indexed query into a per-process cache that lives CHECK_SECONDS (60 s). The
polled endpoints hit Postgres anyway, so the read never wakes an idle database on its own, and it adds at most
one tiny query per instance per minute, not one per request (polls come every 30 s). Redis was the other
candidate and the worse one: the free tier counts every command, the polls cost zero Redis commands today,
and the state must outlive Redis restarts. The instance that revokes updates its own cache at once; other warm
instances see it within CHECK_SECONDS (the documented bound for a stolen token after "sign out everywhere").
New password and new JWT_SECRET need no state at all (shared/security/tokens.py).

If the database cannot be read when the cache is due, the last state read is used (a revocation needs the
database too, so nothing newer can exist); a cold instance with no state answers 503 rather than guess.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from shared.db.rows import one
from shared.security.tokens import TokenError, issued_ms

CHECK_SECONDS = 60.0
logger = logging.getLogger("screndly.sessions")


@dataclass(frozen=True)
class SessionState:
    valid_after_ms: int
    revoked: frozenset[str]


def is_revoked(claims: dict, state: SessionState) -> str | None:
    """Pure: why a signature-valid session token no longer opens anything, or None."""
    if issued_ms(claims) <= state.valid_after_ms:
        return "session ended: signed out everywhere"
    if str(claims.get("jti", "")) in state.revoked:
        return "session ended: signed out"
    return None


_lock = threading.Lock()
_cached: tuple[SessionState, float] | None = None  # (state, monotonic time read)

_READ = """SELECT COALESCE((SELECT valid_after_ms FROM session_epoch WHERE id = 1), 0) AS valid_after_ms,
                  ARRAY(SELECT jti FROM revoked_sessions WHERE expires_at > now()) AS revoked"""


def _read() -> SessionState:
    from shared.db import connection

    with connection() as conn:
        row = one(conn.execute(_READ).fetchone())  # the single-row table is created with its row
    return SessionState(int(row["valid_after_ms"]), frozenset(row["revoked"] or ()))


def _store(state: SessionState) -> SessionState:
    global _cached
    with _lock:
        _cached = (state, time.monotonic())
    return state


class StateNotCached(Exception):
    """`check(..., cached_only=True)` would have to read the database."""


def current_state() -> SessionState:
    cached = _cached
    if cached is not None and time.monotonic() - cached[1] < CHECK_SECONDS:
        return cached[0]
    try:
        return _store(_read())
    except Exception as exc:
        from shared.db.outage import is_outage

        if cached is None or not is_outage(exc):
            raise
        logger.warning("session state unreadable (%s); using the last one read", type(exc).__name__)
        return cached[0]


def check(claims: dict, cached_only: bool = False) -> None:
    """Raise TokenError when the owner revoked this session. `cached_only`: raise StateNotCached instead of
    reading the database (a caller on the event loop then checks again in a worker thread)."""
    if cached_only:
        cached = _cached
        if cached is None or time.monotonic() - cached[1] >= CHECK_SECONDS:
            raise StateNotCached()
        state = cached[0]
    else:
        state = current_state()
    reason = is_revoked(claims, state)
    if reason:
        raise TokenError(reason)


def forget_cache() -> None:
    global _cached
    with _lock:
        _cached = None


def logout(claims: dict) -> None:
    """Sign out this token only; expired entries are pruned on the way (the list stays tiny)."""
    from datetime import datetime, timezone

    from shared.db import transaction

    expires = datetime.fromtimestamp(int(claims.get("exp", time.time())), timezone.utc)
    with transaction() as conn:
        conn.execute("DELETE FROM revoked_sessions WHERE expires_at <= now()")
        conn.execute("INSERT INTO revoked_sessions (jti, expires_at) VALUES (%s, %s) ON CONFLICT (jti) DO NOTHING",
                     (str(claims.get("jti", "")), expires))
    _store(_read())


def logout_all(now: float | None = None) -> int:
    """Void every token issued until now (this instance's clock, the one its own logins use)."""
    from shared.db import transaction

    valid_after = int((now if now is not None else time.time()) * 1000)
    with transaction() as conn:
        conn.execute("""INSERT INTO session_epoch (id, valid_after_ms, updated_at) VALUES (1, %s, now())
                        ON CONFLICT (id) DO UPDATE SET valid_after_ms = GREATEST(session_epoch.valid_after_ms,
                                                                                 EXCLUDED.valid_after_ms),
                                                       updated_at = now()""", (valid_after,))
        conn.execute("DELETE FROM revoked_sessions")  # every listed token is void by the epoch now
    _store(_read())
    return valid_after
