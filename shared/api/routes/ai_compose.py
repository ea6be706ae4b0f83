"""The Create page's AI (frontend-contract §1.9): "fill from metadata" (`compose-metadata`), "Generate content"
(`compose-content`: intent, media metadata, then the post's fields or a preview) and "Generate thumbnail"
(`compose-thumbnail`: a JPEG rendered here and stored in B2)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok

router = APIRouter(prefix="/api/ai/generate", tags=["ai"], dependencies=[Depends(require_auth)])


class MediaContext(BaseModel):
    fileName: str | None = Field(default=None, max_length=500)
    mimeType: str | None = Field(default=None, max_length=200)
    mediaKind: str | None = Field(default=None, max_length=50)


class _PostPrompts(BaseModel):
    model: str | None = Field(default=None, max_length=100)
    selectedPlatforms: list[str] = Field(default_factory=list, max_length=20)
    availablePlaylists: list[dict[str, Any]] = Field(default_factory=list, max_length=500,
                                                     description="`{id, title}` or `{id, name}` each")
    sharedCaptionPrompt: str | None = Field(default=None, max_length=10_000)
    youtubeTitlePrompt: str | None = Field(default=None, max_length=10_000)
    youtubeDescriptionPrompt: str | None = Field(default=None, max_length=10_000)
    youtubePlaylistPrompt: str | None = Field(default=None, max_length=10_000)
    mediaContext: MediaContext | None = None


class ComposeMetadataRequest(_PostPrompts):
    metadataText: str = Field(min_length=1, max_length=20_000)


class ComposeContentRequest(_PostPrompts):
    """The SPA sends compose-metadata's body without `metadataText` (`Omit<..., 'metadataText'>` in
    app/src/lib/api/ai.ts) plus `requestText` and the review and summary prompts."""
    requestText: str = Field(min_length=1, max_length=20_000,
                             description="pasted metadata or a request such as 'Write me a review of The Matrix'")
    reviewPrompt: str | None = Field(default=None, max_length=10_000)
    summaryPrompt: str | None = Field(default=None, max_length=10_000)


class ComposeThumbnailRequest(BaseModel):
    metadataText: str = Field(min_length=1, max_length=20_000)
    model: str | None = Field(default=None, max_length=100)
    thumbnailType: Literal["shared", "youtube", "x"]
    titleHint: str | None = Field(default=None, max_length=500)
    sharedCaption: str | None = Field(default=None, max_length=70_000)
    youtubeTitle: str | None = Field(default=None, max_length=500)
    thumbnailConfig: dict[str, Any] | str | None = Field(
        default=None, description="the saved `thumbnailConfig_youtube` / `_x` (an object, or its JSON string)")


@router.post("/compose-metadata", summary="Write a compose post's caption, YouTube title, description and playlist")
def compose_metadata(body: ComposeMetadataRequest):
    from shared.compose.service import compose_metadata as generate

    return ok(generate(body.model_dump(exclude_none=True)))


@router.post("/compose-content", summary="Read a request or pasted metadata; write the post's fields or a preview")
def compose_content(body: ComposeContentRequest):
    from shared.compose.service import compose_content as generate

    return ok(generate(body.model_dump(exclude_none=True)))


@router.post("/compose-thumbnail", summary="Render a YouTube, X or shared thumbnail and store it in B2")
def compose_thumbnail(body: ComposeThumbnailRequest):
    from shared.compose.thumbnail_service import generate_thumbnail

    return ok(generate_thumbnail(body.model_dump(exclude_none=True)))
