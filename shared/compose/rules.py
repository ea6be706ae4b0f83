"""What the Create page's own scheduler does with a due item, restated for the server (pure).

The browser publishes a scheduled compose item itself while the app is open (ComposeScheduler.tsx); the server's
fallback (shared/compose/scheduler.py) must do exactly the same, above all send the same request body, so that
`/api/platforms/post`'s idempotency key (api:<sha256 of target + content>, shared/publishing/api_service.py) is
the same whichever side fires: the gateway then answers the second with the first's publication, never a second
post. Every rule names the frontend file it restates (repository usangfavoureyo/screndly, read at the commit
given; the code is not copied, its behaviour is):

- `normalize`: composeMedia.ts `normalizeComposeItem` and composePlatforms.ts `normalizeComposePlatforms`
  (@01579348, @01a2b32a): what the client holds after it read the item from the store;
- `validation_error`: composeValidation.ts `getComposeValidationError` in mode 'published' (@0199944e), and the
  errors composePublish.ts `publishComposeItem` throws before it sends anything (@0199944e);
- `content_for`: composePublish.ts (@0199944e) with composeMedia.ts `getComposeAssetPublishUrl` /
  `getComposeThumbnailPublishUrl` and composeVideoProcessing.ts `getVideoUrlForComposePlatform` (the 3:4 crop
  for X and Threads, @0dbea0e7): one body per platform, fields the client leaves `undefined` absent;
- `PLATFORM_NAMES`: composePublish.ts `PLATFORM_NAME_BY_KEY` -> api/platforms.ts `publishContent`'s map
  (@0199944e): the name the client puts in `platforms: [<one name>]`;
- `Outcome`, `add_results`: composePublish.ts's result summary and ComposeScheduler.tsx's write-back (@0199944e);
  `settle_late` / `with_late_result`: the same write-back for a platform that settled later (shared/compose/late.py).

JavaScript's own semantics are kept where they change a value: `a || b` (falsy: undefined, null, false, 0, NaN,
""), `?.` (null and undefined alike), `String.prototype.trim` (its whitespace set, not Python's), strict equality.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class _Undefined:
    """JavaScript's `undefined`: a field holding it is left out of the JSON body (JSON.stringify)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

# composePublish.ts PLATFORM_NAME_BY_KEY (labels) and api/platforms.ts publishContent (request names)
PLATFORM_LABELS = {
    "instagram_feed": "Instagram Feed", "instagram_reels": "Instagram Reels",
    "instagram_stories": "Instagram Stories", "facebook_feed": "Facebook Feed",
    "facebook_stories": "Facebook Stories", "tiktok": "TikTok", "threads": "Threads", "x": "X",
    "youtube_longform": "YouTube Long-form", "youtube_shorts": "YouTube Shorts", "pinterest": "Pinterest",
}
PLATFORM_NAMES = {
    "instagram_feed": "InstagramFeed", "instagram_reels": "InstagramReels", "instagram_stories": "InstagramStories",
    "facebook_feed": "FacebookFeed", "facebook_stories": "FacebookStories", "tiktok": "TikTok", "threads": "Threads",
    "x": "X", "youtube_longform": "YouTubeLongform", "youtube_shorts": "YouTubeShorts", "pinterest": "Pinterest",
}
_LEGACY_PLATFORMS = {"instagram": "instagram_feed", "facebook": "facebook_feed"}  # composePlatforms.ts

# composeValidation.ts SHARED_CAPTION_REQUIRED_PLATFORMS
CAPTION_REQUIRED = ("instagram_feed", "instagram_reels", "facebook_feed", "threads", "x", "tiktok",
                    "youtube_longform", "youtube_shorts")


@dataclass(frozen=True)
class _Capability:
    single_image: bool
    single_video: bool
    multi_image: bool
    max_items: int


# composeMedia.ts PLATFORM_CAPABILITIES (no platform takes several videos or mixed media in this flow)
_CAPABILITIES = {
    "instagram_feed": _Capability(True, False, False, 1), "instagram_reels": _Capability(False, True, False, 1),
    "instagram_stories": _Capability(True, True, False, 1), "facebook_feed": _Capability(True, True, False, 1),
    "facebook_stories": _Capability(True, True, False, 1), "tiktok": _Capability(True, True, False, 1),
    "threads": _Capability(True, True, True, 4), "x": _Capability(True, True, True, 4),
    "youtube_longform": _Capability(False, True, False, 1), "youtube_shorts": _Capability(False, True, False, 1),
    "pinterest": _Capability(True, True, False, 1),
}
_THREADS_X = ("threads", "x")
_NINE_BY_SIXTEEN = 9 / 16
_RATIO_TOLERANCE = 0.03
INTERRUPTED = ("Scheduled publish request was interrupted. Check whether the post already published before "
               "retrying.")  # ComposeScheduler.tsx, for a request that may or may not have reached a platform

PROCESSING = ("accepted and still processing on the platform; it completes without being sent again. Check whether "
              "it published before retrying.")
# ECMAScript WhiteSpace and LineTerminator: what String.prototype.trim removes
_JS_SPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
             "\u2028\u2029\u202f\u205f\u3000\ufeff")
_HTTP = re.compile(r"^https?://", re.I)


# --- JavaScript semantics ---------------------------------------------------------------------------------------
def truthy(v: Any) -> bool:
    if v is UNDEFINED or v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0 and not (isinstance(v, float) and math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True  # objects and arrays, even empty ones


def js_or(*values: Any) -> Any:
    for v in values[:-1]:
        if truthy(v):
            return v
    return values[-1]


def nullish(v: Any) -> bool:
    return v is UNDEFINED or v is None


def prop(obj: Any, key: str) -> Any:
    """`obj?.key`: undefined when obj is null/undefined (or not an object: no such property)."""
    if isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def trim(v: Any) -> str:
    """`v.trim()` on a string; a missing value reads as "" (the client would throw; the item then fails)."""
    return v.strip(_JS_SPACE) if isinstance(v, str) else ""


def js_str(v: Any) -> str:
    """String(v) as Array.prototype.join writes it (null and undefined become "")."""
    if nullish(v):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v)


def strict_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if nullish(a) or nullish(b):
        return a is b
    return type(a) is type(b) and a == b


def iso_ms(at: datetime) -> str:
    """Date.prototype.toISOString: UTC, milliseconds, `Z`."""
    at = at.astimezone(timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_instant(v: Any) -> datetime | None:
    """`new Date(v)` for the ISO strings the client writes (scheduledAt, publishLockExpiresAt); None if invalid."""
    if not isinstance(v, str) or not v.strip():
        return None
    try:
        at = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


# --- composeMedia.ts normalizeComposeItem ---------------------------------------------------------------------
def _is_blob(v: Any) -> bool:
    return isinstance(v, str) and v.startswith("blob:")


def _status_of(asset: dict[str, Any], preview: Any, *, uploading_resolves: bool) -> Any:
    status = asset.get("uploadStatus", UNDEFINED)
    stored = asset.get("storageUrl", UNDEFINED)
    has_remote = truthy(stored) or (truthy(preview) and not _is_blob(preview))
    if uploading_resolves and status == "uploading":
        return "uploaded" if has_remote else "idle"
    if not nullish(status):
        return status
    return "uploaded" if has_remote else "idle"


def _normalize_asset(asset: dict[str, Any], index: int) -> dict[str, Any]:
    preview = js_or(asset.get("previewUrl", UNDEFINED), asset.get("storageUrl", UNDEFINED))
    out = dict(asset)
    out["id"] = js_or(asset.get("id", UNDEFINED), f"asset-{index}-{js_str(asset.get('fileName'))}")
    order = asset.get("order", UNDEFINED)
    out["order"] = order if isinstance(order, (int, float)) and not isinstance(order, bool) else index
    out["previewUrl"] = preview
    out["storageUrl"] = js_or(asset.get("storageUrl", UNDEFINED), UNDEFINED if _is_blob(preview) else preview)
    out["uploadStatus"] = _status_of(asset, preview, uploading_resolves=True)
    return out


def _normalize_side_asset(asset: Any, *, uploading_resolves: bool) -> Any:
    """A thumbnail (uploading resolves) or the 3:4 crop (it does not): `storageUrl ?? ...`."""
    if not isinstance(asset, dict):
        return UNDEFINED if nullish(asset) else asset
    preview = js_or(asset.get("previewUrl", UNDEFINED), asset.get("storageUrl", UNDEFINED))
    out = dict(asset)
    out["previewUrl"] = preview
    stored = asset.get("storageUrl", UNDEFINED)
    out["storageUrl"] = stored if not nullish(stored) else (UNDEFINED if _is_blob(preview) else preview)
    out["uploadStatus"] = _status_of(asset, preview, uploading_resolves=uploading_resolves)
    return out


def normalize_platforms(platforms: Any) -> list[str]:
    if not isinstance(platforms, list):
        return []
    out: list[str] = []
    for p in platforms:
        key = trim(p)
        key = key if key in PLATFORM_NAMES else _LEGACY_PLATFORMS.get(key, "")
        if key and key not in out:
            out.append(key)
    return out


def normalize(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the client holds it (a copy: the stored item is never changed here)."""
    item = copy.deepcopy(item)
    assets = item.get("mediaAssets")
    if isinstance(assets, list) and assets:
        media = [_normalize_asset(a if isinstance(a, dict) else {}, n) for n, a in enumerate(assets)]
    elif isinstance(item.get("media"), dict):
        legacy = item["media"]
        preview = js_or(legacy.get("previewUrl", UNDEFINED), legacy.get("storageUrl", UNDEFINED))
        one = {**legacy, "id": f"legacy-{js_str(legacy.get('fileName'))}-{js_str(legacy.get('size'))}",
               "order": 0, "previewUrl": preview}
        stored = legacy.get("storageUrl", UNDEFINED)
        one["storageUrl"] = stored if not nullish(stored) else (UNDEFINED if _is_blob(preview) else preview)
        one["uploadStatus"] = _status_of(legacy, preview, uploading_resolves=True)
        media = [one]
    else:
        media = []
    item["mediaAssets"] = media
    item["platforms"] = normalize_platforms(item.get("platforms"))
    raw_fields = item.get("platformFields")
    fields: dict[str, Any] = dict(raw_fields) if isinstance(raw_fields, dict) else {}
    thumbs = fields.get("thumbnails")
    fields["thumbnails"] = {k: _normalize_side_asset(thumbs.get(k), uploading_resolves=True)
                            for k in ("shared", "youtube", "x")} if isinstance(thumbs, dict) else UNDEFINED
    vp = fields.get("videoProcessing")
    if truthy(vp) and isinstance(vp, dict):
        crop_mode = vp.get("cropMode", UNDEFINED)
        focus = vp.get("focusYPercent", UNDEFINED)
        fields["videoProcessing"] = {
            "cropMode": "original" if nullish(crop_mode) else crop_mode,
            "focusYPercent": 50 if nullish(focus) else focus,
            "threadsXCrop": _normalize_side_asset(vp.get("threadsXCrop"), uploading_resolves=False)}
    else:
        fields["videoProcessing"] = UNDEFINED
    item["platformFields"] = fields
    return item


# --- composeMedia.ts / composeVideoProcessing.ts --------------------------------------------------------------
def asset_publish_url(asset: Any) -> Any:
    """getComposeAssetPublishUrl / getComposeThumbnailPublishUrl: the first http(s) URL (as written, untrimmed)."""
    if not isinstance(asset, dict):
        return UNDEFINED
    for v in (asset.get("previewUrl"), asset.get("storageUrl")):
        if isinstance(v, str) and _HTTP.match(trim(v)):
            return v
    return UNDEFINED


def _summary(assets: list[dict[str, Any]]) -> tuple[int, str]:
    images = sum(1 for a in assets if a.get("kind") == "image")
    videos = sum(1 for a in assets if a.get("kind") == "video")
    n = len(assets)
    kind = "empty"
    if n == 1 and images == 1:
        kind = "single-image"
    if n == 1 and videos == 1:
        kind = "single-video"
    if n > 1 and images == n:
        kind = "multi-image"
    if n > 1 and videos == n:
        kind = "multi-video"
    if n > 1 and images > 0 and videos > 0:
        kind = "mixed-media"
    return n, kind


def _compatibility_problem(platform: str, assets: list[dict[str, Any]]) -> str | None:
    cap = _CAPABILITIES[platform]
    n, kind = _summary(assets)
    if kind == "empty":
        return None
    if n > cap.max_items:
        return f"Supports up to {cap.max_items} item{'' if cap.max_items == 1 else 's'} in this flow."
    if kind == "single-image":
        return None if cap.single_image else "This platform does not accept image-only posts in this flow."
    if kind == "single-video":
        return None if cap.single_video else "This platform requires a different media type in this flow."
    if kind == "multi-image":
        return None if cap.multi_image else "This platform only supports one image in this flow."
    if kind == "multi-video":
        return "This platform does not support multiple videos in this flow."
    if kind == "mixed-media":
        return "This platform does not support mixed image and video uploads in this flow."
    return None


def asset_signature(asset: dict[str, Any]) -> str:
    """buildComposeAssetSignature: what the 3:4 crop was made from."""
    return "|".join(js_str(v) for v in (
        asset.get("id"), asset.get("fileName"), asset.get("size"), js_or(asset.get("storageFileId"), ""),
        js_or(asset.get("storageUrl"), ""), js_or(asset.get("previewUrl"), ""),
        js_or(asset.get("aspectRatioLabel"), "")))


def _nine_by_sixteen(asset: Any) -> bool:
    if not isinstance(asset, dict) or asset.get("kind") != "video":
        return False
    if asset.get("aspectRatioLabel") == "9:16":
        return True
    ratio = asset.get("aspectRatioValue")
    if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and ratio > 0:
        return abs(ratio - _NINE_BY_SIXTEEN) <= _RATIO_TOLERANCE
    return False


def _crop_matches(item: dict[str, Any], asset: dict[str, Any]) -> bool:
    settings = prop(item.get("platformFields"), "videoProcessing")
    variant = prop(settings, "threadsXCrop")
    if prop(settings, "cropMode") != "threads_x_3_4" or not truthy(variant) or not isinstance(variant, dict):
        return False
    focus = prop(settings, "focusYPercent")
    return (strict_eq(variant.get("sourceAssetId", UNDEFINED), asset.get("id", UNDEFINED))
            and strict_eq(variant.get("sourceSignature", UNDEFINED), asset_signature(asset))
            and strict_eq(variant.get("focusYPercent", UNDEFINED), 50 if nullish(focus) else focus))


def _crop_ready(item: dict[str, Any], asset: dict[str, Any]) -> bool:
    """isThreadsXCropVariantReady."""
    variant = prop(prop(item.get("platformFields"), "videoProcessing"), "threadsXCrop")
    return (_crop_matches(item, asset) and truthy(js_or(variant.get("storageUrl"), variant.get("previewUrl")))
            and variant.get("uploadStatus") != "failed")


def video_url_for(item: dict[str, Any], platform: str) -> Any:
    """getVideoUrlForComposePlatform: the 3:4 crop for X and Threads when it was made from this video."""
    assets = item.get("mediaAssets") or []
    primary = assets[0] if assets else None
    if not isinstance(primary, dict) or primary.get("kind") != "video":
        return UNDEFINED
    if platform in _THREADS_X and _crop_matches(item, primary):
        variant = item["platformFields"]["videoProcessing"]["threadsXCrop"]
        return js_or(variant.get("storageUrl", UNDEFINED), variant.get("previewUrl", UNDEFINED))
    return js_or(primary.get("storageUrl", UNDEFINED), primary.get("previewUrl", UNDEFINED))


# --- composeValidation.ts + composePublish.ts's own checks ---------------------------------------------------
def validation_error(item: dict[str, Any]) -> str | None:
    """The message the client fails a due item with, before anything is sent (`item` normalized)."""
    platforms: list[str] = item["platforms"]
    assets: list[dict[str, Any]] = item["mediaAssets"]
    fields = item.get("platformFields") or {}
    thumbs = [prop(fields.get("thumbnails"), k) for k in ("shared", "youtube", "x")]
    if not platforms:
        return "Select at least one connected platform"
    if not assets:
        return "Upload at least one image or video before publishing"
    if any(p in CAPTION_REQUIRED for p in platforms) and not trim(item.get("sharedCaption")):
        return "Enter a caption before scheduling or publishing to the selected platforms"
    if any(a.get("uploadStatus") == "uploading" for a in assets):
        return "Wait for media uploads to finish before saving"
    if any(prop(t, "uploadStatus") == "uploading" for t in thumbs):
        return "Wait for thumbnail uploads to finish before saving"
    if any(a.get("uploadStatus") == "failed" for a in assets):
        return "Remove or re-upload media that failed to upload to Backblaze"
    if any(prop(t, "uploadStatus") == "failed" for t in thumbs):
        return "Remove or re-upload thumbnails that failed to upload"
    if any(asset_publish_url(a) is UNDEFINED for a in assets):
        return "Upload all media to Backblaze before publishing"
    for p in platforms:
        problem = _compatibility_problem(p, assets)
        if problem:
            return problem
    _n, kind = _summary(assets)
    video = assets[0] if kind == "single-video" and assets[0].get("kind") == "video" else None
    if (video is not None and _nine_by_sixteen(video) and any(p in _THREADS_X for p in platforms)
            and prop(prop(fields, "videoProcessing"), "cropMode") == "threads_x_3_4"
            and not _crop_ready(item, video)):
        return "Generate the 3:4 Threads/X crop before publishing."
    pin = prop(fields, "pinterest")
    if "pinterest" in platforms and not all(trim(prop(pin, k)) for k in ("title", "description", "board")):
        return "Complete the Pinterest fields before saving"
    yt = prop(fields, "youtube")
    longform = "youtube_longform" in platforms
    if (longform or "youtube_shorts" in platforms) and (
            not trim(prop(yt, "title")) or (longform and not trim(prop(yt, "description")))
            or (longform and not trim(prop(yt, "playlist")))):
        return "Complete the YouTube fields before saving"
    # publishComposeItem's own refusals (it throws before the first request)
    if len(assets) != 1:
        return "Live publishing from Post currently supports one media item at a time."
    return None


# --- composePublish.ts: the body per platform ----------------------------------------------------------------
def content_for(item: dict[str, Any], platform: str) -> dict[str, Any]:
    """`content` of the one-platform POST /api/platforms/post the client sends (`item` normalized and valid)."""
    fields = item.get("platformFields") or {}
    yt, pin, thumbs = prop(fields, "youtube"), prop(fields, "pinterest"), prop(fields, "thumbnails")
    primary = item["mediaAssets"][0]
    media_url = asset_publish_url(primary)
    video = primary.get("kind") == "video"
    image = primary.get("kind") == "image"
    caption = item.get("sharedCaption", UNDEFINED)
    playlist = prop(yt, "playlist")
    body = {
        "text": js_or(trim(caption) if not nullish(caption) else UNDEFINED, item.get("title", UNDEFINED)),
        "title": js_or(prop(yt, "title"), prop(pin, "title"), item.get("title", UNDEFINED)),
        "youtubeTitle": prop(yt, "title"),
        "youtubeDescription": prop(yt, "description"),
        "youtubePlaylistIds": [playlist] if truthy(playlist) else UNDEFINED,
        "sharedThumbnailUrl": asset_publish_url(prop(thumbs, "shared")) if video else UNDEFINED,
        "youtubeThumbnailUrl": asset_publish_url(prop(thumbs, "youtube")) if video else UNDEFINED,
        "xThumbnailUrl": asset_publish_url(prop(thumbs, "x")) if video else UNDEFINED,
        "imageUrl": media_url if image else UNDEFINED,
        "videoUrl": js_or(video_url_for(item, platform), media_url) if video else UNDEFINED,
    }
    return {k: v for k, v in body.items() if v is not UNDEFINED}


# --- composePublish.ts's summary -----------------------------------------------------------------------------
_SETTLED = ("published", "dry_run", "failed")  # a result in another state settles later in the engine


@dataclass
class Outcome:
    posted: list[str] = field(default_factory=list)  # the platforms' names as the results give them
    failed: list[tuple[str, str]] = field(default_factory=list)  # (platform, error)
    unconfirmed: list[str] = field(default_factory=list)
    # one per platform, in order (`entry_of`): what a late settle of one platform rewrites (`settle_late`)
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "published" if self.posted else "failed"

    @property
    def error(self) -> str | None:
        """ComposeScheduler.tsx's `error` for the item (None: the field is removed)."""
        if self.status == "published":
            return None
        if not self.failed:
            return None
        return "; ".join(f"{p}: {e}" for p, e in self.failed) or "Some platforms failed to publish."

    @property
    def pending(self) -> list[str]:
        """The publications still settling (processing, rate-limited, unconfirmed): their end comes later."""
        return [str(e["publicationId"]) for e in self.entries if e.get("pending") and e.get("publicationId")]


def entry_of(r: dict[str, Any]) -> dict[str, Any]:
    """One response result as the summary reads it (formatFailedResults: anything not `posted` failed, 'Publish
    failed' if silent), with its publication and whether the engine settles it later."""
    name = str(r["platform"]) if isinstance(r.get("platform"), str) else "Unknown"
    state = r.get("state")
    pub = str(r["publicationId"]) if r.get("publicationId") else None
    if r.get("status") == "posted":
        return {"platform": name, "posted": True, "error": None, "unconfirmed": False, "publicationId": pub,
                "pending": False}
    error = r.get("error")
    if not (isinstance(error, str) and error.strip()) and state == "scheduled":
        # accepted, still processing on the platform (the client says 'Publish failed'): it completes on its own
        error = PROCESSING
    return {"platform": name, "posted": False,
            "error": error if isinstance(error, str) and error.strip() else "Publish failed",
            "unconfirmed": state == "unconfirmed", "publicationId": pub,
            "pending": pub is not None and state is not None and state not in _SETTLED}


def entry_without_publication(platform: str, error: str, *, unconfirmed: bool = False) -> dict[str, Any]:
    """A platform the request answered with an error, or that raised before answering (`unconfirmed`)."""
    return {"platform": platform, "posted": False, "error": error, "unconfirmed": unconfirmed, "publicationId": None,
            "pending": False}


def add_entry(out: Outcome, entry: dict[str, Any]) -> None:
    out.entries.append(entry)
    if entry["posted"]:
        out.posted.append(entry["platform"])
        return
    out.failed.append((entry["platform"], entry["error"]))
    if entry["unconfirmed"]:
        out.unconfirmed.append(entry["platform"])


def add_results(out: Outcome, results: list[dict[str, Any]]) -> None:
    """One response's `results`."""
    for r in results:
        add_entry(out, entry_of(r))


def outcome_of(entries: list[dict[str, Any]]) -> Outcome:
    out = Outcome()
    for e in entries:
        add_entry(out, e)
    return out


def settle_late(entries: list[dict[str, Any]], publication_id: str,
                result: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]] | None:
    """A publication recorded still settling has a new result: (the entries with it, the old entry, the new one),
    or None when nothing changes (not pending any more: already settled by an earlier call; the same answer)."""
    at = next((n for n, e in enumerate(entries) if e.get("pending") and e.get("publicationId") == publication_id),
              None)
    if at is None:
        return None
    old = entries[at]
    new = entry_of({**result, "platform": old["platform"], "publicationId": publication_id})
    if new == old or (old["unconfirmed"] and new["unconfirmed"]):  # a re-check that still cannot tell
        return None
    return [*entries[:at], new, *entries[at + 1:]], old, new


def with_late_result(item: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """The item as ComposeScheduler.tsx writes an outcome: published (scheduledAt removed, retry count 0, no error)
    when any platform posted, else failed with the errors. The retry count of a failure stays: a late answer is
    the same attempt (the scheduler's first write counts the attempt itself). `updatedAt` is the caller's."""
    out = dict(item)
    if outcome.status == "published":
        out["status"] = "published"
        out["publishRetryCount"] = 0
        out.pop("scheduledAt", None)
        out.pop("error", None)
        return out
    out["status"] = "failed"
    if outcome.error is None:
        out.pop("error", None)
    else:
        out["error"] = outcome.error
    return out


def retry_count(item: dict[str, Any]) -> int:
    n = item.get("publishRetryCount")
    return int(n) if isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) else 0


def describe(item: dict[str, Any]) -> str:
    """composeNotifications.ts describeItem: the title, else the first file's name, else the caption's start."""
    title = trim(item.get("title"))
    if title and title != "Untitled post":
        return title
    assets = item.get("mediaAssets") or []
    first = trim(prop(assets[0], "fileName")) if assets else ""
    if first:
        return first
    caption = trim(item.get("sharedCaption"))
    return caption[:60] if caption else "Untitled post"
