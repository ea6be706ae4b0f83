"""Every settings key the frontend persists (frontend-contract §4.2), with its default, and which are secrets.

Unknown keys are rejected by PUT /api/settings. Secrets are encrypted at rest and returned masked.
"""

from __future__ import annotations

from typing import Any

SECRET_KEYS: frozenset[str] = frozenset({
    "youtubeKey", "openaiKey", "serperKey", "tmdbKey", "googleVideoIntelligenceKey", "shotstackKey", "s3Key",
    "backblazeKeyId", "backblazeApplicationKey", "backblazeVideosKeyId", "backblazeVideosApplicationKey",
    "backblazeDesignKeyId", "backblazeDesignApplicationKey", "redisUrl", "databaseUrl",
    "videoGoogleSearchApiKey", "commentGoogleSearchApiKey", "captionGoogleSearchApiKey", "photopeaApiKey",
})

# key -> default. Secrets default to "" (not set).
DEFAULTS: dict[str, Any] = {
    **{k: "" for k in SECRET_KEYS},
    "timezone": "Africa/Lagos",
    # RSS posting rules
    "globalRSSPosting": True,
    "rssEventDrivenPosting": True,
    "rssPostingInterval": "10",
    "rssCaptionModel": "gpt-5.4-nano",
    "rssCaptionTemperature": 0.7,
    "rssCaptionTone": "Engaging",
    "rssCaptionMaxLength": 280,
    "rssCaptionPrompt": "",
    "dailyQuotaX": 50,
    "dailyQuotaThreads": 100,
    "dailyQuotaFacebook": 25,
    "dailyQuotaPinterest": 100,
    "quietHoursEnabled": True,
    "quietHoursStart": 0,
    "quietHoursEnd": 7,
    "rssDeduplication": True,
    "rssLogLevel": "standard",
    "rssActivityRetention": 24,
    # YouTube channel monitoring (read by shared/channels)
    "fetchInterval": "10",
    "advancedFilters": "trailer, official, teaser",
    "excludeShorts": True,
    "regionFilter": "US,UK",
}
