"""POST /api/ai/generate/compose-metadata (frontend-contract §1.9): the Create page's "fill from metadata"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok

router = APIRouter(prefix="/api/ai/generate/compose-metadata", tags=["ai"], dependencies=[Depends(require_auth)])


class MediaContext(BaseModel):
    fileName: str | None = Field(default=None, max_length=500)
    mimeType: str | None = Field(default=None, max_length=200)
    mediaKind: str | None = Field(default=None, max_length=50)


class ComposeMetadataRequest(BaseModel):
    metadataText: str = Field(min_length=1, max_length=20_000)
    model: str | None = Field(default=None, max_length=100)
    selectedPlatforms: list[str] = Field(default_factory=list, max_length=20)
    availablePlaylists: list[dict[str, Any]] = Field(default_factory=list, max_length=500,
                                                     description="`{id, title}` or `{id, name}` each")
    sharedCaptionPrompt: str | None = Field(default=None, max_length=10_000)
    youtubeTitlePrompt: str | None = Field(default=None, max_length=10_000)
    youtubeDescriptionPrompt: str | None = Field(default=None, max_length=10_000)
    youtubePlaylistPrompt: str | None = Field(default=None, max_length=10_000)
    mediaContext: MediaContext | None = None


@router.post("", summary="Write a compose post's caption, YouTube title, description and playlist")
def compose_metadata(body: ComposeMetadataRequest):
    from shared.compose.service import compose_metadata as generate

    return ok(generate(body.model_dump(exclude_none=True)))
