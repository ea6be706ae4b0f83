"""What the platform routes call: status map, connect, disconnect, YouTube playlists, Pinterest boards."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shared.config import get_config
from shared.errors import UpstreamError, ValidationFailed
from shared.publishing.connections import store
from shared.publishing.platforms import DISPLAY, FAMILIES


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def status_map() -> dict[str, dict[str, Any]]:
    rows = {r["platform"]: r for r in store.summaries()}
    out: dict[str, dict[str, Any]] = {}
    now = datetime.now(timezone.utc)
    for fam in FAMILIES:
        r = rows.get(fam)
        if r is None:
            out[DISPLAY[fam]] = {"connected": False}
            continue
        expired = r["expires_at"] is not None and r["expires_at"] <= now and not r["refreshable"]
        entry: dict[str, Any] = {
            "connected": r["status"] == "connected" and not expired,
            "username": r["username"],
            "profileUrl": r["profile_url"],
            "lastPost": _iso(r["last_post_at"]),
            "expiresAt": _iso(r["expires_at"]),
        }
        if r["status"] == "needs_reconnect":
            entry["error"] = f"needs reconnect: {r['last_error'] or 'access refused'}"
            entry["needsReconnect"] = True
        elif expired:
            entry["error"] = "token expired: connect again"
        out[DISPLAY[fam]] = {k: v for k, v in entry.items() if v is not None}
    return out


def disconnect(platform: str) -> None:
    from shared import activity
    from shared.comments.mirror import forget

    # idempotent (contract: `{success:true}`): disconnecting what is not connected leaves it not connected
    if store.delete(platform):
        activity.log("platforms", "info", f"disconnected {platform}", {"platform": platform})
    forget(platform)  # the comment poll stops reading it, and its token leaves Redis now (also on a repeat)


def _platform_http(platform: str):
    from shared.publishing.adapters.http import PlatformHttp, shared_client
    from shared.publishing.connections.refresh import ensure_fresh
    from shared.publishing.engine.errors import NotConnected, PublishError

    try:
        conn = ensure_fresh(platform)
    except NotConnected as exc:
        raise ValidationFailed(f"{platform} is not connected", code="PLATFORM_NOT_CONNECTED") from exc
    except PublishError as exc:
        raise UpstreamError(exc.message) from exc
    cfg = get_config()
    return conn, PlatformHttp(shared_client(cfg.publish_http_timeout_seconds), token=conn.access_token,
                              retry_base=cfg.publish_retry_base_seconds)


def _guard(fn):
    from shared.publishing.engine.errors import AuthFailed, PublishError

    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except AuthFailed as exc:
            from shared.publishing.connections.refresh import mark_needs_reconnect

            mark_needs_reconnect(a[0] if a else "unknown", exc.message)
            raise UpstreamError(exc.message) from exc
        except PublishError as exc:
            raise UpstreamError(exc.message) from exc
    return wrapper


@_guard
def _playlists(platform: str) -> list[dict[str, Any]]:
    _, http = _platform_http(platform)
    base = get_config().youtube_api_base.rstrip("/")
    out, page = [], None
    for _ in range(5):  # 250 playlists is plenty for one channel; every page costs quota
        params = {"part": "snippet,contentDetails,status", "mine": "true", "maxResults": "50"}
        if page:
            params["pageToken"] = page
        res = http.json("GET", f"{base}/youtube/v3/playlists", phase="confirm", params=params)
        for it in res.get("items") or []:
            out.append({"id": it["id"], "title": (it.get("snippet") or {}).get("title", ""),
                        "itemCount": (it.get("contentDetails") or {}).get("itemCount"),
                        "privacyStatus": (it.get("status") or {}).get("privacyStatus")})
        page = res.get("nextPageToken")
        if not page:
            break
    return out


def youtube_playlists() -> list[dict[str, Any]]:
    return _playlists("youtube")


def _board(it: dict) -> dict[str, Any]:
    return {"id": it["id"], "name": it.get("name", ""), "description": it.get("description"),
            "privacy": it.get("privacy", "PUBLIC"), "pin_count": it.get("pin_count")}


@_guard
def _boards(platform: str) -> list[dict[str, Any]]:
    _, http = _platform_http(platform)
    base = get_config().pinterest_api_base.rstrip("/")
    out, bookmark = [], None
    for _ in range(5):
        params = {"page_size": "100", **({"bookmark": bookmark} if bookmark else {})}
        res = http.json("GET", f"{base}/v5/boards", phase="confirm", params=params)
        out += [_board(it) for it in res.get("items") or []]
        bookmark = res.get("bookmark")
        if not bookmark:
            break
    return out


def pinterest_boards() -> list[dict[str, Any]]:
    return _boards("pinterest")


@_guard
def _create_board(platform: str, name: str, description: str | None, privacy: str) -> dict[str, Any]:
    _, http = _platform_http(platform)
    base = get_config().pinterest_api_base.rstrip("/")
    body = {"name": name, "privacy": privacy, **({"description": description} if description else {})}
    return _board(http.json("POST", f"{base}/v5/boards", phase="commit", json=body))


def create_pinterest_board(name: str, description: str | None, privacy: str) -> dict[str, Any]:
    return _create_board("pinterest", name, description, privacy)
