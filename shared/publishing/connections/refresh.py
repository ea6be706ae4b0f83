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
    """How far ahead the maintenance tick refreshes a token that dies with its expiry: one tick period and an hour
    more, so it never lapses between two ticks. A lapsed Threads long-lived token cannot be refreshed at all (it
    is refreshed with itself; the owner must reconnect), and posting refreshes only within its own 15 minutes."""
    from shared.messaging.schedules import PUBLISHING_MAINTENANCE_HOURS

    return timedelta(hours=PUBLISHING_MAINTENANCE_HOURS + 1)


# A refresh token outlives its access token (X, TikTok, YouTube, Pinterest): the access token is refreshed when
# a publish needs it, however long ago it expired, so the tick leaves it alone. Refreshing X's 2-hour tokens on
# every tick would only rotate its refresh token four times a day, each rotation a chance to lose it to a lost
# answer, and drop the account's pre-staged posts each time. The tick refreshes such an account only when the
# refresh token itself is near its own expiry (TikTok 180 days, Pinterest's continuous refresh 60 days), which a
# refresh may renew. TikTok documents `refresh_expires_in` as the *remaining* lifetime: where a refresh does not
# push the expiry out, the grant itself ends, and the owner is told to reconnect before it does (once per grant).
REFRESH_TOKEN_MARGIN = timedelta(days=7)
_EXPIRING_NOTE_KEY = "oauth:expiring:{platform}"
_REFRESHED_WITH_ITSELF = frozenset({"threads"})  # th_refresh_token takes the access token, no refresh token


def tick_refresh_due(row: dict, margin: timedelta, now: datetime) -> bool:
    """Whether the maintenance tick refreshes this connection (a `store.summaries()` row)."""
    if row["status"] != "connected":
        return False
    if row["refreshable"] and row["platform"] not in _REFRESHED_WITH_ITSELF:
        until = row["refresh_expires_at"]
        return until is not None and until - now <= REFRESH_TOKEN_MARGIN
    return row["expires_at"] is not None and row["expires_at"] - now <= margin


def refresh_due(margin: timedelta | None = None) -> dict[str, str]:
    """The maintenance tick's refreshes (`tick_refresh_due`); margin defaults to `refresh_margin()`."""
    margin = refresh_margin() if margin is None else margin
    out: dict[str, str] = {}
    now = datetime.now(timezone.utc)
    for row in store.summaries():
        if not tick_refresh_due(row, margin, now):
            continue
        try:
            conn = store.get(row["platform"])
            if conn is None or conn.status != "connected":
                continue
            fresh = refresh(conn, margin)  # regardless of the access token's own expiry (see REFRESH_TOKEN_MARGIN)
            out[row["platform"]] = "refreshed"
            if fresh.refresh_expires_at is not None and fresh.refresh_expires_at - now <= REFRESH_TOKEN_MARGIN:
                _tell_the_owner_to_reconnect_before(fresh.platform, fresh.refresh_expires_at)
        except Exception as exc:  # one platform's failure must not stop the others
            out[row["platform"]] = f"failed: {exc}"
    return out


def _tell_the_owner_to_reconnect_before(platform: str, until: datetime) -> None:
    """The platform's authorization ends at `until` whatever we refresh: once per grant (a Redis SET NX per
    platform kept until a week after it ends, so an end the platform reports a few seconds differently on every
    refresh is still one grant), a notification and an activity entry asking for a reconnect before then."""
    from shared import activity
    from shared.publishing.platforms import DISPLAY
    from shared.redis_client import get_redis

    left = max(0, int((until - datetime.now(timezone.utc)).total_seconds()))
    keep = left + int(REFRESH_TOKEN_MARGIN.total_seconds())
    if not get_redis().set(_EXPIRING_NOTE_KEY.format(platform=platform), "1", nx=True, ex=keep):
        return
    name = DISPLAY.get(platform, platform)
    when = until.strftime("%Y-%m-%d %H:%M UTC")
    activity.log("platforms", "warn", f"{platform} authorization ends {when}: reconnect before then",
                 {"platform": platform, "until": until.isoformat()})
    activity.notify("warning", f"Reconnect {name} before {until.strftime('%b %d')}",
                    f"{name} gave us access until {when} and will not extend it. Connect it again before then, or "
                    "posting to it stops.", source="system", action_page="platforms")
