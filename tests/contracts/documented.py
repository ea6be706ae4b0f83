"""Endpoints with no machine-readable description, written from their documentation pages (URL beside each).

TikTok (Content Posting API, Login Kit) and Threads publish none; the OAuth token and consent endpoints of every
platform are outside the OpenAPI / discovery / node-spec files too; so are YouTube's resumable session URI and
Meta's Resumable Upload API. Each `DocumentedEndpoint` lists the documented parameters (anything else is refused:
"send exactly the parameters each platform documents"), their types, the required ones and the scopes.
Checked against the pages on 2026-11-30.
"""

from __future__ import annotations

import json
import re

import httpx

from contracts.validate import DocumentedEndpoint, Param, body_bytes, form_of, query_of

MB = 1024 * 1024

# --- consent pages: the query of the authorization URL -------------------------------------------------

AUTHORIZE_PARAMS = {
    # https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (PKCE is required)
    "x": ({"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
           "code_challenge_method"}, {"response_type", "client_id", "redirect_uri", "scope", "state",
                                      "code_challenge", "code_challenge_method"},
          "https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token"),
    # https://developers.tiktok.com/doc/login-kit-web (Login Kit for Web: no code_challenge; PKCE is the
    # desktop/mobile flow, https://developers.tiktok.com/doc/login-kit-desktop/)
    "tiktok": ({"client_key", "scope", "redirect_uri", "state", "response_type", "disable_auto_auth"},
               {"client_key", "scope", "redirect_uri", "response_type"},
               "https://developers.tiktok.com/doc/login-kit-web"),
    # https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
    "meta": ({"client_id", "redirect_uri", "state", "response_type", "scope", "auth_type", "config_id"},
             {"client_id", "redirect_uri"},
             "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow"),
    # https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
    "threads": ({"client_id", "redirect_uri", "scope", "response_type", "state"},
                {"client_id", "redirect_uri", "scope", "response_type"},
                "https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions"),
    # https://developers.google.com/identity/protocols/oauth2/web-server#creatingclient (PKCE documented)
    "youtube": ({"client_id", "redirect_uri", "response_type", "scope", "access_type", "state",
                 "include_granted_scopes", "enable_granular_consent", "login_hint", "prompt", "code_challenge",
                 "code_challenge_method"}, {"client_id", "redirect_uri", "response_type", "scope"},
                "https://developers.google.com/identity/protocols/oauth2/web-server#creatingclient"),
    # https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/
    "pinterest": ({"client_id", "redirect_uri", "response_type", "scope", "state"},
                  {"client_id", "redirect_uri", "response_type", "scope"},
                  "https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/"),
}


def authorize(platform: str, query: dict[str, str]) -> list[str]:
    allowed, required, doc = AUTHORIZE_PARAMS[platform]
    out = [f"{doc}: authorization URL parameter {k!r} is not documented for this flow" for k in query
           if k not in allowed]
    out += [f"{doc}: authorization URL parameter {k!r} is required" for k in sorted(required) if k not in query]
    return out


# --- token endpoints ----------------------------------------------------------------------------------

X_TOKEN_DOC = "https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token"
X_TOKEN = DocumentedEndpoint(
    "POST", r"/2/oauth2/token", X_TOKEN_DOC, content_type="application/x-www-form-urlencoded",
    headers=("Authorization",),  # confidential client: HTTP Basic with client id and secret
    form=(Param("grant_type", "enum", True, ("authorization_code", "refresh_token")), Param("code"),
          Param("redirect_uri"), Param("code_verifier"), Param("client_id"), Param("refresh_token")))


def _tiktok_web_flow(request: httpx.Request) -> list[str]:
    f = dict(form_of(request))
    if f.get("code_verifier") and not re.match(r"https?://(localhost|127\.0\.0\.1)[:/]", f.get("redirect_uri", "")):
        return [("code_verifier is documented as 'Required for mobile and desktop app only'; a web app's code "
                "exchange (Login Kit for Web, https redirect) sends none")]
    return []


TIKTOK_TOKEN_DOC = "https://developers.tiktok.com/doc/oauth-user-access-token-management"
TIKTOK_TOKEN = DocumentedEndpoint(
    "POST", r"/v2/oauth/token/", TIKTOK_TOKEN_DOC, content_type="application/x-www-form-urlencoded",
    form=(Param("client_key", required=True), Param("client_secret", required=True), Param("code"),
          Param("grant_type", "enum", True, ("authorization_code", "refresh_token")), Param("redirect_uri"),
          Param("code_verifier"), Param("refresh_token")), check=_tiktok_web_flow)

GOOGLE_TOKEN_DOC = "https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code"
GOOGLE_TOKEN = DocumentedEndpoint(
    "POST", r"/token", GOOGLE_TOKEN_DOC, content_type="application/x-www-form-urlencoded",
    form=(Param("client_id", required=True), Param("client_secret", required=True), Param("code"),
          Param("code_verifier"), Param("grant_type", "enum", True, ("authorization_code", "refresh_token")),
          Param("redirect_uri"), Param("refresh_token")))

META_TOKEN_DOC = "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow#confirm"
META_LONG_DOC = "https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived"


def _meta_token_shape(request: httpx.Request) -> list[str]:
    p = dict(query_of(request)) | dict(form_of(request))
    if p.get("grant_type") == "fb_exchange_token":
        need, doc = {"grant_type", "client_id", "client_secret", "fb_exchange_token"}, META_LONG_DOC
    else:
        need, doc = {"client_id", "redirect_uri", "client_secret", "code"}, META_TOKEN_DOC
    out = [f"parameter {k!r} is not documented for this exchange ({doc})" for k in p if k not in need]
    out += [f"parameter {k!r} is required ({doc})" for k in sorted(need) if k not in p]
    return out


META_TOKEN = DocumentedEndpoint(
    "POST", r"/v\d+\.\d+/oauth/access_token", META_TOKEN_DOC, strict=False, check=_meta_token_shape,
    form=(Param("client_id"), Param("client_secret"), Param("redirect_uri"), Param("code"),
          Param("grant_type", "enum", values=("fb_exchange_token",)), Param("fb_exchange_token")))

THREADS_TOKEN_DOC = "https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions"
THREADS_LONG_DOC = "https://developers.facebook.com/docs/threads/get-started/long-lived-tokens"
THREADS_TOKEN = DocumentedEndpoint(
    "POST", r"/oauth/access_token", THREADS_TOKEN_DOC, content_type="application/x-www-form-urlencoded",
    form=(Param("client_id", required=True), Param("client_secret", required=True), Param("code", required=True),
          Param("grant_type", "enum", True, ("authorization_code",)), Param("redirect_uri", required=True)))
THREADS_EXCHANGE = DocumentedEndpoint(
    "GET", r"/access_token", THREADS_LONG_DOC,
    query=(Param("grant_type", "enum", True, ("th_exchange_token",)), Param("client_secret", required=True),
           Param("access_token", required=True)))
THREADS_REFRESH = DocumentedEndpoint(
    "GET", r"/refresh_access_token", THREADS_LONG_DOC,
    query=(Param("grant_type", "enum", True, ("th_refresh_token",)), Param("access_token", required=True)))

PINTEREST_REFRESH_DOC = ("https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-"
                         "authorization/#refreshing-an-access-token")


def pinterest_token_extras(request: httpx.Request) -> list[str]:
    """The v5 OpenAPI's OauthAccessTokenRequestRefresh names refresh_token and scope; the authentication guide
    adds `continuous_refresh` (apps created before 2025-09-25 need it to keep a refresh token alive; newer apps
    ignore it). Nothing else is documented, PKCE included."""
    f = dict(form_of(request))
    out = []
    if f.get("grant_type") == "refresh_token" and f.get("continuous_refresh") != "true":
        out.append(f"{PINTEREST_REFRESH_DOC}: a refresh sends continuous_refresh=true")
    return out


# --- TikTok Content Posting API -----------------------------------------------------------------------

TIKTOK_USER_INFO_DOC = "https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info"
# which scope each user field needs (the page's field table)
TIKTOK_USER_FIELDS = {
    **dict.fromkeys(("open_id", "union_id", "avatar_url", "avatar_url_100", "avatar_large_url", "display_name"),
                    "user.info.basic"),
    **dict.fromkeys(("bio_description", "profile_deep_link", "is_verified", "username"), "user.info.profile"),
    **dict.fromkeys(("follower_count", "following_count", "likes_count", "video_count"), "user.info.stats"),
}


def tiktok_user_fields(request: httpx.Request, granted: set[str] | None) -> tuple[list[str], list[str]]:
    """(unknown fields, fields whose scope the token lacks)."""
    fields = [f for f in dict(query_of(request)).get("fields", "").split(",") if f]
    unknown = [f for f in fields if f not in TIKTOK_USER_FIELDS]
    lacking = [f for f in fields if f in TIKTOK_USER_FIELDS and granted is not None
               and TIKTOK_USER_FIELDS[f] not in granted]
    return unknown, lacking


TIKTOK_USER_INFO = DocumentedEndpoint(
    "GET", r"/v2/user/info/", TIKTOK_USER_INFO_DOC, query=(Param("fields", required=True),),
    scopes=(frozenset({"user.info.basic"}),))

TIKTOK_CREATOR_INFO_DOC = "https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info"
TIKTOK_CREATOR_INFO = DocumentedEndpoint(
    "POST", r"/v2/post/publish/creator_info/query/", TIKTOK_CREATOR_INFO_DOC, content_type="application/json",
    body=(), scopes=(frozenset({"video.publish"}),))

TIKTOK_DIRECT_POST_DOC = "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post"
TIKTOK_TRANSFER_DOC = "https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide"
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")


def chunk_rules(video_size: int, chunk_size: int, count: int) -> list[str]:
    """The media transfer guide's chunk rules for FILE_UPLOAD."""
    if video_size < 5 * MB:
        return [] if chunk_size == video_size and count == 1 else [
            (f"a video under 5 MB is uploaded whole: chunk_size must equal video_size and total_chunk_count be 1 "
            f"(got {chunk_size}, {count})")]
    out = []
    if not 5 * MB <= chunk_size <= 64 * MB and not (count == 1 and chunk_size == video_size):
        out.append(f"chunk_size {chunk_size} must be 5 MB to 64 MB")
    if count != max(1, video_size // chunk_size):
        out.append(f"total_chunk_count must be floor(video_size / chunk_size) = {video_size // chunk_size}, "
                   f"got {count}")
    if video_size - chunk_size * (count - 1) > 128 * MB:
        out.append("the last chunk (remainder included) must be at most 128 MB")
    if count > 1000:
        out.append("at most 1000 chunks")
    return out


def _direct_post(request: httpx.Request) -> list[str]:
    try:
        b = json.loads(body_bytes(request) or b"{}")
    except ValueError:
        return ["body is not JSON"]
    si, pi = b.get("source_info") or {}, b.get("post_info") or {}
    out = []
    if len((pi.get("title") or "").encode("utf-16-le")) // 2 > 2200:
        out.append("post_info.title is longer than 2200 UTF-16 runes")
    if si.get("source") == "FILE_UPLOAD":
        missing = [k for k in ("video_size", "chunk_size", "total_chunk_count") if k not in si]
        if missing:
            out.append(f"FILE_UPLOAD needs source_info.{', '.join(missing)}")
        else:
            out += [f"{r} ({TIKTOK_TRANSFER_DOC})" for r in chunk_rules(si["video_size"], si["chunk_size"],
                                                                          si["total_chunk_count"])]
        if "video_url" in si:
            out.append("video_url belongs to PULL_FROM_URL")
    if si.get("source") == "PULL_FROM_URL":
        if not si.get("video_url"):
            out.append("PULL_FROM_URL needs source_info.video_url")
        if any(k in si for k in ("video_size", "chunk_size", "total_chunk_count")):
            out.append("video_size/chunk_size/total_chunk_count belong to FILE_UPLOAD")
    return out


TIKTOK_VIDEO_INIT = DocumentedEndpoint(
    "POST", r"/v2/post/publish/video/init/", TIKTOK_DIRECT_POST_DOC, content_type="application/json",
    body=(Param("post_info", "json", True), Param("post_info.title"),
          Param("post_info.privacy_level", "enum", True, PRIVACY_LEVELS),
          Param("post_info.disable_duet", "bool"), Param("post_info.disable_stitch", "bool"),
          Param("post_info.disable_comment", "bool"), Param("post_info.video_cover_timestamp_ms", "int"),
          Param("post_info.brand_content_toggle", "bool"), Param("post_info.brand_organic_toggle", "bool"),
          Param("post_info.is_aigc", "bool"),
          Param("source_info", "json", True),
          Param("source_info.source", "enum", True, ("FILE_UPLOAD", "PULL_FROM_URL")),
          Param("source_info.video_size", "int"), Param("source_info.chunk_size", "int"),
          Param("source_info.total_chunk_count", "int"), Param("source_info.video_url")),
    scopes=(frozenset({"video.publish"}),), check=_direct_post)

TIKTOK_STATUS_DOC = "https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status"
TIKTOK_STATUS = DocumentedEndpoint(
    "POST", r"/v2/post/publish/status/fetch/", TIKTOK_STATUS_DOC, content_type="application/json",
    body=(Param("publish_id", required=True),),
    scopes=(frozenset({"video.publish"}), frozenset({"video.upload"})))


def _upload_chunk(request: httpx.Request) -> list[str]:
    out = []
    cr = request.headers.get("content-range", "")
    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", cr)
    if not m:
        return [f"Content-Range must be 'bytes FIRST-LAST/TOTAL', got {cr!r}"]
    first, last, _ = (int(g) for g in m.groups())
    n = len(body_bytes(request))
    if n != last - first + 1:
        out.append(f"the chunk has {n} bytes but Content-Range says {last - first + 1}")
    ctype = request.headers.get("content-type", "")
    if ctype not in ("video/mp4", "video/quicktime", "video/webm"):
        out.append(f"Content-Type must be video/mp4, video/quicktime or video/webm, got {ctype!r}")
    return out


TIKTOK_UPLOAD = DocumentedEndpoint(
    "PUT", r"/upload/[\w.-]+", TIKTOK_TRANSFER_DOC, headers=("Content-Range", "Content-Length", "Content-Type"),
    check=_upload_chunk)

TIKTOK = (TIKTOK_TOKEN, TIKTOK_USER_INFO, TIKTOK_CREATOR_INFO, TIKTOK_VIDEO_INIT, TIKTOK_STATUS, TIKTOK_UPLOAD)


# --- Threads ----------------------------------------------------------------------------------------------

THREADS_POSTS_DOC = "https://developers.facebook.com/docs/threads/posts"
THREADS_CAROUSEL_DOC = "https://developers.facebook.com/docs/threads/posts#carousel-posts"
THREADS_MEDIA_DOC = "https://developers.facebook.com/docs/threads/reference/publishing"
THREADS_RETRIEVE_DOC = "https://developers.facebook.com/docs/threads/threads-media"
THREADS_PROFILE_DOC = "https://developers.facebook.com/docs/threads/threads-profiles"
THREADS_TROUBLE_DOC = "https://developers.facebook.com/docs/threads/troubleshooting#publishing-does-not-return-a-media-id"
PUBLISH = frozenset({"threads_basic", "threads_content_publish"})
BASIC = frozenset({"threads_basic"})
READ_REPLIES = frozenset({"threads_basic", "threads_read_replies"})
THREADS_REPLIES_DOC = "https://developers.facebook.com/documentation/threads/reference/reply-management"
THREADS_REPLY_FIELDS = ("id", "media_product_type", "media_type", "media_url", "permalink", "username", "text",
                        "timestamp", "shortcode", "thumbnail_url", "children", "is_quote_post", "has_replies",
                        "root_post", "replied_to", "is_reply", "is_reply_owned_by_me", "hide_status",
                        "reply_audience", "quoted_post", "reposted_post", "gif_url", "topic_tag", "is_verified",
                        "profile_picture_url")


def _threads_replies(request: httpx.Request) -> list[str]:
    q = dict(query_of(request))
    out = [f"field {f!r} is not one of the documented reply fields" for f in (q.get("fields") or "id").split(",")
           if f not in THREADS_REPLY_FIELDS]
    if "before" in q and "after" in q:
        out.append("before and after cannot be passed at the same time")
    return out


def _threads_container(request: httpx.Request) -> list[str]:
    q = dict(query_of(request))
    mt, out = q.get("media_type"), []
    if mt == "IMAGE" and not q.get("image_url"):
        out.append("media_type=IMAGE needs image_url")
    if mt == "VIDEO" and not q.get("video_url"):
        out.append("media_type=VIDEO needs video_url")
    if mt == "TEXT" and not q.get("text"):
        out.append("media_type=TEXT needs text")
    if mt == "CAROUSEL":
        kids = [k for k in q.get("children", "").split(",") if k]
        if not 2 <= len(kids) <= 20:
            out.append(f"a CAROUSEL has 2 to 20 children, got {len(kids)} ({THREADS_CAROUSEL_DOC})")
        if q.get("image_url") or q.get("video_url"):
            out.append("a CAROUSEL container carries children, not media")
    if q.get("is_carousel_item") == "true" and mt not in ("IMAGE", "VIDEO"):
        out.append("a carousel item is an IMAGE or VIDEO container")
    if len(q.get("text", "")) > 500:
        out.append("text is longer than 500 characters")
    return out


THREADS = (
    THREADS_TOKEN, THREADS_EXCHANGE, THREADS_REFRESH,
    DocumentedEndpoint("GET", r"/v1\.0/me", THREADS_PROFILE_DOC, query=(Param("fields"), Param("access_token")),
                       scopes=(BASIC,)),
    DocumentedEndpoint(
        "POST", r"/v1\.0/\d+/threads", THREADS_MEDIA_DOC, scopes=(PUBLISH,), check=_threads_container,
        query=(Param("media_type", "enum", True, ("TEXT", "IMAGE", "VIDEO", "CAROUSEL")), Param("text"),
               Param("image_url"), Param("video_url"), Param("is_carousel_item", "bool"), Param("children"),
               Param("reply_control", "enum", values=("everyone", "accounts_you_follow", "mentioned_only",
                                                       "parent_post_author_only", "followers_only")),
               Param("reply_to_id"), Param("quote_post_id"), Param("link_attachment"), Param("alt_text"),
               Param("topic_tag"), Param("location_id"), Param("allowlisted_country_codes"),
               Param("access_token"))),
    DocumentedEndpoint("POST", r"/v1\.0/\d+/threads_publish", THREADS_MEDIA_DOC, scopes=(PUBLISH,),
                       query=(Param("creation_id", required=True), Param("access_token"))),
    DocumentedEndpoint("GET", r"/v1\.0/\d+/threads", THREADS_RETRIEVE_DOC, scopes=(BASIC,),
                       query=(Param("fields"), Param("since"), Param("until"), Param("limit", "int"),
                              Param("before"), Param("after"), Param("access_token"))),
    # the top-level replies to a post or a reply (comment automation, shared/comments)
    DocumentedEndpoint("GET", r"/v1\.0/\d+/replies", THREADS_REPLIES_DOC, scopes=(READ_REPLIES,),
                       check=_threads_replies,
                       query=(Param("fields"), Param("reverse", "bool"), Param("before"), Param("after"),
                              Param("access_token"))),
    # a container's status (IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED) or a post's fields
    DocumentedEndpoint("GET", r"/v1\.0/\d+", THREADS_TROUBLE_DOC, scopes=(BASIC,),
                       query=(Param("fields"), Param("access_token"))),
)


# --- YouTube: the resumable session URI (not in the discovery document) -----------------------------

YT_RESUMABLE_DOC = "https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol"


def _yt_chunk(request: httpx.Request) -> list[str]:
    cr = request.headers.get("content-range", "")
    n = len(body_bytes(request))
    if re.fullmatch(r"bytes \*/\d+", cr):
        return [] if n == 0 else ["a status query (bytes */TOTAL) has an empty body"]
    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", cr)
    if not m:
        return [f"Content-Range must be 'bytes FIRST-LAST/TOTAL' or 'bytes */TOTAL', got {cr!r}"]
    first, last, total = (int(g) for g in m.groups())
    out = []
    if n != last - first + 1:
        out.append(f"the chunk has {n} bytes but Content-Range says {last - first + 1}")
    if last + 1 < total and n % (256 * 1024):
        out.append("every chunk but the last is a multiple of 256 KB")
    return out


YT_SESSION = DocumentedEndpoint("PUT", r"/upload/session/\w+", YT_RESUMABLE_DOC,
                                headers=("Content-Range", "Content-Length"), check=_yt_chunk)


# --- Meta: Resumable Upload API and the graph-video host ------------------------------------------------

META_UPLOAD_DOC = "https://developers.facebook.com/docs/graph-api/guides/upload"


def _meta_upload_start(request: httpx.Request) -> list[str]:
    q = dict(query_of(request)) | dict(form_of(request))
    out = [f"required parameter {k!r} is missing" for k in ("file_name", "file_length", "file_type") if k not in q]
    if q.get("file_type") and q["file_type"] not in ("application/pdf", "image/jpeg", "image/jpg", "image/png",
                                                     "video/mp4"):
        out.append(f"file_type {q['file_type']!r} is not one of the documented types")
    return out


def _meta_upload_transfer(request: httpx.Request) -> list[str]:
    out = []
    if not request.headers.get("authorization", "").startswith("OAuth "):
        out.append("the upload is authorized with 'Authorization: OAuth <user access token>'")
    if request.method == "POST" and not request.headers.get("file_offset", "").isdigit():
        out.append("header file_offset (the byte to start from) is required")
    return out


META_UPLOAD_START = DocumentedEndpoint("POST", r"/v\d+\.\d+/\d+/uploads", META_UPLOAD_DOC, strict=False,
                                       check=_meta_upload_start)
META_UPLOAD_TRANSFER = DocumentedEndpoint("POST", r"/v\d+\.\d+/upload:[\w-]+", META_UPLOAD_DOC,
                                          check=_meta_upload_transfer)
META_UPLOAD_STATUS = DocumentedEndpoint("GET", r"/v\d+\.\d+/upload:[\w-]+", META_UPLOAD_DOC,
                                        check=_meta_upload_transfer)

# Meta permissions per call (the Graph node specs carry none): the doc page that states each.
META_PERMISSIONS = {
    ("GET", "User", "accounts"): ({"pages_show_list"},
                                  "https://developers.facebook.com/docs/graph-api/reference/user/accounts/"),
    ("POST", "Page", "feed"): ({"pages_manage_posts", "pages_read_engagement"},
                               "https://developers.facebook.com/docs/pages-api/posts"),
    ("POST", "Page", "photos"): ({"pages_manage_posts", "pages_read_engagement"},
                                 "https://developers.facebook.com/docs/graph-api/reference/page/photos/"),
    ("POST", "Page", "videos"): ({"pages_show_list", "pages_read_engagement", "pages_manage_posts"},
                                 "https://developers.facebook.com/docs/video-api/guides/publishing"),
    ("POST", "Page", "photo_stories"): ({"pages_show_list", "pages_read_engagement", "pages_manage_posts"},
                                       "https://developers.facebook.com/docs/page-stories-api"),
    ("GET", "Page", "published_posts"): ({"pages_read_engagement"},
                                         "https://developers.facebook.com/docs/pages-api/posts"),
    ("GET", "Page", "videos"): ({"pages_read_engagement"},
                                "https://developers.facebook.com/docs/video-api/guides/publishing"),
    ("GET", "IGUser", "content_publishing_limit"): (
        {"instagram_basic", "instagram_content_publish"},
        "https://developers.facebook.com/docs/instagram-platform/content-publishing/#rate-limit"),
    ("POST", "IGUser", "media"): ({"instagram_basic", "instagram_content_publish"},
                                  "https://developers.facebook.com/docs/instagram-platform/content-publishing/"),
    ("POST", "IGUser", "media_publish"): (
        {"instagram_basic", "instagram_content_publish"},
        "https://developers.facebook.com/docs/instagram-platform/content-publishing/"),
    ("GET", "IGUser", "media"): ({"instagram_basic"},
                                 "https://developers.facebook.com/docs/instagram-platform/reference/ig-user/media"),
    ("GET", "ShadowIGMediaBuilder", None): (
        {"instagram_basic"},
        "https://developers.facebook.com/docs/instagram-platform/reference/ig-container"),
    ("GET", "IGMedia", None): ({"instagram_basic"},
                               "https://developers.facebook.com/docs/instagram-platform/reference/ig-media"),
    # comment automation (shared/comments): reading comments on our posts and answering them in public
    ("GET", "PagePost", "comments"): ({"pages_read_engagement", "pages_read_user_content"},
                                      "https://developers.facebook.com/docs/graph-api/reference/object/comments/"),
    ("GET", "Comment", "comments"): ({"pages_read_engagement", "pages_read_user_content"},
                                     "https://developers.facebook.com/docs/graph-api/reference/object/comments/"),
    ("POST", "Comment", "comments"): ({"pages_manage_engagement", "pages_read_engagement"},
                                      "https://developers.facebook.com/documentation/pages-api/comments-mentions"),
    ("GET", "IGMedia", "comments"): ({"instagram_basic", "instagram_manage_comments"},
                                     "https://developers.facebook.com/docs/instagram-platform/comment-moderation"),
    ("GET", "IGComment", "replies"): ({"instagram_basic", "instagram_manage_comments"},
                                      "https://developers.facebook.com/docs/instagram-platform/comment-moderation"),
    ("POST", "IGComment", "replies"): (
        {"instagram_basic", "instagram_manage_comments"},
        "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies"),
}


# --- error codes the fakes answer with (status, where the code is documented) ------------------------------

TIKTOK_ERROR_DOC = "https://developers.tiktok.com/doc/tiktok-api-v2-error-handling"
TIKTOK_ERRORS = {
    "access_token_invalid": (401, TIKTOK_ERROR_DOC),
    "scope_not_authorized": (401, TIKTOK_ERROR_DOC),
    "invalid_params": (400, TIKTOK_ERROR_DOC),
    "rate_limit_exceeded": (429, TIKTOK_ERROR_DOC),
    "privacy_level_option_mismatch": (400, TIKTOK_DIRECT_POST_DOC + "#error_codes"),
    "unaudited_client_can_only_post_to_private_accounts": (403, TIKTOK_DIRECT_POST_DOC + "#error_codes"),
    "url_ownership_unverified": (403, TIKTOK_DIRECT_POST_DOC + "#error_codes"),
    "spam_risk_too_many_posts": (403, TIKTOK_DIRECT_POST_DOC + "#error_codes"),
    "invalid_publish_id": (400, TIKTOK_STATUS_DOC + "#error_codes"),
}

# Threads answers Graph-style errors: https://developers.facebook.com/docs/threads/troubleshooting
THREADS_ERRORS = {
    "invalid_parameter": (400, 100, THREADS_TROUBLE_DOC),
    "permission": (403, 10, "https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions"),
    "not_ready": (400, 24, THREADS_TROUBLE_DOC),  # subcode 4279009: the container is not ready / already published
}
