"""Facebook Page choice: which of the owner's Pages posts go to, and the Instagram account that follows it.

After a Facebook connect the owner's Pages are listed (`GET /me/accounts` with the long-lived user token,
https://developers.facebook.com/docs/graph-api/reference/user/accounts/); the first one is used until the owner
picks another (`PUT /api/platforms/facebook/page`). Instagram posts go to the Instagram business account linked to
the chosen Page (`instagram_business_account`, https://developers.facebook.com/docs/instagram-platform/
instagram-api-with-facebook-login/): choosing a Page re-points Instagram too, with a Page token from the
Instagram connection's own user token (it carries the Instagram permissions the Facebook login does not).
Page tokens obtained from a long-lived user token do not expire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.errors import NotFound, UpstreamError, ValidationFailed
from shared.publishing.connections import store

PAGE_FIELDS = "id,name,access_token,instagram_business_account{id,username}"


def _call(url: str, token: str, params: dict[str, str]) -> dict:
    from shared.publishing.connections.oauth import _call as call

    return call("GET", url, params=params, headers={"Authorization": f"Bearer {token}"})


def granted_permissions(user_token: str) -> set[str]:
    """What the owner actually granted: Facebook Login lets them untick permissions on the consent dialog, so
    the token may hold less than we asked for (GET /me/permissions, status `granted` or `declined`:
    https://developers.facebook.com/docs/graph-api/reference/user/permissions/)."""
    from shared.publishing.connections.graph_version import graph_url

    res = _call(graph_url("me/permissions"), user_token, {"limit": "100"})
    return {str(p.get("permission")) for p in res.get("data") or [] if p.get("status") == "granted"}


def list_pages(user_token: str) -> list[dict[str, Any]]:
    """Every Page the user token can manage, following the listing's pages (an owner may manage many)."""
    from shared.publishing.connections.graph_version import graph_url

    out: list[dict[str, Any]] = []
    params = {"fields": PAGE_FIELDS, "limit": "100"}
    for _ in range(5):
        res = _call(graph_url("me/accounts"), user_token, params)
        out += res.get("data") or []
        after = ((res.get("paging") or {}).get("cursors") or {}).get("after")
        if not after or not (res.get("paging") or {}).get("next"):
            break
        params = {**params, "after": after}
    return out


def chosen_page_id() -> str | None:
    conn = store.get("facebook")
    return str(conn.metadata.get("pageId")) if conn and conn.metadata.get("pageId") else None


def pick_page(pages: list[dict], wanted: str | None) -> dict:
    """The Page chosen before, if this login still manages it; else the first."""
    return next((p for p in pages if str(p["id"]) == wanted), pages[0])


def pick_instagram_page(pages: list[dict], wanted: str | None) -> dict | None:
    """Instagram follows the chosen Facebook Page when it has a linked account; else the first Page that has one."""
    linked = [p for p in pages if p.get("instagram_business_account")]
    return next((p for p in linked if str(p["id"]) == wanted), linked[0] if linked else None)


def _summary(p: dict) -> dict[str, Any]:
    ig = p.get("instagram_business_account") or None
    return {"id": str(p["id"]), "name": p.get("name"),
            "instagram": {"id": str(ig["id"]), "username": ig.get("username")} if ig else None}


def save_facebook(page: dict, user_token: str, user_expiry: datetime | None, scopes: list[str],
                  pages: list[dict]) -> None:
    store.save("facebook", str(page["id"]),
               store.Tokens(access_token=page["access_token"], refresh_expires_at=user_expiry, scopes=scopes),
               username=page.get("name"), profile_url=f"https://www.facebook.com/{page['id']}",
               metadata={"pageId": str(page["id"]), "pageName": page.get("name"),
                         "pageCount": len(pages)}, extra={"user_token": user_token})


def save_instagram(page: dict, user_token: str, user_expiry: datetime | None, scopes: list[str]) -> None:
    ig = page["instagram_business_account"]
    store.save("instagram", str(ig["id"]),
               store.Tokens(access_token=page["access_token"], refresh_expires_at=user_expiry, scopes=scopes),
               username=ig.get("username"), profile_url=f"https://www.instagram.com/{ig.get('username')}/",
               metadata={"pageId": str(page["id"]), "pageName": page.get("name"), "igUserId": str(ig["id"])},
               extra={"user_token": user_token})


def _user_token(conn: store.Connection | None, platform: str) -> str:
    token = (conn.extra or {}).get("user_token") if conn else None
    if not token:
        raise ValidationFailed(f"connect {platform} again to choose a Page", code="PLATFORM_NOT_CONNECTED")
    return token


def _facebook_with_pages() -> tuple[store.Connection, list[dict[str, Any]]]:
    from shared.publishing.connections.oauth import OAuthError

    conn = store.get("facebook")
    if conn is None:
        raise ValidationFailed("facebook is not connected", code="PLATFORM_NOT_CONNECTED")
    try:
        return conn, list_pages(_user_token(conn, "facebook"))
    except OAuthError as exc:
        raise UpstreamError(f"Facebook refused to list the Pages: {exc}") from exc


def facebook_pages() -> list[dict[str, Any]]:
    """GET /api/platforms/facebook/pages: the owner's Pages, the chosen one marked."""
    conn, found = _facebook_with_pages()
    chosen = str(conn.metadata.get("pageId") or conn.account_id)
    return [{**_summary(p), "selected": str(p["id"]) == chosen} for p in found]


def choose_facebook_page(page_id: str) -> dict[str, Any]:
    """PUT /api/platforms/facebook/page: post to this Page from now on; Instagram follows its linked account."""
    from shared import activity

    fb, found = _facebook_with_pages()
    page = next((p for p in found if str(p["id"]) == str(page_id)), None)
    if page is None:
        raise NotFound(f"Page {page_id} is not one this Facebook login manages")
    save_facebook(page, fb.extra["user_token"], fb.refresh_expires_at, fb.scopes, found)
    result: dict[str, Any] = {"page": _summary(page), "instagram": None}
    ig_conn = store.get("instagram")
    if ig_conn is not None:
        result["instagram"] = _follow_with_instagram(ig_conn, str(page_id))
    activity.log("platforms", "info", f"Facebook Page set to {page.get('name')}",
                 {"pageId": str(page_id), "instagram": result["instagram"]})
    return result


def _follow_with_instagram(ig_conn: store.Connection, page_id: str) -> dict[str, Any]:
    from shared.publishing.connections.oauth import OAuthError
    from shared.publishing.connections.refresh import mark_needs_reconnect

    try:
        ig_pages = list_pages(_user_token(ig_conn, "instagram"))
    except (OAuthError, ValidationFailed) as exc:
        return {"followed": False, "reason": f"Instagram could not be re-pointed: {exc}"}
    page = next((p for p in ig_pages if str(p["id"]) == page_id), None)
    if page is None or not page.get("instagram_business_account"):
        reason = ("the chosen Page has no Instagram business account linked" if page is not None else
                  "the Instagram login does not manage the chosen Page")
        mark_needs_reconnect("instagram", f"{reason}; link one to the Page, then connect Instagram again")
        return {"followed": False, "reason": reason}
    save_instagram(page, ig_conn.extra["user_token"], ig_conn.refresh_expires_at, ig_conn.scopes)
    ig = page["instagram_business_account"]
    return {"followed": True, "id": str(ig["id"]), "username": ig.get("username")}
