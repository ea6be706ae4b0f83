"""TMDb posts, refresh, search, image pool and the TMDb caption generator (frontend-contract §1.5, §1.9)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.api.schemas.base import Envelope


class TMDbPlatformResult(BaseModel):
    """Where one platform's delivery stands."""
    status: Literal["waiting", "posted", "dry_run", "failed"]
    id: str | None = None
    url: str | None = None
    error: str | None = None
    kind: str | None = None
    publicationId: str | None = None
    scheduledAt: str | None = Field(default=None, description="waiting: when the publisher tries again")
    dryRun: bool | None = None
    at: datetime | None = None


class TMDbPost(BaseModel):
    """A post as the TMDb page reads it (frontend-contract §1.5 `TMDbPost`)."""
    id: str
    tmdbId: int
    mediaType: Literal["movie", "tv"]
    title: str
    year: int | None
    releaseDate: date | None
    caption: str
    imageUrl: str | None
    imageType: Literal["poster", "backdrop"] | None
    imageUrls: list[str]
    imageTypes: list[str]
    imageStyle: str | None
    scheduledTime: datetime | None
    source: Literal["tmdb_today", "tmdb_weekly", "tmdb_monthly", "tmdb_anniversary"]
    cast: list[str]
    popularity: float | None
    cacheHit: bool = Field(description="the caption came from the caption cache")
    status: Literal["queued", "scheduled", "published", "failed"]
    platforms: list[Literal["X", "Threads", "Facebook", "YouTube", "Pinterest"]]
    publishedTime: datetime | None
    errorMessage: str | None
    createdAt: datetime
    updatedAt: datetime
    score: float | None = Field(description="the ranking score it was picked with (0-400)")
    anniversaryYears: int | None
    captionSource: str | None = Field(description="ai, ai_cached, template, template_fallback, restored, ...")
    platformResults: dict[str, TMDbPlatformResult] = Field(description="by platform, once delivery started")
    stage: Literal["publishing"] | None = Field(default=None, description="present while it is being published")


class RefreshReport(BaseModel):
    added: int
    errors: list[str]
    posts: list[TMDbPost] = Field(description="the posts this refresh added")
    rejected: int = Field(description="titles the filter rules turned down")
    alreadyPlanned: int
    tmdbCalls: int
    cacheHits: int
    armed: int = Field(description="scheduled posts armed for automatic publishing")


class DeletedPost(BaseModel):
    id: str
    deleted: Literal[True]


class SearchResult(BaseModel):
    id: int
    mediaType: Literal["movie", "tv", "person", "company"]
    title: str
    backdrop: str | None
    poster: str | None
    profile: str | None = Field(description="a person's photo or a company's logo")
    releaseDate: str | None


class PoolImage(BaseModel):
    path: str
    url: str


class ImagePool(BaseModel):
    posters: list[PoolImage]
    backdrops: list[PoolImage]
    logos: list[PoolImage]


class TmdbCaption(BaseModel):
    content: str
    source: Literal["ai", "ai_cached", "template"]
    cacheHit: bool
    temporalTag: Literal["releasing_today", "releasing_this_week", "releasing_this_month", "anniversary"]
    platform: str
    charCount: int
    maxLength: int
    model: str | None = Field(default=None, description="the AI model, when AI wrote it")


RESPONSES: dict[str, Any] = {
    "GET /api/tmdb/posts": Envelope[list[TMDbPost]],
    "POST /api/tmdb/posts": Envelope[TMDbPost],
    "PUT /api/tmdb/posts/{post_id}": Envelope[TMDbPost],
    "DELETE /api/tmdb/posts/{post_id}": Envelope[DeletedPost],
    "POST /api/tmdb/refresh": Envelope[RefreshReport],
    "GET /api/tmdb/search": Envelope[list[SearchResult]],
    "GET /api/tmdb/images/{media_type}/{tmdb_id}": Envelope[ImagePool],
    "POST /api/ai/generate/tmdb-caption": Envelope[TmdbCaption],
}
