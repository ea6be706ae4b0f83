"""Comment automation: the Comments page's stats and readiness (frontend-contract §1.7), the stored comments and
the test reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.api.schemas.base import Envelope

PlatformName = Literal["X", "Instagram", "TikTok", "Facebook", "YouTube", "Threads", "Pinterest"]
PlatformKey = Literal["x", "instagram", "tiktok", "facebook", "youtube", "threads", "pinterest"]


class RecentReply(BaseModel):
    id: str
    comment: str
    reply: str | None
    time: datetime | None = Field(description="when the reply was posted")
    author: str | None
    url: str | None = Field(description="the reply on the platform")
    dryRun: bool | None = Field(default=None, description="recorded in dry-run mode: nothing was posted")


class PlatformCommentStats(BaseModel):
    platform: PlatformName
    key: PlatformKey
    enabled: bool
    repliesToday: int
    successRate: float = Field(description="percent of the replies attempted in the retention window that were "
                                           "posted (100 with none yet)")
    recentReplies: list[RecentReply]
    pending: int = Field(description="comments waiting for a reply")
    skippedToday: int


class Readiness(BaseModel):
    platform: PlatformName
    key: PlatformKey
    enabled: bool
    connected: bool
    ready: bool = Field(description="enabled, connected, with the scopes and settings replies need")
    reasons: list[str] = Field(description="what to fix, when not ready")
    username: str | None = None
    paused: list[str] | None = Field(default=None, description="ready, but held back for now (a cap, a rate limit)")


class StoredComment(BaseModel):
    id: str
    platform: PlatformName
    key: PlatformKey
    commentId: str
    postId: str
    author: str | None
    text: str
    commentedAt: datetime
    status: Literal["pending", "skipped", "replying", "replied", "dry_run", "failed", "unconfirmed"]
    skipReason: str | None
    skipCode: str | None
    reply: str | None
    replyUrl: str | None
    repliedAt: datetime | None
    error: str | None
    test: bool = Field(description="answered by a test reply")


class TestReplyAnswer(BaseModel):
    """A preview (`preview: true`, nothing posted) or the outcome of the reply."""
    preview: bool | None = None
    limit: int | None = Field(default=None, description="preview: the platform's reply length limit")
    status: str | None = Field(default=None, description="replied, dry_run, replying, failed, pending, unconfirmed")
    commentId: str | None = Field(default=None, description="the comment's id on the platform")
    reply: str | None = None
    publicationId: str | None = None
    replyId: str | None = None
    url: str | None = None
    error: str | None = None
    kind: str | None = None


RESPONSES: dict[str, Any] = {
    "GET /api/comments/automation/stats": Envelope[list[PlatformCommentStats]],
    "GET /api/comments/automation/readiness": Envelope[list[Readiness]],
    "GET /api/comments": Envelope[list[StoredComment]],
    "POST /api/comments/reply": Envelope[TestReplyAnswer],
    "POST /api/comments/{comment_id}/reply": Envelope[TestReplyAnswer],
}
