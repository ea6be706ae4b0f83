"""YouTube channel monitoring (frontend-contract §1.6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.api.schemas.base import Deleted, Envelope


class Channel(BaseModel):
    """A monitored YouTube channel (frontend-contract §1.6)."""
    id: str
    name: str
    channelId: str = Field(description="the UC… id (an @handle or URL given on create is resolved to it)")
    handle: str | None
    status: Literal["active", "inactive"]
    videoCount: int = Field(description="uploads seen in the channel's feed so far")
    interval: int = Field(description="minutes between checks")
    lastCheckedAt: datetime | None
    errorMessage: str | None
    createdAt: datetime


class DetectionChannel(BaseModel):
    id: str
    name: str


class Detection(BaseModel):
    """A trailer found on a monitored channel."""
    id: str
    videoId: str
    title: str
    url: str | None
    publishedAt: datetime = Field(description="when YouTube published it (when we detected it, without a date)")
    detectedAt: datetime
    matchedKeyword: str | None
    channel: DetectionChannel


RESPONSES: dict[str, Any] = {
    "GET /api/channels": Envelope[list[Channel]],
    "POST /api/channels": Envelope[Channel],
    "GET /api/channels/activity": Envelope[list[Detection]],
    "PATCH /api/channels/{channel_id}": Envelope[Channel],
    "DELETE /api/channels/{channel_id}": Envelope[Deleted],
}
