"""Each platform's OAuth facts: where to send the owner, where to exchange the code, which scopes, PKCE or not,
and which app credentials (from the environment). Pure apart from reading Config and the EXTRA_SCOPES hooks.

PKCE only where the platform documents it for this (web, confidential client) flow: X requires it
(https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token) and Google recommends it
(https://developers.google.com/identity/protocols/oauth2/web-server). TikTok documents code_verifier for mobile
and desktop apps only (https://developers.tiktok.com/doc/oauth-user-access-token-management); Facebook Login's
manual flow and Pinterest's OAuth describe none, and Threads' OAuth has none."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace

from shared.config import Config


@dataclass(frozen=True)
class Provider:
    platform: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    scope_sep: str
    pkce: bool
    client_id: str
    client_secret: str
    client_id_param: str = "client_id"  # TikTok calls it client_key
    extra_authorize: tuple[tuple[str, str], ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


ENV_NAMES = {
    "x": ("X_CLIENT_ID", "X_CLIENT_SECRET"),
    "tiktok": ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"),
    "facebook": ("META_CLIENT_ID", "META_CLIENT_SECRET"),
    "instagram": ("META_CLIENT_ID", "META_CLIENT_SECRET"),
    "threads": ("META_CLIENT_ID (or THREADS_CLIENT_ID)", "META_CLIENT_SECRET (or THREADS_CLIENT_SECRET)"),
    "youtube": ("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET"),
    "pinterest": ("PINTEREST_CLIENT_ID", "PINTEREST_CLIENT_SECRET"),
}


# Capabilities that need more scopes while they are switched on add them here: "module:function", called with the
# platform, returning the scopes to request too (resolved at call time, so this module stays import-light).
EXTRA_SCOPES: list[str] = ["shared.comments.scopes:connect_scopes"]


def provider(platform: str, cfg: Config) -> Provider:
    p = _provider(platform, cfg)
    extra: list[str] = []
    for ref in EXTRA_SCOPES:
        module, _, name = ref.partition(":")
        for scope in getattr(importlib.import_module(module), name)(platform):
            if scope not in p.scopes and scope not in extra:
                extra.append(scope)
    return replace(p, scopes=p.scopes + tuple(extra)) if extra else p


def _provider(platform: str, cfg: Config) -> Provider:
    from shared.publishing.connections.graph_version import authorize_url, graph_url

    meta_token = graph_url("oauth/access_token")
    if platform == "x":
        return Provider("x", cfg.x_authorize_url, cfg.x_api_base.rstrip("/") + "/2/oauth2/token",
                        ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access"), " ", True,
                        cfg.x_client_id, cfg.x_client_secret)
    if platform == "tiktok":
        return Provider("tiktok", cfg.tiktok_authorize_url, cfg.tiktok_api_base.rstrip("/") + "/v2/oauth/token/",
                        # user.info.profile: the username for post URLs (https://developers.tiktok.com/doc/
                        # tiktok-api-v2-get-user-info); video.publish: direct post (content-posting-api-get-started)
                        ("user.info.basic", "user.info.profile", "video.publish"), ",", False,
                        cfg.tiktok_client_key, cfg.tiktok_client_secret, client_id_param="client_key")
    if platform == "facebook":
        return Provider("facebook", authorize_url(), meta_token,
                        ("pages_show_list", "pages_manage_posts", "pages_read_engagement"), ",", False,
                        cfg.meta_client_id, cfg.meta_client_secret)
    if platform == "instagram":
        return Provider("instagram", authorize_url(), meta_token,
                        ("instagram_basic", "instagram_content_publish", "pages_show_list",
                         "pages_read_engagement", "business_management"), ",", False,
                        cfg.meta_client_id, cfg.meta_client_secret)
    if platform == "threads":
        return Provider("threads", cfg.threads_authorize_url, cfg.threads_api_base.rstrip("/") + "/oauth/access_token",
                        ("threads_basic", "threads_content_publish"), ",", False,
                        cfg.threads_client_id or cfg.meta_client_id,
                        cfg.threads_client_secret or cfg.meta_client_secret)
    if platform == "youtube":
        return Provider("youtube", cfg.youtube_authorize_url, cfg.google_token_url,
                        ("https://www.googleapis.com/auth/youtube.upload",
                         "https://www.googleapis.com/auth/youtube"), " ", True,
                        cfg.youtube_client_id, cfg.youtube_client_secret,
                        extra_authorize=(("access_type", "offline"), ("prompt", "consent"),
                                         ("include_granted_scopes", "true")))
    if platform == "pinterest":
        return Provider("pinterest", cfg.pinterest_authorize_url,
                        cfg.pinterest_api_base.rstrip("/") + "/v5/oauth/token",
                        ("boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read"), ",", False,
                        cfg.pinterest_client_id, cfg.pinterest_client_secret)
    raise KeyError(platform)
