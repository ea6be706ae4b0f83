"""Every settings key the frontend persists (frontend-contract §4.2, §4.3, §3.9), with its default, its value
kind and whether it is a secret.

PUT /api/settings rejects keys that are not listed here. Secrets are encrypted at rest and returned masked.
Defaults follow the real app's SettingsContext / TMDb service; where the contract names a key without a
default, strings default to "" (the client keeps its local non-empty value when the backend's is empty) and
values of unknown shape to None. A few keys the old backend persisted for the same frontend (peer-backend §3.7)
are listed too, so a save that includes them is not refused.

Value kinds (checked loosely by shared/settings/validation.py):
  bool    true/false only
  number  int or float (not bool), or a numeric string
  string  a string; a number is accepted (several "number" settings are strings in the UI, e.g. '10')
  scalar  a string or a number (semantics not documented)
  list    a JSON array
  object  a JSON object, or a string holding one (the UI stores a few as JSON strings)
  any     any JSON value
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["bool", "number", "string", "scalar", "list", "object", "any"]


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    kind: Kind
    secret: bool = False


_SPECS: list[SettingSpec] = []


def _kind_of(default: Any) -> Kind:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, (int, float)):
        return "number"
    if isinstance(default, str):
        return "string"
    if isinstance(default, list):
        return "list"
    if isinstance(default, dict):
        return "object"
    return "any"


def _add(group: dict[str, Any], kinds: dict[str, Kind] | None = None) -> None:
    for key, default in group.items():
        _SPECS.append(SettingSpec(key, default, (kinds or {}).get(key) or _kind_of(default)))


def _secrets(*keys: str) -> None:
    for key in keys:
        _SPECS.append(SettingSpec(key, "", "string", secret=True))


# --- secrets (write-only, returned masked) -------------------------------------------------------
_secrets(
    "youtubeKey", "openaiKey", "serperKey", "tmdbKey", "googleVideoIntelligenceKey", "shotstackKey", "s3Key",
    "backblazeKeyId", "backblazeApplicationKey", "backblazeVideosKeyId", "backblazeVideosApplicationKey",
    "backblazeDesignKeyId", "backblazeDesignApplicationKey", "redisUrl", "databaseUrl",
    "videoGoogleSearchApiKey", "commentGoogleSearchApiKey", "captionGoogleSearchApiKey", "photopeaApiKey",
)

# --- storage / search config (non-secret) --------------------------------------------------------
_add({
    "backblazeBucketName": "", "backblazeVideosBucketName": "", "backblazeDesignBucketName": "",
    "backblazeEndpoint": "s3.us-west-004.backblazeb2.com",
    "videoGoogleSearchCx": "", "commentGoogleSearchCx": "", "captionGoogleSearchCx": "",
})

# --- video / YouTube trailer poller ----------------------------------------------------------------
_add({
    "fetchInterval": "10", "postInterval": "10", "regionFilter": "US,UK",
    "advancedFilters": "trailer, official, teaser", "excludeShorts": True,
    "videoOpenaiModel": "gpt-5.4-mini",
    "videoUniversalCaptionPrompt": "", "videoYoutubeTitlePrompt": "", "videoYoutubeDescriptionPrompt": "",
    "videoYoutubePlaylistPrompt": "", "videoFilterPrompt": "", "videoYoutubePlaylists": "",
    # the Create page's "Generate content" sends these two (ComposeEditorPage.tsx: settings.videoReviewPrompt,
    # settings.videoSummaryPrompt); without them here a settings save that carries them is refused whole
    "videoReviewPrompt": "", "videoSummaryPrompt": "",
    "videoYoutubeXThumbnailPrompt": "", "videoSocialThumbnailPrompt": "",
    "videoFilterCache": True, "videoFilterTmdbValidation": True,
    "videoTitleCleaningRegex": r"(?:\s*[–-]\s*(?:Official|Teaser|Trailer|HD|4K|2024|2025|2026).*$)",
    "videoTmdbFallback": "use-youtube-thumbnail",
    "videoPinterestTitlePrompt": "", "videoPinterestDescriptionPrompt": "", "videoPinterestBoard": "",
    "videoPinterestLinkStrategy": "youtube", "videoPinterestDefaultLink": "",
    # semantics not read in the frontend: accepted as given
    "videoAgeGateHours": None, "videoBacklogMode": None, "videoFutureOnlySince": None,
    # JSON strings {platform, logoPosition, autoScale, maxLogoSize, autoContrastBackdrop, autoContrastOverlay}
    "thumbnailConfig_youtube": None, "thumbnailConfig_x": None,
    "videoActivityRetention": 24,
    "pollingWindows": None,  # old backend's VIDEO_SETTINGS_KEYS
}, kinds={"videoAgeGateHours": "scalar", "videoBacklogMode": "any", "videoFutureOnlySince": "scalar",
          "thumbnailConfig_youtube": "object", "thumbnailConfig_x": "object"})

# --- RSS -------------------------------------------------------------------------------------------
_add({
    "globalRSSPosting": True, "rssEventDrivenPosting": True, "rssPostingInterval": "10",
    "rssCaptionModel": "gpt-5.4-nano", "rssCaptionTemperature": 0.7, "rssCaptionTone": "Engaging",
    "rssCaptionMaxLength": 280, "rssCaptionPrompt": "",
    "dailyQuotaX": 50, "dailyQuotaThreads": 100, "dailyQuotaFacebook": 25, "dailyQuotaPinterest": 100,
    "quietHoursEnabled": True, "quietHoursStart": 0, "quietHoursEnd": 7,
    # persisted by the client but missing from its defaults list
    "rssDailyLimit": None, "rssStartHour": None, "rssEndHour": None, "rssDefaultInterval": None,
    "rssPinterestBoard": "", "rssPinterestTitlePrompt": "", "rssPinterestDescriptionPrompt": "",
    "rssPinterestBoardPrompt": "", "rssPinterestLinkStrategy": "article", "rssPinterestDefaultLink": "",
    "rssActivityRetention": 24, "rssLogLevel": "standard",
    # local-only legacy keys (the backend still honours rssDeduplication)
    "rssEnabled": False, "globalEnabled": False, "postingInterval": "10", "rssImageCount": "random",
    "rssPlatforms": ["x", "threads"], "rssFetchInterval": "5", "rssDeduplication": True,
    # the old backend's RSS keys for the same frontend
    "rssEditorialBrainShadowMode": True, "rssEditorialBrainCaptionStrategyPromotion": False,
    "rssEditorialBrainImageStrategyPromotion": False, "rssEditorialBrainModel": "gpt-5.4-nano",
    "rssOpenaiWebSearchEnabled": False,
}, kinds={"rssDailyLimit": "scalar", "rssStartHour": "scalar", "rssEndHour": "scalar",
          "rssDefaultInterval": "scalar", "rssImageCount": "scalar"})

# --- TMDb ------------------------------------------------------------------------------------------
_TMDB_FEEDS = ("today", "weekly", "monthly", "anniversary")
_TMDB_BOARDS = {"today": "New Releases Today", "weekly": "Coming This Week", "monthly": "Coming Next Month",
                "anniversary": "Movie & TV Anniversaries"}
_add({
    "openaiModel": "", "tmdbCaptionModel": "gpt-5.4-nano", "tmdbCaptionTemperature": 0.7,
    "enableToday": True, "enableWeekly": True, "enableMonthly": True, "enableAnniversaries": True,
    "todayMaxItems": "5", "weeklyMaxItems": "10", "monthlyMaxItems": "30", "anniversaryMaxItems": "5",
    "anniversaryYears": ["1", "2", "3", "5", "10", "15", "20", "25"], "anniversaryStartYear": "1995",
    "maxPerAnniversary": "2",
    "captionMaxLength": "100", "includeCast": True, "includeDate": True, "preferredImage": "poster",
    "rehostImages": True,
    "dedupeWindow": "30", "discoveryCacheTTL": "12", "creditsCacheTTL": "30", "captionCacheTTL": "30",
    "tmdbQueuedRetentionHours": 168, "tmdbActivityRetention": 24, "tmdbLogLevel": "standard",
    "timezone": "Africa/Lagos",
    # when the daily TMDb refresh runs, local time in `timezone` (the old backend's key; peer-backend §1.4)
    "tmdbDailyRefreshTime": "07:00",
    "movieGenres": [], "tvGenres": [], "selectedGenres": [], "onlyPopular": True, "languageFilter": "en",
    **{f"{f}AutoPost": False for f in _TMDB_FEEDS},
    **{f"{f}Platforms": {"x": True, "threads": f != "anniversary", "facebook": False, "youtube": False,
                         "pinterest": False} for f in _TMDB_FEEDS},
    **{f"{f}Prompt": "" for f in _TMDB_FEEDS},
    **{f"{f}PinterestTitlePrompt": "" for f in _TMDB_FEEDS},
    **{f"{f}PinterestDescriptionPrompt": "" for f in _TMDB_FEEDS},
    **{f"{f}PinterestBoard": _TMDB_BOARDS[f] for f in _TMDB_FEEDS},
    **{f"{f}PinterestLinkStrategy": "tmdb" for f in _TMDB_FEEDS},
}, kinds={"tmdbQueuedRetentionHours": "scalar", "anniversaryYears": "list", "tmdbDailyRefreshTime": "string"})

# --- comment replies -------------------------------------------------------------------------------
_COMMENT_PLATFORMS = ("x", "threads", "facebook", "instagram", "youtube", "tiktok", "pinterest")
_add({
    "commentRepliesActive": True,
    # derived counters the UI shows; accepted so a save that echoes them is not refused
    "totalCommentsProcessed": 0, "repliesPosted": 0, "commentErrors": 0,
    "commentBlacklistUsernames": "", "commentBlacklistKeywords": "",
    "commentReplyFrequency": "instant", "commentThrottle": "low",
    "commentReplyModel": "gpt-5.4-nano", "commentReplyTemperature": 0.7, "commentReplyTone": "Engaging",
    "commentReplyMaxLength": 280, "commentReplyPrompt": "",
    "commentUseGoogleSearch": False, "commentUseSerper": False,
    **{f"{p}CommentBlacklist": {"active": p in ("x", "instagram"), "usernames": "", "keywords": "",
                                "noEmojiOnly": False, "noLinks": False, "pauseOldPosts": True,
                                "pauseAfterHours": "24"} for p in _COMMENT_PLATFORMS},
    "commentRetention": "168",
    # backend additions: minutes between comment polls (5, 10, 15, 20, 30 or 60: the schedule's cron), replies
    # per day per platform
    "commentPollInterval": "10",
    "commentDailyReplyCaps": {"x": 50, "threads": 100, "facebook": 100, "instagram": 100, "youtube": 20},
})

# --- Design Studio ---------------------------------------------------------------------------------
_add({
    "captionPosterPrompt": "", "captionCarouselPrompt": "", "captionStoryPrompt": "",
    "captionAnnouncementPrompt": "", "captionGeneralPrompt": "",
    "designStudioPinterestTitlePrompt": "", "designStudioPinterestDescriptionPrompt": "",
    "designStudioPinterestBoardPrompt": "",
    "designStudioActivityRetention": 24, "designStudioLogLevel": "standard",
})

# --- Video Studio ----------------------------------------------------------------------------------
_add({
    "systemPrompt": "", "captionReviewPrompt": "", "captionReleasesPrompt": "", "captionScenesPrompt": "",
    "videoStudioPinterestTitlePrompt": "", "videoStudioPinterestDescriptionPrompt": "",
    "videoStudioPinterestBoardPrompt": "",
    "videoStudioActivityRetention": 24, "videoStudioLogLevel": "standard",
    "captionOpenaiModel": "gpt-5.4-mini", "captionTemperature": 0.7,
    "videoStudioWebSearchEnabled": False, "videoStudioWebSearchProvider": "serper",
    "videoStudioWebSearchMaxResults": 5,
    # design-export extras, possibly local-only
    "temperature": 0, "topP": 0.95, "maxTokens": 4096, "captionMaxTokens": 500, "captionTone": "engaging",
    "captionIncludeHashtags": True, "captionIncludeEmojis": True, "useStructuredOutput": True,
    "validateTimestamps": True, "autoRetryOnMismatch": True, "previewBeforeRender": True,
})

# --- other: PAD chat, compose, platform preferences (§4.3), general -------------------------------------
_add({
    "padChatModel": "gpt-5.4-nano", "padChatSystemPrompt": "",
    "composeActivityRetention": 30, "composeDefaultScheduleTime": "09:00",
    "platformSettings": {
        "youtube": {"autoUpload": True, "defaultPrivacy": "private", "defaultCategory": "Entertainment",
                    "madeForKids": False, "notifySubscribers": True},
        "x": {"autoPublish": True, "includeHashtags": True, "mentionAccount": "", "tier": "free"},
        "meta": {"autoPublishInstagram": True, "autoPublishFacebook": True, "autoPublishThreads": False,
                 "preferReels": True, "shareReelsToFeed": True, "defaultImageCount": "1"},
        "tiktok": {"autoPublish": True, "privacyLevel": "PUBLIC_TO_EVERYONE", "disableComments": False,
                   "disableDuet": False, "disableStitch": False},
    },
    # the old backend's general keys (publish retries)
    "maxRetries": 3, "retryDelay": 2000,
    # publishing engine: "" follows PUBLISH_MODE; "dry_run" or "live" overrides it at runtime
    "publishMode": "",
})

# --- cleanup (§3.9); retention values are hours --------------------------------------------------------
_add({
    "cleanupEnabled": True, "cleanupInterval": "daily", "storageRetention": 48,
    "videoCleanupInterval": "daily", "videoStorageRetention": 48,
    "imageCleanupInterval": "daily", "imageStorageRetention": 48,
    "videoStudioCleanupInterval": "daily", "videoStudioStorageRetention": 48,
    "logsRetention": 168, "recentActivityRetention": 24,
    # backend additions: how long notifications are kept (read ones, and unread ones)
    "notificationRetention": 168, "unreadNotificationRetention": 720,
})

# --- free-tier budget: the usage meter's alerts and the governor's trade-offs (shared/usage) --------------
_add({
    "usageGovernor": "auto",  # auto: slow things down before a free tier runs out; alert_only: only notify
    "usageAlertPercent": 80,  # notify when a resource's month projection passes this share of its tier
    "usageDegradePercent": 90,  # the governor pulls a lever when a projection passes this
    # which levers the governor may pull (false keeps that behaviour whatever it costs)
    "usageGovernorLevers": {"widenRssChecks": True, "delayRssProcessing": True, "batchPosts": True,
                            "slowComments": True, "pauseComments": True},
    # freshness vs database wake-ups: changed feeds wait at most this long for a processing window ...
    "rssProcessingWindowMinutes": 120,
    # ... unless a new item would be posted: then it is processed when seen (the governor may turn this off)
    "rssUrgentProcessing": True,
    "postAlignMinutes": 10,  # post times snap to this grid so posts to several platforms share a wake-up
    "commentPollMinutes": 10,  # the comment automation's polling cadence (the governor may widen it)
    "neonComputeUnits": 0.25,  # Neon compute size: CU-hours = awake hours × this
})

# --- notifications (mostly device-local) and device-local UI preferences --------------------------------
_add({
    "inAppNotifications": True, "desktopNotifications": False, "notificationSound": True,
    "notifyUploads": True, "notifyRSS": True, "notifyTMDb": True, "notifyVideoStudio": True,
    "notifyDesignStudio": True, "notifySystem": True,
    "autoDismissToasts": True, "toastDuration": 5000, "doNotDisturb": False,
    "dndStartTime": "22:00", "dndEndTime": "07:00", "emailNotifications": False, "pushNotifications": False,
    "darkMode": True, "hapticsEnabled": True,
})


SPECS: dict[str, SettingSpec] = {}
for _spec in _SPECS:
    if _spec.key in SPECS:  # a key listed twice would silently take the second default
        raise RuntimeError(f"settings key {_spec.key!r} is listed twice in the inventory")
    SPECS[_spec.key] = _spec

SECRET_KEYS: frozenset[str] = frozenset(s.key for s in _SPECS if s.secret)

# key -> default. Secrets default to "" (not set).
DEFAULTS: dict[str, Any] = {s.key: s.default for s in _SPECS}
