"""RSS feeds, their activity, previews, and the RSS caption generator (frontend-contract §1.4, §1.9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api.schemas.base import Deleted, Envelope

ImageCountText = Literal["1", "2", "3", "random"]


class FeedFilterRule(BaseModel):
    text: str
    matchType: Literal["contains", "exact"]
    caseSensitive: bool
    active: bool


class FeedFilters(BaseModel):
    """Keyword filters; keys the SPA adds beyond these are kept as sent."""
    model_config = ConfigDict(extra="allow")
    scope: Literal["title", "body", "title_or_body", "title_and_body"]
    required: list[FeedFilterRule] = Field(description="all of them must match")
    blocked: list[FeedFilterRule] = Field(description="any of them rejects the item")
    onlyFetchNewItems: bool | None = None
    startFromNowAt: str | None = Field(default=None, description="ISO 8601: items published before are skipped")
    maxItemAgeMinutes: int | None = None


class FeedImageCounts(BaseModel):
    x: ImageCountText | None = None
    threads: ImageCountText | None = None
    facebook: ImageCountText | None = None
    pinterest: ImageCountText | None = None


class FeedPlatforms(BaseModel):
    model_config = ConfigDict(extra="allow")
    x: bool
    threads: bool
    facebook: bool
    pinterest: bool


class RSSFeed(BaseModel):
    """A feed as the RSS page reads it (frontend-contract §1.4 `RSSFeed`)."""
    id: str
    name: str
    url: str
    favicon: str | None
    enabled: bool
    displayOrder: int
    interval: int = Field(description="minutes between checks (1-60)")
    imageCount: ImageCountText
    platformImageCounts: FeedImageCounts | None
    dedupeDays: int
    filters: FeedFilters
    serperEnabled: bool
    tmdbEnabled: bool
    serperPriority: bool
    openaiWebSearchEnabled: bool
    imageSourcePriority: Literal["tmdb_first", "openai_first", "serper_first"] | None
    rehostImages: bool
    autoPost: bool = Field(description="off: new items wait for approval")
    platformsEnabled: FeedPlatforms
    trickle: Literal["newest_first", "oldest_first"]
    status: Literal["active", "paused", "error"]
    lastProcessedAt: datetime | None
    nextRunAt: datetime | None
    errorMessage: str | None
    consecutiveFailures: int = Field(description="failed checks in a row (the back-off grows with them)")
    createdAt: datetime
    updatedAt: datetime


class FeedRefresh(BaseModel):
    """What one check of the feed found."""
    feedId: str
    feedName: str
    itemsAdded: int
    checkedCount: int
    pendingCount: int
    failedCount: int
    latestItemTitle: str | None
    selectionMode: Literal["backlog", "latest_item"] | None
    notModified: bool = Field(description="the server answered 304: nothing was parsed")
    seeded: bool = Field(description="the first check of a feed: what it holds is remembered, not posted")
    error: str | None = None


class RefreshAll(BaseModel):
    total: int
    success: int
    failed: int
    skipped: int = Field(description="feeds another run was already checking")


class SampleItem(BaseModel):
    title: str
    link: str | None
    description: str
    pubDate: datetime | None
    imageUrl: str | None


class UrlPreview(BaseModel):
    title: str | None
    description: str | None
    link: str | None
    favicon: str
    itemCount: int
    sampleItems: list[SampleItem] = Field(description="the first five items")
    finalUrl: str = Field(description="the URL after redirects")


class PreviewImage(BaseModel):
    url: str
    reason: str
    source: str
    width: int | None
    height: int | None


class RejectedImage(BaseModel):
    url: str | None
    source: str
    reason: str


class FeedPreview(BaseModel):
    """The pipeline run on the feed's latest item, nothing stored or posted."""
    title: str
    link: str | None
    pubDate: datetime | None
    snippet: str
    images: list[PreviewImage]
    rejectedImages: list[RejectedImage]
    caption: str
    captionCharCount: int
    captionPlatform: Literal["x", "threads"]
    captionSource: str = Field(description="ai, ai_cached or template")


class SelectedImage(BaseModel):
    url: str
    reason: str
    source: Literal["feed", "serper"]


class PlatformResult(BaseModel):
    platform: str
    status: Literal["posted", "failed", "skipped"]
    postedAt: datetime
    dryRun: bool | None = Field(default=None, description="recorded only: nothing was sent (dry-run mode)")
    id: str | None = None
    url: str | None = None
    error: str | None = None
    kind: str | None = Field(default=None, description="the error's class, when it failed")
    publicationId: str | None = None
    provenAbsent: bool | None = Field(default=None, description="the platform was checked: the post is not there")


class PlannedPost(BaseModel):
    platform: str
    scheduledAt: datetime
    status: str = Field(description="planned, publishing, waiting, posted, dry_run, failed, cancelled")
    version: int


class RSSActivityItem(BaseModel):
    """An item of the activity list (frontend-contract §1.4 `RSSActivityItem`)."""
    id: str
    feedId: str
    feedName: str
    title: str
    link: str | None
    description: str | None
    contentHtml: str | None
    imageUrl: str | None
    imageUrls: list[str]
    imageSource: Literal["feed", "serper"] | None
    imageReason: str | None
    selectedImages: list[SelectedImage]
    status: Literal["pending", "published", "failed", "filtered"]
    stage: str = Field(description="the pipeline's own state: new, pending, queued, published, failed, filtered, "
                                   "duplicate")
    reason: str | None = Field(description="why it waits, was filtered or failed")
    caption: str | None
    captionSource: str | None
    timestamp: datetime
    firstSeenAt: datetime
    publishedAt: datetime | None
    pubDate: datetime | None
    scheduledFor: datetime | None
    platforms: list[str]
    platformPostIds: dict[str, str]
    platformResults: list[PlatformResult]
    dryRun: bool
    error: str | None
    plannedPosts: list[PlannedPost]


class ActivitySummary(BaseModel):
    total: int
    published: int
    pending: int
    failed: int
    filtered: int
    queued: int


class RSSActivity(BaseModel):
    """The newest items (`limit`) and the counts of every item kept."""
    items: list[RSSActivityItem]
    summary: ActivitySummary


class RssCaption(BaseModel):
    content: str
    source: Literal["ai", "ai_cached", "template"]
    charCount: int = Field(description="as the platform counts it (X: URLs count 23)")
    model: str | None = Field(default=None, description="the AI model, when AI wrote it")


RESPONSES: dict[str, Any] = {
    "GET /api/rss/feeds": Envelope[list[RSSFeed]],
    "POST /api/rss/feeds": Envelope[RSSFeed],
    "POST /api/rss/feeds/reorder": Envelope[list[RSSFeed]],
    "PUT /api/rss/feeds/{feed_id}": Envelope[RSSFeed],
    "DELETE /api/rss/feeds/{feed_id}": Envelope[Deleted],
    "POST /api/rss/feeds/{feed_id}/refresh": Envelope[FeedRefresh],
    "GET /api/rss/feeds/{feed_id}/preview": Envelope[FeedPreview],
    "POST /api/rss/refresh": Envelope[RefreshAll],
    "POST /api/rss/preview": Envelope[UrlPreview],
    "GET /api/rss/activity": Envelope[RSSActivity],
    "POST /api/rss/activity/{item_id}/retry": Envelope[RSSActivityItem],
    "POST /api/rss/activity/{item_id}/approve": Envelope[RSSActivityItem],
    "DELETE /api/rss/activity/{item_id}": Envelope[Deleted],
    "POST /api/ai/generate/rss-caption": Envelope[RssCaption],
}
