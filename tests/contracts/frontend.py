"""The shapes the frontend reads, transcribed from ../shared/reference/frontend-contract.md (§ numbers beside each),
and a checker that lists every difference between an answer and its shape.

A shape is:
- a type or a tuple of types (`int` never accepts a bool);
- `OneOf(...)`: one of the listed values (the contract's string unions);
- a dict: the object's fields; a key ending in `?` is optional (absent or null is fine, anything else is checked);
- `[shape]`: a list whose every element has that shape;
- `MapOf(shape)`: an object whose every value has that shape (keys free);
- `Nullable(shape)`: null or that shape;
- `ANY`: any value.
Extra fields are not differences: the frontend ignores what it does not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "frontend-contract.md"

NUM = (int, float)
STR = str
BOOL = bool
ANY = object  # any JSON value


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def __init__(self, *values):
        object.__setattr__(self, "values", tuple(values))


@dataclass(frozen=True)
class MapOf:
    shape: Any


@dataclass(frozen=True)
class Nullable:
    shape: Any


def differences(value: Any, shape: Any, path: str = "data") -> list[str]:
    if shape is ANY:
        return []
    if isinstance(shape, Nullable):
        return [] if value is None else differences(value, shape.shape, path)
    if isinstance(shape, OneOf):
        return [] if value in shape.values else [f"{path}: {value!r} is not one of {list(shape.values)}"]
    if isinstance(shape, MapOf):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        return [d for k, v in value.items() for d in differences(v, shape.shape, f"{path}.{k}")]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        out = []
        for key, sub in shape.items():
            optional = key.endswith("?")
            name = key.rstrip("?")
            if name not in value or (value[name] is None and not isinstance(sub, Nullable)):
                if not optional:
                    out.append(f"{path}.{name}: missing" if name not in value else f"{path}.{name}: null")
                continue
            out += differences(value[name], sub, f"{path}.{name}")
        return out
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [d for i, v in enumerate(value) for d in differences(v, shape[0], f"{path}[{i}]")]
    types = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, bool) and bool not in types:
        return [f"{path}: {value!r} is a boolean, expected {'/'.join(t.__name__ for t in types)}"]
    if not isinstance(value, types):
        return [f"{path}: {value!r} is not {'/'.join(t.__name__ for t in types)}"]
    return []


# --- §1.1 auth and system ---------------------------------------------------------------------------------------
LOGIN_OK = {"success": OneOf(True), "token": STR}  # top level, not in `data`
LOGIN_FAILED = {"success": OneOf(False), "error": STR, "remainingAttempts?": int}
VERIFY = {"valid": BOOL}
HEALTH = {"status": STR, "timestamp": STR}
AUTOMATION_RUN = {"lastRun": Nullable(STR), "nextRun": Nullable(STR), "status": STR, "runsToday": int}
AUTOMATION_STATUS = {"rss": AUTOMATION_RUN, "tmdb": AUTOMATION_RUN, "comments": AUTOMATION_RUN}

# --- §1.2 settings ------------------------------------------------------------------------------------------------
SETTINGS_PUT_META = {"changedKeys": [STR], "notificationTitle": STR, "notificationMessage": STR}
MASK = "••••"  # §1.2: first 4 + `••••` + last 4

# --- §1.3 platforms -------------------------------------------------------------------------------------------------
PLATFORM_NAMES = ("Instagram", "Facebook", "Threads", "TikTok", "X", "YouTube", "Pinterest")
PLATFORM_STATUS = {"connected": BOOL, "username?": STR, "lastPost?": STR, "profileUrl?": STR, "expiresAt?": STR,
                   "error?": STR}
AUTH_URL = {"url": STR}
PLAYLIST = {"id": STR, "title": STR, "itemCount?": int, "privacyStatus?": STR}
PUBLISH_RESULT = {"platform": STR, "status": OneOf("posted", "failed", "skipped"), "error?": STR, "id?": STR,
                  "url?": STR, "postedAt?": STR}
PUBLISH = {"results": [PUBLISH_RESULT], "summary": {"total": int, "posted": int, "failed": int}}
BOARD = {"id": STR, "name": STR, "description?": STR, "privacy": STR, "pin_count?": int}

# --- §1.4 RSS ---------------------------------------------------------------------------------------------------------
RSS_PLATFORMS = ("x", "threads", "facebook", "pinterest")
IMAGE_COUNT = OneOf("1", "2", "3", "random")
FILTER_ITEM = {"text": STR, "matchType": OneOf("contains", "exact"), "caseSensitive": BOOL, "active": BOOL}
RSS_FEED = {
    "id": STR, "name": STR, "url": STR, "favicon?": STR, "enabled": BOOL, "displayOrder": int, "interval": int,
    "imageCount": IMAGE_COUNT, "platformImageCounts?": {f"{p}?": IMAGE_COUNT for p in RSS_PLATFORMS},
    "dedupeDays": int,
    "filters": {"scope": OneOf("title", "body", "title_or_body", "title_and_body"), "required": [FILTER_ITEM],
                "blocked": [FILTER_ITEM], "onlyFetchNewItems?": BOOL, "startFromNowAt?": STR,
                "maxItemAgeMinutes?": int},
    "serperEnabled": BOOL, "tmdbEnabled": BOOL, "serperPriority": BOOL, "openaiWebSearchEnabled?": BOOL,
    "imageSourcePriority?": OneOf("tmdb_first", "openai_first", "serper_first"), "rehostImages": BOOL,
    "autoPost": BOOL, "platformsEnabled": dict.fromkeys(RSS_PLATFORMS, BOOL),
    "trickle?": OneOf("newest_first", "oldest_first"), "status": OneOf("active", "paused", "error"),
    "lastProcessedAt?": STR, "nextRunAt?": STR, "errorMessage?": STR, "createdAt": STR, "updatedAt": STR,
}
FEED_REFRESH = {"feedId": STR, "feedName": STR, "itemsAdded": int, "checkedCount": int, "pendingCount": int,
                "failedCount": int, "latestItemTitle?": STR, "error?": STR,
                "selectionMode?": OneOf("backlog", "latest_item")}
REFRESH_ALL = {"total": int, "success": int, "failed": int}
URL_PREVIEW = {"title": STR, "description?": STR, "link?": STR, "favicon?": STR, "itemCount": int,
               "sampleItems": [{"title": STR, "link": STR, "description?": STR, "pubDate": STR, "imageUrl?": STR}]}
FEED_PREVIEW = {"title": STR, "link": STR, "pubDate": STR, "snippet": STR, "images": [{"url": STR, "reason": STR}],
                "caption": STR, "captionCharCount": int}
PLATFORM_RESULT = {"platform": STR, "status": OneOf("posted", "failed", "skipped"), "error?": STR, "id?": STR,
                   "url?": STR, "postedAt": STR}
RSS_ACTIVITY_ITEM = {
    "id": STR, "feedId?": STR, "feedName": STR, "title": STR, "link?": STR, "description?": STR, "contentHtml?": STR,
    "imageUrl?": STR, "imageUrls?": [STR], "imageSource?": OneOf("tmdb", "serper", "openai_web_search", "feed"),
    "imageReason?": STR, "imageScore?": NUM, "imageSelectionConfidence?": OneOf("high", "medium", "low"),
    "selectedImages?": [{"url": STR, "reason": STR, "source": STR, "score?": NUM}],
    "status": OneOf("pending", "published", "failed", "filtered"), "timestamp": STR, "publishedAt?": STR,
    "platforms": [STR], "platformPostIds?": MapOf(STR), "platformResults?": [PLATFORM_RESULT], "error?": STR,
}
RSS_ACTIVITY = {"items": [RSS_ACTIVITY_ITEM],
                "summary": {"total": int, "published": int, "pending": int, "failed": int, "filtered?": int}}

# --- §1.5 TMDb --------------------------------------------------------------------------------------------------------
TMDB_POST = {
    "id": STR, "tmdbId": int, "mediaType": OneOf("movie", "tv"), "title": STR, "year": int, "releaseDate": STR,
    "caption": STR, "imageUrl": STR, "imageType": OneOf("poster", "backdrop"), "scheduledTime": STR,
    "source": OneOf("tmdb_today", "tmdb_weekly", "tmdb_monthly", "tmdb_anniversary"), "cast": [STR],
    "popularity": NUM, "cacheHit": BOOL, "status": OneOf("queued", "scheduled", "published", "failed"),
    "platforms": [OneOf("X", "Threads", "Facebook", "YouTube", "Pinterest")], "publishedTime?": STR,
    "errorMessage?": STR, "createdAt": STR, "updatedAt": STR,
}
TMDB_REFRESH = {"added": int, "errors": [STR]}
# a person or a company has no backdrop or poster: TMDb answers null there, and so do we
TMDB_SEARCH_RESULT = {"id": int, "mediaType": OneOf("movie", "tv", "person", "company"), "title": STR,
                      "backdrop": Nullable(STR), "poster": Nullable(STR), "profile?": STR,
                      "releaseDate": Nullable(STR)}
TMDB_IMAGE = {"path": STR, "url": STR}
TMDB_IMAGES = {"posters": [TMDB_IMAGE], "backdrops": [TMDB_IMAGE], "logos?": [TMDB_IMAGE], "profiles?": [TMDB_IMAGE]}

# --- §1.6 channels ----------------------------------------------------------------------------------------------------
CHANNEL = {"id": STR, "name": STR, "channelId": STR, "status": OneOf("active", "inactive"), "videoCount?": int}
DETECTION = {"id": STR, "title": STR, "publishedAt": STR, "channel": {"id": STR, "name": STR}}

# --- §1.7 comments ----------------------------------------------------------------------------------------------------
COMMENT_STATS = {"platform": STR, "repliesToday": int, "successRate": NUM,
                 "recentReplies": [{"comment": STR, "reply": STR, "time": STR}], "enabled": BOOL}
COMMENT_READINESS = {"platform": STR, "enabled": BOOL, "connected": BOOL, "ready": BOOL, "username?": STR,
                     "reasons": [STR]}

# --- §1.8 notifications, logs, jobs, dashboard -----------------------------------------------------------------------
NOTIFICATION = {"id": STR, "type": OneOf("success", "error", "info", "warning"), "title": STR, "message": STR,
                "timestamp": STR, "createdAt": STR, "read": BOOL, "source": STR, "actionPage?": STR}
LOG_ENTRY = {"id": STR, "timestamp": STR, "level": OneOf("info", "warn", "error", "debug"), "message": STR,
             "service": STR, "metadata?": dict}
UPLOAD_JOB = {
    "id": STR, "fileName": STR, "fileSize": int, "sourceUrl?": STR,
    "status": OneOf("pending", "processing", "completed", "failed"),
    "stage": OneOf("queued", "processing", "generating_metadata", "encoding", "waiting_schedule", "uploading",
                   "published"),
    "progress": NUM,
    "metadata": {"title?": STR, "titleScore?": NUM, "description?": STR, "descriptionWordCount?": int,
                 "seoScore?": NUM, "tags?": [STR], "thumbnailUrl?": STR, "thumbnailAvailable": BOOL},
    # §3.4: what the Upload Manager shows besides
    "events?": list, "costEstimate?": NUM, "backendUsed?": OneOf("google-video-intelligence", "ffmpeg"),
    "maxRetries?": int,
}
SYSTEM_STATS = {"cacheHitRate": NUM, "systemErrors": int, "dailyFailures": int, "dailySuccess": int}
DASHBOARD_STATS = {
    "system": SYSTEM_STATS,
    "comments": {"repliesToday": int, "successRate": NUM,
                 "recentReplies": [{"id": STR, "comment": STR, "reply": STR, "platform": STR, "repliedAt": STR}],
                 "activePlatforms": int},
    "video": {"activeChannels": int, "dailyVideos": int, "trends": [{"date": STR, "videos": int}],
              "recentActivity": [{"id": STR, "title": STR, "channelName": STR, "publishedAt": STR}]},
    "rss": {"activeFeeds": int, "dailyPosted": int,
            "recentFeeds": [{"id": STR, "name": STR, "status": STR, "lastProcessedAt": Nullable(STR),
                             "nextRunAt": Nullable(STR)}]},
    "tmdb": {"readyCount": int, "coverageDays": int,
             "upcoming": [{"id": STR, "title": STR, "source": STR, "scheduledTime": STR, "dateLabel": STR,
                           "timeLabel": STR}]},
    "designStudio": {"generated": int, "published": int, "recentActivity": list},
    "videoStudio": {"generated": int, "published": int, "recentActivity": list},
    "uploads": {"activeUploads": int, "completedToday": int,
                "pipeline": [{"id": STR, "fileName": STR, "stage": STR, "progress": NUM, "status": STR}]},
    "usage": dict.fromkeys(("openai", "serper", "tmdb", "shotstack", "googleSearch", "googleVideo", "total"), NUM),
    "recentActivity": [{"id": STR, "title": STR, "platform": STR, "status": OneOf("success", "failed"), "type": STR,
                        "timestamp": STR}],
}

# --- §1.9 AI ----------------------------------------------------------------------------------------------------------
AI_CONTENT = {"content": STR}

# --- §1.10 storage ----------------------------------------------------------------------------------------------------
CREATE_ASSET = {"url": STR, "fileId?": STR, "fileName": STR, "previewUrl?": STR}
VIDEO_STUDIO_ASSET = {"url": STR, "fileName": STR, "originalName": STR, "contentType": STR, "size": int}
DESIGN_STUDIO_ASSET = {"url": STR, "fileName": STR}
COMPOSE_METADATA = {"sharedCaption": STR, "youtubeTitle": STR, "youtubeDescription": STR,  # §1.9
                    "playlistSelection": Nullable({"playlistId": STR, "playlistName": STR, "reason": STR,
                                                   "confidence": NUM})}
# §1.9 compose-content, typed as the SPA declares it (app/src/lib/api/ai.ts ComposeContentGenerationResult)
COMPOSE_CONTENT = {
    "intentResult": {"intent": OneOf("post_generation", "review_generation", "summary_generation",
                                     "promo_caption_generation", "metadata_extraction", "mixed_request"),
                     "outputMode": OneOf("post_fields", "preview_only"),
                     "format": OneOf("general", "short_form_video", "social_post", "youtube_metadata"),
                     "durationSeconds": Nullable(NUM), "directFieldFillAllowed": BOOL, "detectedTitle": STR,
                     "containsMetadata": BOOL},
    "mediaMetadata": {"title": STR, "year": Nullable(NUM), "mediaType": STR, "cast": [STR], "director": STR,
                      "creator": STR, "studio": STR, "platform": STR, "releaseDate": STR, "synopsis": STR,
                      "producers": [STR], "franchise": STR, "tone": STR, "sourceType": STR},
    "postFields": {"sharedCaption": STR, "youtubeTitle": STR, "youtubeDescription": STR,
                   "playlistSelection": {"playlistId": Nullable(STR), "playlistName": Nullable(STR), "reason": STR,
                                         "confidence": NUM}},
    "editorialResult": {"type": Nullable(OneOf("review", "summary", "editorial")), "text": STR},
}
# §1.9 compose-thumbnail (ComposeThumbnailGenerationResult)
COMPOSE_THUMBNAIL = {"fileName": STR, "mimeType": STR, "size": NUM, "previewUrl": STR, "storageUrl": STR,
                     "uploadStatus": OneOf("uploaded"), "strategy?": STR, "resolvedTitle?": STR}
CREATE_STATE = {"items": [MapOf(ANY)], "updatedAt": Nullable(STR)}  # §1.10: `{items, updatedAt}`
BACKBLAZE_FILE = {"fileId": STR, "fileName": STR, "contentType": STR, "contentLength": int, "uploadTimestamp": NUM,
                  "lastModified?": (STR, int, float), "url": STR}


# --- the endpoint table itself ----------------------------------------------------------------------------------------
_ROW = re.compile(r"^\|\s*([A-Z/]+)\s*\|\s*([^|]+?)\s*\|(.*)\|\s*([^|]*?)\s*\|\s*$")


def _expand_paths(cell: str) -> list[str]:
    """`/api/video-studio/backblaze/{videos|subtitles}` -> both; `/api/x/:id` -> `/api/x/{id}`."""
    cell = re.sub(r"\(.*?\)", "", cell).replace("`", "").replace("*", "").strip()
    m = re.search(r"\{([a-z-]+(?:\|[a-z-]+)+)\}", cell)
    if m:
        return [p for alt in m.group(1).split("|") for p in _expand_paths(cell.replace(m.group(0), alt))]
    return [re.sub(r":([A-Za-z]+)", r"{\1}", cell.split("?")[0].strip())]


def real_app_endpoints(text: str | None = None) -> list[tuple[str, str]]:
    """(method, path) of every §1 row the real app calls (its Src cell names R), in the contract's order.
    Rows that name two operations (`DELETE /a ; DELETE /b`, `GET /a; POST same`) and methods (`GET/PUT`) are
    split."""
    text = text if text is not None else CONTRACT.read_text()
    section = text.split("## 1. Endpoint table", 1)[1].split("\n## 2.", 1)[0]
    out: list[tuple[str, str]] = []
    for line in section.splitlines():
        line = re.sub(r"\{[^}]*\}", lambda m: m.group(0).replace("|", "\0"), line)  # `{a|b}` is not a cell border
        m = _ROW.match(line)
        if not m or m.group(1) == "M":
            continue
        if "R" not in [t.strip() for t in re.sub(r"\(.*?\)", "", m.group(4)).split(",")]:
            continue
        methods, paths = m.group(1), m.group(2).replace("\0", "|")
        last = None
        for part in paths.split(";"):
            part = part.strip()
            lead = re.match(r"^([A-Z]+)\s+(.*)$", part)
            ms, p = (lead.group(1), lead.group(2)) if lead else (methods, part)
            if p == "same":
                p = last
            last = p
            for method in ms.split("/"):
                for path in _expand_paths(p):
                    if (method, path) not in out:
                        out.append((method, path))
    return out
