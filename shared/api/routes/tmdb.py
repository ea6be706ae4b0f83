"""TMDb page routes (frontend-contract §1.5). Thin: validate, call shared.tmdb.service, wrap in `ok`."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok

router = APIRouter(prefix="/api/tmdb", tags=["tmdb"], dependencies=[Depends(require_auth)])

Num = int | float | str  # the TMDb page sends several numbers as strings ('5')
Source = Literal["tmdb_today", "tmdb_weekly", "tmdb_monthly", "tmdb_anniversary"]
Status = Literal["queued", "scheduled", "published", "failed"]


class PlatformFlags(BaseModel):
    model_config = ConfigDict(extra="ignore")
    x: bool = False
    threads: bool = False
    facebook: bool = False
    youtube: bool = False
    pinterest: bool = False


class RefreshSettings(BaseModel):
    """The settings object the TMDb page sends; keys not listed are ignored, listed ones must have their type."""
    model_config = ConfigDict(extra="ignore")
    enableToday: bool | None = None
    enableWeekly: bool | None = None
    enableMonthly: bool | None = None
    enableAnniversaries: bool | None = None
    todayMaxItems: Num | None = None
    weeklyMaxItems: Num | None = None
    monthlyMaxItems: Num | None = None
    anniversaryMaxItems: Num | None = None
    preferredImage: Literal["poster", "backdrop", "random"] | None = None
    selectedGenres: list[Num] | None = Field(default=None, max_length=50)
    languageFilter: str | None = Field(default=None, max_length=10)
    onlyPopular: bool | None = None
    dedupeWindow: Num | None = None
    anniversaryYears: list[Num] | None = Field(default=None, max_length=30)
    maxPerAnniversary: Num | None = None
    todayPlatforms: PlatformFlags | None = None
    weeklyPlatforms: PlatformFlags | None = None
    monthlyPlatforms: PlatformFlags | None = None
    anniversaryPlatforms: PlatformFlags | None = None
    todayAutoPost: bool | None = None
    weeklyAutoPost: bool | None = None
    monthlyAutoPost: bool | None = None
    anniversaryAutoPost: bool | None = None
    captionMaxLength: Num | None = None
    includeCast: bool | None = None
    includeDate: bool | None = None


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    settings: RefreshSettings | None = None


class PostFields(BaseModel):
    model_config = ConfigDict(extra="ignore")
    caption: str | None = Field(default=None, max_length=2000)
    imageUrl: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    imageType: Literal["poster", "backdrop"] | None = None
    imageUrls: list[str] | None = Field(default=None, max_length=10)
    imageTypes: list[Literal["poster", "backdrop", "logo"]] | None = Field(default=None, max_length=10)
    imageStyle: str | None = Field(default=None, max_length=50)
    scheduledTime: str | None = Field(default=None, max_length=40)
    status: Status | None = None
    platforms: list[str] | None = Field(default=None, max_length=10)
    publishedTime: str | None = Field(default=None, max_length=40)
    errorMessage: str | None = Field(default=None, max_length=2000)


class PostCreate(PostFields):
    id: UUID | None = None  # an undo sends back the id we gave; anything else is a 400, not a 500
    tmdbId: int = Field(ge=1)
    mediaType: Literal["movie", "tv"]
    title: str = Field(min_length=1, max_length=500)
    year: int | None = Field(default=None, ge=1870, le=2200)
    releaseDate: date | None = None  # YYYY-MM-DD and a real day ("2026-13-45" is a 400, not a 500)
    source: Source
    cast: list[str] | None = Field(default=None, max_length=20)
    popularity: float | None = None
    cacheHit: bool | None = None
    anniversaryYears: int | None = Field(default=None, ge=1, le=150)
    createdAt: str | None = Field(default=None, max_length=40)


@router.get("/posts", summary="List TMDb posts")
def list_posts():
    from shared.tmdb import service

    return ok(service.list_posts())


@router.post("/posts", summary="Create or restore a TMDb post")
def create_post(body: PostCreate):
    from shared.tmdb import service

    return ok(service.create_post(body.model_dump(mode="json", exclude_none=True)))


@router.put("/posts/{post_id}", summary="Update a TMDb post (schedule, reschedule, edit)")
def update_post(post_id: str, body: PostFields):
    from shared.tmdb import service

    return ok(service.update_post(post_id, body.model_dump(exclude_unset=True)))


@router.delete("/posts/{post_id}", summary="Delete a TMDb post")
def delete_post(post_id: str):
    from shared.tmdb import service

    return ok(service.delete_post(post_id))


@router.post("/refresh", summary="Discover, caption and schedule TMDb posts now")
def refresh(body: RefreshBody | None = None):
    from shared.tmdb import service

    overrides: dict[str, Any] = {}
    if body and body.settings:
        overrides = body.settings.model_dump(exclude_none=True)
    report = service.refresh(overrides, trigger="manual")
    return ok(report.as_dict())


@router.get("/search", summary="Search TMDb")
def search(query: str = Query(min_length=1, max_length=200)):
    from shared.tmdb import service

    return ok(service.search(query))


@router.get("/images/{media_type}/{tmdb_id}", summary="A title's posters, backdrops and logos")
def images(media_type: Literal["movie", "tv"], tmdb_id: int):
    from shared.errors import NotFound
    from shared.tmdb import service

    if tmdb_id < 1:
        raise NotFound("TMDb title not found")
    return ok(service.image_pool(media_type, tmdb_id))
