"""Connect flow: build the authorization URL, then exchange the code, discover the account and store it.

Per platform (documented flows):
- X: OAuth 2 + PKCE, confidential client (Basic auth) at /2/oauth2/token; account from /2/users/me.
- TikTok: Login Kit for Web v2 (no PKCE: documented for mobile/desktop apps only); `client_key`; account from
  /v2/user/info/ with only the fields the granted scopes cover.
- YouTube: Google OAuth + PKCE, offline access (refresh token); channel from channels?mine=true.
- Pinterest: OAuth (no PKCE), Basic auth at /v5/oauth/token; account from /v5/user_account; refreshes send
  continuous_refresh=true.
- Facebook / Instagram: Facebook Login (manual flow, no PKCE) -> short-lived user token -> long-lived
  (fb_exchange_token) -> /me/accounts: the Page the owner chose (else the first; `pages.py` lets them pick) and,
  for Instagram, the Instagram account linked to that Page. Page tokens from a long-lived user token do not
  expire.
- Threads: Threads OAuth -> short-lived token -> long-lived (th_exchange_token, 60 days, refreshable).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx

from shared.config import get_config
from shared.errors import UpstreamError, ValidationFailed
from shared.publishing.connections import pkce, store
from shared.publishing.connections.providers import ENV_NAMES, Provider, provider
from shared.publishing.connections.state import StateError, consume_state, issue_state


class OAuthError(Exception):
    """The platform refused (bad code, revoked grant): the owner must connect again."""


def _client() -> httpx.Client:
    from shared.publishing.adapters.http import shared_client

    return shared_client(get_config().publish_http_timeout_seconds)


def configured_provider(platform: str) -> Provider:
    p = provider(platform, get_config())
    if not p.configured:
        cid, secret = ENV_NAMES[platform]
        raise ValidationFailed(f"{platform} is not configured on the server: set {cid} and {secret}",
                               code="PLATFORM_NOT_CONFIGURED", details={"platform": platform})
    return p


def check_redirect_uri(uri: str) -> str:
    parsed = urlparse(uri or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationFailed("redirectUri must be an absolute http(s) URL")
    if parsed.path.rstrip("/") != "/platforms/callback":
        raise ValidationFailed("redirectUri must point to /platforms/callback")
    cfg = get_config()
    allowed = [o.strip().rstrip("/") for o in cfg.oauth_redirect_origins.split(",") if o.strip()]
    if not allowed and cfg.is_production:
        # the SPA is served same-origin in production: without a list, only our own origin may receive codes
        own = urlparse(cfg.public_base_url)
        allowed = [f"{own.scheme}://{own.netloc}"]
    origin = f"{parsed.scheme}://{parsed.netloc}"
    if allowed and origin not in allowed:
        raise ValidationFailed(f"redirectUri origin {origin} is not allowed (OAUTH_REDIRECT_ORIGINS)")
    return uri


def authorization_url(platform: str, redirect_uri: str) -> str:
    p = configured_provider(platform)
    redirect_uri = check_redirect_uri(redirect_uri)
    verifier = pkce.new_verifier()
    state = issue_state(platform, verifier, redirect_uri)
    params: dict[str, str] = {p.client_id_param: p.client_id, "redirect_uri": redirect_uri,
                              "response_type": "code", "scope": p.scope_sep.join(p.scopes), "state": state}
    if p.pkce:
        params.update(code_challenge=pkce.challenge(verifier), code_challenge_method="S256")
    params.update(dict(p.extra_authorize))
    sep = "&" if "?" in p.authorize_url else "?"
    return p.authorize_url + sep + urlencode(params)


# --- HTTP helpers -----------------------------------------------------------------------------

def _call(method: str, url: str, **kw: Any) -> dict:
    try:
        resp = _client().request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"could not reach the platform: {type(exc).__name__}") from exc
    try:
        body = resp.json()
    except ValueError:
        body = {"message": resp.text[:300]}
    if resp.status_code >= 500:
        raise UpstreamError(f"the platform failed ({resp.status_code})")
    err = body.get("error") if isinstance(body, dict) else None
    if resp.status_code >= 400 or (isinstance(err, dict) and err.get("code") not in (None, "ok")) \
            or (isinstance(err, str) and err):
        from shared.publishing.engine.errors import _message

        msg, _ = _message(body, f"HTTP {resp.status_code}")
        raise OAuthError(msg)
    return body


def _expiry(seconds: Any) -> datetime | None:
    try:
        s = int(seconds)
    except (TypeError, ValueError):
        return None
    return datetime.now(timezone.utc) + timedelta(seconds=s) if s > 0 else None


def _tokens(body: dict) -> store.Tokens:
    inner = body.get("data")
    data: dict = inner if isinstance(inner, dict) and "access_token" in inner else body
    scope = data.get("scope") or ""
    return store.Tokens(access_token=data["access_token"], refresh_token=data.get("refresh_token"),
                        expires_at=_expiry(data.get("expires_in")),
                        refresh_expires_at=_expiry(data.get("refresh_token_expires_in")
                                                   or data.get("refresh_expires_in")),
                        scopes=[s for s in scope.replace(",", " ").split() if s])


def _granted_only(p: Provider, body: dict, t: store.Tokens) -> store.Tokens:
    """A token answer that lists its scopes (TikTok, Google: `scope`, even empty) is held to what posting needs."""
    inner = body.get("data")
    data: dict = inner if isinstance(inner, dict) and "access_token" in inner else body
    if "scope" not in data:
        return t
    from dataclasses import replace

    return replace(t, scopes=_granted_scopes(p, set(t.scopes)))


def _exchange_code(p: Provider, code: str, redirect_uri: str, verifier: str) -> dict:
    """Exactly the parameters each platform documents for the code exchange, no more."""
    if p.platform in ("facebook", "instagram"):
        # Facebook Login manual flow: client_id, redirect_uri, client_secret, code. The Graph API takes the
        # parameters of GET /oauth/access_token as a POST form too: the secret and the code stay out of URLs
        # (and so out of every proxy and request log)
        return _call("POST", p.token_url, data={"client_id": p.client_id, "redirect_uri": redirect_uri,
                                                "client_secret": p.client_secret, "code": code})
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if p.pkce:
        form["code_verifier"] = verifier
    if p.platform == "x":
        form["client_id"] = p.client_id
        return _call("POST", p.token_url, data=form, auth=(p.client_id, p.client_secret))
    if p.platform == "pinterest":  # client credentials go in the Basic header only
        return _call("POST", p.token_url, data=form, auth=(p.client_id, p.client_secret))
    form.update({p.client_id_param: p.client_id, "client_secret": p.client_secret})
    return _call("POST", p.token_url, data=form)


# --- account discovery ------------------------------------------------------------------------

def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _connect_x(p: Provider, body: dict) -> None:
    t = _tokens(body)
    me = _call("GET", get_config().x_api_base.rstrip("/") + "/2/users/me", headers=_bearer(t.access_token))["data"]
    store.save("x", str(me["id"]), t, username=me.get("username"),
               profile_url=f"https://x.com/{me.get('username')}", metadata={"name": me.get("name")})


# which user fields each TikTok scope opens (https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info)
_TIKTOK_FIELDS = {"user.info.basic": ("open_id", "display_name"),
                  "user.info.profile": ("username", "profile_deep_link")}


def _connect_tiktok(p: Provider, body: dict) -> None:
    t = _granted_only(p, body, _tokens(body))
    # the owner may untick a scope on TikTok's consent page: ask only for fields the granted scopes open
    granted = set(t.scopes) or {"user.info.basic"}
    fields = [f for scope, names in _TIKTOK_FIELDS.items() if scope in granted for f in names]
    info = _call("GET", get_config().tiktok_api_base.rstrip("/") + "/v2/user/info/",
                 params={"fields": ",".join(fields)}, headers=_bearer(t.access_token))["data"]["user"]
    open_id = str(info.get("open_id") or body.get("open_id"))
    store.save("tiktok", open_id, t, username=info.get("username") or info.get("display_name"),
               profile_url=info.get("profile_deep_link"), metadata={"displayName": info.get("display_name")})


def _connect_youtube(p: Provider, body: dict) -> None:
    t = _granted_only(p, body, _tokens(body))
    res = _call("GET", get_config().youtube_api_base.rstrip("/") + "/youtube/v3/channels",
                params={"part": "snippet", "mine": "true"}, headers=_bearer(t.access_token))
    items = res.get("items") or []
    if not items:
        raise OAuthError("this Google account has no YouTube channel")
    ch = items[0]
    custom = (ch.get("snippet") or {}).get("customUrl")
    store.save("youtube", str(ch["id"]), t, username=(ch.get("snippet") or {}).get("title"),
               profile_url=f"https://www.youtube.com/{custom}" if custom else
               f"https://www.youtube.com/channel/{ch['id']}", metadata={"channelId": ch["id"]})


def _connect_pinterest(p: Provider, body: dict) -> None:
    t = _tokens(body)
    me = _call("GET", get_config().pinterest_api_base.rstrip("/") + "/v5/user_account",
               headers=_bearer(t.access_token))
    username = me.get("username")
    store.save("pinterest", str(me.get("id") or username), t, username=username,
               profile_url=f"https://www.pinterest.com/{username}/", metadata={})


def _connect_meta(p: Provider, body: dict) -> None:
    from shared.publishing.connections import pages

    long = _call("POST", p.token_url, data={"grant_type": "fb_exchange_token", "client_id": p.client_id,
                                            "client_secret": p.client_secret,
                                            "fb_exchange_token": body["access_token"]})
    user_token = long["access_token"]
    scopes = _granted_scopes(p, pages.granted_permissions(user_token))
    found = pages.list_pages(user_token)
    user_expiry = _expiry(long.get("expires_in"))
    if p.platform == "facebook":
        if not found:
            raise OAuthError("no Facebook Page is available to this login (pages_show_list)")
        page = pages.pick_page(found, pages.chosen_page_id())
        pages.save_facebook(page, user_token, user_expiry, scopes, found)
        return
    ig_page = pages.pick_instagram_page(found, pages.chosen_page_id())
    if ig_page is None:
        raise OAuthError("no Instagram business account is linked to the Pages of this login")
    pages.save_instagram(ig_page, user_token, user_expiry, scopes)


# What posting itself cannot do without, where the consent page lets the owner untick scopes (Facebook Login,
# TikTok, Google's granular consent): left unticked, the connection fails now, by name, instead of every post at
# its time. Other scopes asked for (usernames, playlists, comment replies) are stored as missing and logged.
# Each entry: the scopes posting needs, each given as its alternatives (any one of them will do).
_YT = "https://www.googleapis.com/auth/"
POSTING_SCOPES: dict[str, tuple[tuple[str, ...], ...]] = {
    # https://developers.facebook.com/docs/pages-api/posts (pages_manage_posts, pages_read_engagement) and
    # /me/accounts (pages_show_list)
    "facebook": (("pages_show_list",), ("pages_manage_posts",), ("pages_read_engagement",)),
    # https://developers.facebook.com/docs/instagram-platform/content-publishing
    "instagram": (("instagram_basic",), ("instagram_content_publish",), ("pages_show_list",),
                  ("pages_read_engagement",)),
    # https://developers.tiktok.com/doc/content-posting-api-get-started
    "tiktok": (("video.publish",),),
    # videos.insert in the YouTube discovery document (platform-specs/youtube-v3-discovery.json) accepts any of
    # these (and youtubepartner, which we never ask for)
    "youtube": ((_YT + "youtube.upload", _YT + "youtube", _YT + "youtube.force-ssl"),),
}
DISPLAY = {"facebook": "Facebook", "instagram": "Instagram", "tiktok": "TikTok", "youtube": "Google"}


def _granted_scopes(p: Provider, granted: set[str]) -> list[str]:
    """The scopes to store: those asked for that were granted (never the request as if it were the grant)."""
    from shared import activity

    declined = [alternatives[0] for alternatives in POSTING_SCOPES.get(p.platform, ())
                if not any(s in granted for s in alternatives)]
    if declined:
        raise OAuthError(f"{DISPLAY.get(p.platform, p.platform)} did not grant {', '.join(declined)}, which "
                         "posting needs: reconnect and allow every permission Screndly asks for")
    missing = [s for s in p.scopes if s not in granted]  # what posting can do without (else refused above)
    if missing:
        activity.log("platforms", "warn", f"{p.platform} connected without {', '.join(missing)}: what needs them "
                     "(usernames, playlists, comment replies) will not work until you reconnect and allow them",
                     {"platform": p.platform, "missingScopes": missing})
    return [s for s in p.scopes if s in granted]


def _connect_threads(p: Provider, body: dict) -> None:
    base = get_config().threads_api_base.rstrip("/")
    long = _call("GET", f"{base}/access_token", params={"grant_type": "th_exchange_token",
                                                       "client_secret": p.client_secret,
                                                       "access_token": body["access_token"]})
    t = store.Tokens(access_token=long["access_token"], expires_at=_expiry(long.get("expires_in")),
                     scopes=list(p.scopes))
    me = _call("GET", f"{base}/v1.0/me", params={"fields": "id,username"}, headers=_bearer(t.access_token))
    store.save("threads", str(me.get("id") or body.get("user_id")), t, username=me.get("username"),
               profile_url=f"https://www.threads.net/@{me.get('username')}", metadata={})


_CONNECT = {"x": _connect_x, "tiktok": _connect_tiktok, "youtube": _connect_youtube,
            "pinterest": _connect_pinterest, "facebook": _connect_meta, "instagram": _connect_meta,
            "threads": _connect_threads}


def complete(body_platform: str | None, code: str, state: str | None, redirect_uri: str | None) -> str:
    """Finish a flow. The platform comes from the verified state; a body platform that disagrees is refused."""
    from shared import activity
    from shared.publishing.platforms import UnknownPlatform, normalize_family

    try:
        flow = consume_state(state)
    except StateError as exc:
        raise ValidationFailed(str(exc), code="INVALID_OAUTH_STATE") from exc
    platform = flow["platform"]
    if body_platform:
        try:
            claimed = normalize_family(body_platform)
        except UnknownPlatform as exc:
            raise ValidationFailed(str(exc)) from exc
        if claimed != platform:
            raise ValidationFailed("platform does not match the OAuth state", code="INVALID_OAUTH_STATE")
    if redirect_uri and redirect_uri != flow["redirectUri"]:
        raise ValidationFailed("redirectUri does not match the one the flow started with",
                               code="INVALID_OAUTH_STATE")
    if not code:
        raise ValidationFailed("missing authorization code")
    p = configured_provider(platform)
    started = time.monotonic()
    try:
        body = _exchange_code(p, code, flow["redirectUri"], flow["verifier"])
        _CONNECT[platform](p, body)
    except OAuthError as exc:
        activity.log("platforms", "warn", f"connecting {platform} failed: {exc}", {"platform": platform})
        raise ValidationFailed(f"{platform} refused the connection: {exc}", code="OAUTH_FAILED") from exc
    activity.log("platforms", "info", f"connected {platform}",
                 {"platform": platform, "ms": int((time.monotonic() - started) * 1000)})
    return platform


# --- refresh ----------------------------------------------------------------------------------

def refresh_tokens(platform: str, conn: store.Connection) -> store.Tokens:
    """Raises OAuthError when the platform refuses the grant (reconnect needed), UpstreamError when it
    cannot be reached (try again later)."""
    cfg = get_config()
    p = provider(platform, cfg)
    if platform == "threads":
        body = _call("GET", cfg.threads_api_base.rstrip("/") + "/refresh_access_token",
                     params={"grant_type": "th_refresh_token", "access_token": conn.access_token})
        return _tokens(body)
    if not conn.refresh_token:
        raise OAuthError("no refresh token is stored; connect the account again")
    form = {"grant_type": "refresh_token", "refresh_token": conn.refresh_token}
    if platform == "x":
        form["client_id"] = p.client_id
        body = _call("POST", p.token_url, data=form, auth=(p.client_id, p.client_secret))
    elif platform == "pinterest":
        # apps created before 2025-09-25 need it to get a refresh token that keeps refreshing; harmless after
        # (https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/)
        form["continuous_refresh"] = "true"
        body = _call("POST", p.token_url, data=form, auth=(p.client_id, p.client_secret))
    else:
        form.update({p.client_id_param: p.client_id, "client_secret": p.client_secret})
        body = _call("POST", p.token_url, data=form)
    return _tokens(body)


__all__ = ["OAuthError", "authorization_url", "complete", "configured_provider", "refresh_tokens"]
