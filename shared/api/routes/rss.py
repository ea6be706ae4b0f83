"""RSS feeds and activity (frontend-contract §1.4). Thin: validate, call shared.rss.service, wrap in `ok`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.api.params import uuid_or_404

router = APIRouter(prefix="/api/rss", tags=["rss"], dependencies=[Depends(require_auth)])



class FilterItem(BaseModel):
    text: str = Field(max_length=200)
    matchType: Literal["contains", "exact"] = "contains"
    caseSensitive: bool = False
    active: bool = True


class Filters(BaseModel):
    model_config = ConfigDict(extra="allow")
    scope: Literal["title", "body", "title_or_body", "title_and_body"] = "title_or_body"
    required: list[FilterItem] = Field(default_factory=list, max_length=100)
    blocked: list[FilterItem] = Field(default_factory=list, max_length=100)
    onlyFetchNewItems: bool | None = None
    startFromNowAt: str | None = None
    maxItemAgeMinutes: int | None = Field(default=None, ge=0, le=60 * 24 * 365)

    @field_validator("startFromNowAt")
    @classmethod
    def _instant(cls, v: str | None) -> str | None:
        """An ISO 8601 instant (what the frontend's `new Date().toISOString()` sends); anything else would be
        stored and then silently ignored by the filter."""
        if v is None or v == "":
            return None
        from datetime import datetime

        try:
            datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time, e.g. 2026-03-01T12:00:00Z") from None
        return v


class Platforms(BaseModel):
    model_config = ConfigDict(extra="ignore")
    x: bool = False
    threads: bool = False
    facebook: bool = False
    pinterest: bool = False


ImageCount = Literal["1", "2", "3", "random"]


class PlatformImageCounts(BaseModel):
    """Per-platform override of imageCount; unknown platforms and values are refused, not stored."""
    model_config = ConfigDict(extra="forbid")
    x: ImageCount | None = None
    threads: ImageCount | None = None
    facebook: ImageCount | None = None
    pinterest: ImageCount | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _count_as_text(cls, v):
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class FeedFields(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    displayOrder: int | None = None
    interval: int | None = Field(default=None, ge=1, le=60)
    imageCount: Literal["1", "2", "3", "random"] | None = None
    platformImageCounts: PlatformImageCounts | None = None
    dedupeDays: int | None = Field(default=None, ge=0, le=365)
    filters: Filters | None = None
    serperEnabled: bool | None = None
    tmdbEnabled: bool | None = None
    serperPriority: bool | None = None
    openaiWebSearchEnabled: bool | None = None
    imageSourcePriority: Literal["tmdb_first", "openai_first", "serper_first"] | None = None
    rehostImages: bool | None = None
    autoPost: bool | None = None
    platformsEnabled: Platforms | None = None
    trickle: Literal["newest_first", "oldest_first"] | None = None
    # "error" is the server's to set; a client echoing the whole feed back sends it and it is ignored
    status: Literal["active", "paused", "error"] | None = None
    favicon: str | None = Field(default=None, max_length=2000)

    @field_validator("imageCount", mode="before")
    @classmethod
    def _count_as_text(cls, v):
        return str(v) if isinstance(v, int) else v

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


class FeedCreate(FeedFields):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")


class FeedUpdate(FeedFields):
    url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=r"^https?://")


class Reorder(BaseModel):
    orderedIds: list[str] = Field(max_length=1000)


class PreviewRequest(BaseModel):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")


class RefreshRequest(BaseModel):
    manualRun: bool = False


@router.get("/feeds", summary="List RSS feeds")
def list_feeds():
    from shared.rss import service

    return ok(service.list_feeds())


@router.post("/feeds", status_code=201, summary="Add an RSS feed")
def create_feed(body: FeedCreate):
    from shared.rss import service

    return ok(service.create_feed({**body.data(), "url": body.url}))


@router.post("/feeds/reorder", summary="Reorder the feeds")
def reorder(body: Reorder):
    from shared.rss import service

    return ok(service.reorder([uuid_or_404(i, "feed") for i in body.orderedIds]))


@router.put("/feeds/{feed_id}", summary="Update a feed (also pause, resume, platforms)")
def update_feed(feed_id: str, body: FeedUpdate):
    from shared.rss import service

    return ok(service.update_feed(uuid_or_404(feed_id, "feed"), body.data()))


@router.delete("/feeds/{feed_id}", summary="Delete a feed")
def delete_feed(feed_id: str):
    from shared.rss import service

    service.delete_feed(uuid_or_404(feed_id, "feed"))
    return ok({"deleted": True})


@router.post("/feeds/{feed_id}/refresh", summary="Check one feed now")
def refresh_feed(feed_id: str, body: RefreshRequest | None = None):
    import asyncio

    from shared.rss import poller, service

    feed = service.get_feed_or_404(uuid_or_404(feed_id, "feed"))
    return ok(asyncio.run(poller.refresh_one(feed, manual_run=bool(body and body.manualRun))))


@router.get("/feeds/{feed_id}/preview", summary="Dry-run the pipeline on a feed's latest item")
def preview_feed(feed_id: str):
    from shared.rss import service

    return ok(service.preview_feed(uuid_or_404(feed_id, "feed")))


@router.post("/refresh", summary="Check every feed now")
def refresh_all():
    import asyncio

    from shared.rss import poller

    return ok(asyncio.run(poller.refresh_all()))


@router.post("/preview", summary="Preview a feed URL before adding it")
def preview(body: PreviewRequest):
    from shared.rss import service

    return ok(service.preview_url(body.url))


@router.get("/activity", summary="RSS activity: items and their outcome")
def activity(limit: int = Query(100, ge=1, le=500)):
    from shared.rss import service

    return ok(service.activity(limit))


@router.post("/activity/{item_id}/retry", summary="Retry a failed item")
def retry(item_id: str):
    from shared.rss import service

    return ok(service.retry_item(uuid_or_404(item_id, "item")))


@router.post("/activity/{item_id}/approve", summary="Approve a pending item for posting")
def approve(item_id: str):
    from shared.rss import service

    return ok(service.approve_item(uuid_or_404(item_id, "item")))


@router.delete("/activity/{item_id}", summary="Delete an activity entry")
def delete_activity(item_id: str):
    from shared.rss import service

    service.delete_item(uuid_or_404(item_id, "item"))
    return ok({"deleted": True})
