"""Response models of the Create page's state routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.api.schemas.base import Envelope


class ComposeWorkspace(BaseModel):
    """The stored workspace: the frontend's ComposeItem objects as it wrote them, merged across devices."""
    items: list[dict[str, Any]]
    updatedAt: str | None = Field(description="when the server last saved it; null before the first save")


class PlaylistSelection(BaseModel):
    playlistId: str
    playlistName: str
    reason: str
    confidence: float = Field(ge=0, le=1)


class ComposeMetadata(BaseModel):
    """What the Create page fills in; `source` says whether the model wrote it (`ai`) or the text was shaped into
    it (`template`: no OpenAI key, or the model's answer was unusable)."""
    sharedCaption: str
    youtubeTitle: str = Field(max_length=100)
    youtubeDescription: str = Field(max_length=5000)
    playlistSelection: PlaylistSelection | None = Field(description="null when no offered playlist fits")
    source: str
    model: str | None = None
    note: str | None = None


RESPONSES: dict[str, Any] = {
    "POST /api/ai/generate/compose-metadata": Envelope[ComposeMetadata],
    "GET /api/create/state": Envelope[ComposeWorkspace],
    "PUT /api/create/state": Envelope[ComposeWorkspace],
}
