"""Keep access tokens fresh: before they expire, before every publish (scheduled ones included).

Refresh tokens rotate on some platforms (X, TikTok): two processes refreshing at once would burn one of them,
so a short Redis lock lets one refresh while the other waits and re-reads. A refusal marks the connection
"needs reconnect" and notifies once; an unreachable platform is a transient error (try again later).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Literal

from shared.publishing.connections import store
from shared.publishing.engine.errors import AuthFailed, NotConnected, TransientBeforeSend

REFRESH_MARGIN = timedelta(minutes=15)  # longer than a long upload, so a token never dies mid-publish
_LOCK_TTL = 30


def _due(conn: store.Connection, margin: timedelta) -> bool:
    return conn.expires_at is not None and conn.expires_at - datetime.now(timezone.utc) <= margin


def mark_needs_reconnect(platform: str, reason: str) -> None:
    from shared import activity
    from shared.publishing.platforms import DISPLAY

    if store.mark_needs_reconnect(platform, reason):
        activity.log("platforms", "error", f"{platform} needs to be reconnected: {reason}", {"platform": platform})
        activity.notify("error", f"Reconnect {DISPLAY.get(platform, platform)}",
                        f"{DISPLAY.get(platform, platform)} refused our access ({reason}). Publishing to it is "
                        "paused until you connect it again.", source="system", action_page="platforms")


def ensure_fresh(platform: str, margin: timedelta = REFRESH_MARGIN,
                 preloaded: store.Connection | Literal[False] | None = False) -> store.Connection:
    """`preloaded`: the connection already read with the claim (None = known absent; False = read it)."""
    conn = store.get(platform) if preloaded is False else preloaded
    if conn is None:
        raise NotConnected(f"{platform} is not connected")
    if conn.status == "needs_reconnect":
        raise AuthFailed(f"{platform} needs to be reconnected ({conn.last_error or 'access refused'})")
    if not _due(conn, margin):
        return conn
    return refresh(conn, margin)


def refresh(conn: store.Connection, margin: timedelta = REFRESH_MARGIN) -> store.Connection:
    from shared.errors import UpstreamError
    from shared.publishing.connections.oauth import OAuthError, refresh_tokens
    from shared.redis_client import get_redis

    redis = get_redis()
    lock = f"oauth:refresh:{conn.platform}"
    if not redis.set(lock, "1", nx=True, ex=_LOCK_TTL):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.2)
            again = store.get(conn.platform)
            if again is None:
                raise NotConnected(f"{conn.platform} is not connected")
            if again.status == "needs_reconnect":
                raise AuthFailed(f"{conn.platform} needs to be reconnected")
            if not _due(again, margin):
                return again
        raise TransientBeforeSend(f"another process is refreshing the {conn.platform} token")
    try:
        try:
            tokens = refresh_tokens(conn.platform, conn)
        except OAuthError as exc:
            mark_needs_reconnect(conn.platform, f"token refresh refused: {exc}")
            raise AuthFailed(f"{conn.platform} token refresh was refused: {exc}") from exc
        except UpstreamError as exc:
            raise TransientBeforeSend(f"could not refresh the {conn.platform} token: {exc.message}") from exc
        store.update_tokens(conn.platform, conn.account_id, tokens)
    finally:
        redis.delete(lock)
    from shared import activity

    activity.log("platforms", "info", f"refreshed the {conn.platform} token", {"platform": conn.platform})
    fresh = store.get(conn.platform)
    assert fresh is not None
    return fresh


def refresh_margin() -> timedelta:
    """How far ahead the maintenance tick refreshes: one tick period and an hour more, so a token never lapses
    between two ticks. A lapsed Meta or Threads long-lived token cannot be refreshed at all (the owner must
    reconnect), and posting refreshes only within its own 15 minutes. Short tokens (X's 2 h) are therefore
    refreshed on every tick: 4 refreshes a day."""
    from shared.messaging.schedules import PUBLISHING_MAINTENANCE_HOURS

    return timedelta(hours=PUBLISHING_MAINTENANCE_HOURS + 1)


def refresh_due(margin: timedelta | None = None) -> dict[str, str]:
    """Refresh every connection expiring within `margin` (default `refresh_margin()`, for the maintenance tick)."""
    margin = refresh_margin() if margin is None else margin
    out: dict[str, str] = {}
    for row in store.summaries():
        if row["status"] != "connected" or row["expires_at"] is None:
            continue
        if row["expires_at"] - datetime.now(timezone.utc) > margin:
            continue
        try:
            ensure_fresh(row["platform"], margin)
            out[row["platform"]] = "refreshed"
        except Exception as exc:  # one platform's failure must not stop the others
            out[row["platform"]] = f"failed: {exc}"
    return out
