"""The dashboard (frontend-contract §1.8 `DashboardStats`), automation status and the usage report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.api.schemas.base import Envelope


class SystemStats(BaseModel):
    cacheHitRate: float = Field(description="percent of today's AI captions served from the cache")
    systemErrors: int = Field(description="error entries in today's activity log")
    dailyFailures: int
    dailySuccess: int


class DashboardReply(BaseModel):
    id: str
    comment: str
    reply: str
    platform: str
    repliedAt: datetime


class CommentsBlock(BaseModel):
    repliesToday: int
    successRate: float
    recentReplies: list[DashboardReply]
    activePlatforms: int


class VideoTrend(BaseModel):
    date: date
    videos: int


class VideoActivity(BaseModel):
    id: str
    title: str
    channelName: str
    publishedAt: datetime = Field(description="when YouTube published it (when we detected it, without a date)")


class VideoBlock(BaseModel):
    activeChannels: int
    dailyVideos: int
    trends: list[VideoTrend] = Field(description="detections per day, the last 7 days")
    recentActivity: list[VideoActivity]


class RecentFeed(BaseModel):
    id: str
    name: str
    status: Literal["active", "paused", "error"]
    lastProcessedAt: datetime | None
    nextRunAt: datetime | None


class RssBlock(BaseModel):
    activeFeeds: int
    dailyPosted: int
    recentFeeds: list[RecentFeed]


class UpcomingPost(BaseModel):
    id: str
    title: str
    source: str
    scheduledTime: datetime
    dateLabel: str
    timeLabel: str


class TmdbBlock(BaseModel):
    readyCount: int
    coverageDays: int
    upcoming: list[UpcomingPost]


class StudioBlock(BaseModel):
    """Design and Video Studio are not built (docs/architecture/foundation.md): zeros in the contract's shape."""
    generated: int
    published: int
    recentActivity: list[dict[str, Any]]


class PipelineJob(BaseModel):
    id: str
    fileName: str
    stage: str
    progress: int
    status: Literal["pending", "processing"]


class UploadsBlock(BaseModel):
    activeUploads: int
    completedToday: int
    pipeline: list[PipelineJob]


class FreeTierUse(BaseModel):
    key: str = Field(examples=["qstash.messages"])
    label: str
    today: float | None
    monthToDate: float | None
    limit: float | None
    period: Literal["day", "month"]
    percent: float | None
    projectedPercent: float | None


class GovernorDecisions(BaseModel):
    """What the budget governor decided from the projections (docs/architecture/usage.md)."""
    levels: dict[str, int]
    rssCheckMultiplier: int
    rssWindowMinutes: int
    rssUrgent: bool
    postGridMinutes: int
    commentsPollMinutes: int
    commentsPaused: bool
    degraded: bool
    notices: list[str]
    heldBack: list[str] = Field(description="levers the projections call for but the owner did not allow")


class UsageAlert(BaseModel):
    key: str
    label: str
    projectedPercent: float | None


class UsageBlock(BaseModel):
    """API calls this month per paid service (the contract's keys), then the free-tier table."""
    openai: int
    serper: int
    tmdb: int
    shotstack: int
    googleSearch: int
    googleVideo: int
    total: int
    openaiTokens: int | None = None
    freeTiers: list[FreeTierUse] | None = None
    governor: GovernorDecisions | None = None
    alerts: list[UsageAlert] | None = None


class RecentPublication(BaseModel):
    id: str
    title: str
    platform: str
    status: Literal["success", "failed"]
    type: str = Field(description="what published it: rss, tmdb, compose, comment, ...")
    timestamp: datetime


class DashboardStats(BaseModel):
    """Every block of the dashboard (frontend-contract §1.8 `DashboardStats`); "today" is the owner's day."""
    system: SystemStats
    comments: CommentsBlock
    video: VideoBlock
    rss: RssBlock
    tmdb: TmdbBlock
    designStudio: StudioBlock
    videoStudio: StudioBlock
    uploads: UploadsBlock
    usage: UsageBlock
    recentActivity: list[RecentPublication]


class AutomationRun(BaseModel):
    lastRun: datetime | None
    nextRun: datetime | None
    status: Literal["active", "inactive", "error"]
    runsToday: int


class AutomationStatus(BaseModel):
    """When each automation last ran, runs next, and how often it ran today."""
    rss: AutomationRun
    tmdb: AutomationRun
    comments: AutomationRun


class UsageDay(BaseModel):
    date: date
    value: float | None


class ResourceUse(FreeTierUse):
    unit: str
    dailyRate: float | None
    projectedToday: float | None
    projectedMonth: float | None
    source: str = Field(description="where the free tier's numbers come from")
    asOf: str
    note: str
    days: list[UsageDay]
    awakeMinutesToday: float | None = Field(default=None, description="Neon only")
    wakeUpsToday: int | None = Field(default=None, description="Neon only")
    computeUnits: float | None = Field(default=None, description="Neon only")


class UsageReport(BaseModel):
    """This month's use of every free tier, projected to the end of the period, and what the governor does."""
    generatedAt: datetime
    day: date
    month: str = Field(examples=["2026-11"])
    resources: list[ResourceUse]
    counters: dict[str, float | None] = Field(description="other units counted this month")
    governor: GovernorDecisions
    alertPercent: float
    alerts: list[UsageAlert]


RESPONSES: dict[str, Any] = {
    "GET /api/dashboard/stats": Envelope[DashboardStats],
    "GET /api/dashboard/system-stats": Envelope[SystemStats],
    "GET /api/automation/status": Envelope[AutomationStatus],
    "GET /api/usage": Envelope[UsageReport],
}
