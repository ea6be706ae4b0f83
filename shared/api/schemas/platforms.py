"""Platform connections (OAuth), YouTube playlists, Facebook Pages, Pinterest boards, publish now (§1.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api.schemas.base import Envelope


class PlatformStatus(BaseModel):
    """Absent fields are unknown (a platform that is not connected answers `{connected: false}` alone)."""
    connected: bool
    username: str | None = None
    profileUrl: str | None = None
    lastPost: datetime | None = None
    expiresAt: datetime | None = Field(default=None, description="the access token's expiry (refreshed before)")
    error: str | None = Field(default=None, description="why the connection needs attention")
    needsReconnect: bool | None = None


class AuthorizationUrl(BaseModel):
    url: str = Field(description="the platform's consent page; its `state` is a JWT carrying {platform, "
                                 "codeVerifier, nonce} (the SPA decodes it without verifying)")


class Connected(BaseModel):
    platform: str = Field(description="the platform family: x, threads, facebook, instagram, tiktok, youtube, "
                                      "pinterest")
    connected: bool


class Playlist(BaseModel):
    """A playlist of the connected YouTube channel."""
    id: str
    title: str
    itemCount: int | None
    privacyStatus: str | None


class LinkedInstagram(BaseModel):
    id: str
    username: str | None


class FacebookPage(BaseModel):
    id: str
    name: str | None
    instagram: LinkedInstagram | None = Field(description="the Instagram business account linked to the Page")


class FacebookPageChoice(FacebookPage):
    selected: bool = Field(description="the Page posts go to")


class InstagramFollow(BaseModel):
    """Whether the Instagram connection followed the new Page (its linked business account)."""
    followed: bool
    reason: str | None = Field(default=None, description="why it did not")
    id: str | None = Field(default=None, description="the Instagram business account now posted to")
    username: str | None = None


class PageChosen(BaseModel):
    page: FacebookPage
    instagram: InstagramFollow | None = Field(description="null when Instagram is not connected")


class Board(BaseModel):
    """A Pinterest board."""
    id: str
    name: str
    description: str | None
    privacy: str = Field(description="PUBLIC, PROTECTED or SECRET")
    pin_count: int | None


class Violation(BaseModel):
    rule: str = Field(examples=["x.text_length"])
    message: str
    details: dict[str, Any] | None = None


class PublishResult(BaseModel):
    platform: str = Field(description="the target as asked: X, Threads, FacebookFeed, InstagramReels, YouTubeShorts, "
                                      "TikTok, Pinterest, ...")
    status: Literal["posted", "failed", "skipped"]
    state: str = Field(description="the publication's state: published, dry_run, failed, unconfirmed, scheduled, "
                                   "skipped")
    publicationId: str | None
    id: str | None = Field(default=None, description="the post's id on the platform")
    url: str | None = None
    postedAt: datetime | None = None
    error: str | None = None
    dryRun: bool | None = None
    wouldPost: dict[str, Any] | None = Field(default=None, description="dry-run: what would have been sent")
    violations: list[Violation] | None = Field(default=None, description="the platform's rules the content breaks")
    scheduledAt: str | None = Field(default=None, description="skipped for now: when the publisher tries again")
    warnings: list[Any] | None = None


class PublishSummary(BaseModel):
    total: int
    posted: int
    failed: int
    skipped: int
    unconfirmed: int = Field(description="may have been posted: check the account before posting again")


class Published(BaseModel):
    """One result per target, and the counts."""
    results: list[PublishResult]
    summary: PublishSummary


# --- POST /api/platforms/post reads its body itself (JSON or multipart), so FastAPI cannot see it ---------------
PUBLISH_TARGETS = ("X, Threads, Facebook, FacebookFeed, FacebookStories, Instagram, InstagramFeed, InstagramReels, "
                   "InstagramStories, YouTube, YouTubeLongform, YouTubeShorts, TikTok, Pinterest")


class PublishContent(BaseModel):
    """What to post (frontend-contract §1.3); each target takes the fields it uses. Media are https URLs, normally
    in our bucket (Instagram and Threads fetch them themselves)."""
    model_config = ConfigDict(extra="allow")
    text: str | None = None
    title: str | None = None
    link: str | None = None
    imageUrl: str | None = None
    imageUrls: list[str] | None = None
    imageTypes: list[str] | None = None
    imageStyle: str | None = None
    videoUrl: str | None = None
    sharedThumbnailUrl: str | None = None
    youtubeThumbnailUrl: str | None = None
    xThumbnailUrl: str | None = None
    youtubeTitle: str | None = None
    youtubeDescription: str | None = None
    youtubePlaylistIds: list[str] | None = None
    boardId: str | None = Field(default=None, description="Pinterest")
    description: str | None = Field(default=None, description="Pinterest")
    youtubePrivacy: str | None = None
    tiktokPrivacy: str | None = None


class PublishRequest(BaseModel):
    platforms: list[str] = Field(min_length=1, max_length=20, description=f"targets: {PUBLISH_TARGETS}")
    content: PublishContent


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class PublishUpload(BaseModel):
    """The same as multipart: the file is stored in our bucket first and posted from there."""
    # optional, yet documented as a plain file field (no `null`, no default) so Swagger UI shows a file picker
    mediaFile: bytes = Field(default=None,  # type: ignore[assignment]
                             json_schema_extra=_without_default,
                             description="an image or a video (up to 4.5 MB through the function)")
    platforms: str = Field(description='a JSON array of targets, e.g. ["X", "Threads"]')
    content: str = Field(description="a JSON object: the content fields")


REQUESTS: dict[str, dict[str, Any]] = {
    "POST /api/platforms/post": {"application/json": PublishRequest, "multipart/form-data": PublishUpload},
}
HEADERS: dict[str, list[dict[str, Any]]] = {
    "POST /api/platforms/post": [{
        "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
        "description": "the same key (per target) answers the first request's results instead of posting again; "
                       "without one, the same platforms and content are recognised as a repeat"}],
}

RESPONSES: dict[str, Any] = {
    "GET /api/platforms/status": Envelope[dict[str, PlatformStatus]],
    "GET /api/platforms/youtube/playlists": Envelope[list[Playlist]],
    "GET /api/platforms/facebook/pages": Envelope[list[FacebookPageChoice]],
    "PUT /api/platforms/facebook/page": Envelope[PageChosen],
    "GET /api/platforms/auth/{platform}": Envelope[AuthorizationUrl],
    "POST /api/platforms/callback": Envelope[Connected],
    "POST /api/platforms/post": Envelope[Published],
    "DELETE /api/platforms/{platform}": Envelope[Connected],
    "GET /api/pinterest/boards": Envelope[list[Board]],
    "POST /api/pinterest/boards": Envelope[Board],
}
