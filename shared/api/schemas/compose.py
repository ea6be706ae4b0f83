"""Response models of the Create page's state routes."""

from __future__ import annotations

from typing import Any, Literal

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


class ContentIntent(BaseModel):
    intent: Literal["post_generation", "review_generation", "summary_generation", "promo_caption_generation",
                    "metadata_extraction", "mixed_request"]
    outputMode: Literal["post_fields", "preview_only"] = Field(
        description="post_fields: the page fills the post's fields; preview_only: it shows editorialResult")
    format: Literal["general", "short_form_video", "social_post", "youtube_metadata"]
    durationSeconds: int | None
    directFieldFillAllowed: bool = Field(description="true exactly when outputMode is post_fields")
    detectedTitle: str
    containsMetadata: bool


class MediaMetadata(BaseModel):
    """What the input says (or the model knows for certain) about the film or show; '' , [] or null otherwise."""
    title: str
    year: int | None
    mediaType: str
    cast: list[str]
    director: str
    creator: str
    studio: str
    platform: str
    releaseDate: str
    synopsis: str
    producers: list[str]
    franchise: str
    tone: str
    sourceType: str


class ContentPlaylist(BaseModel):
    """Always an object (the page reads `playlistId` without checking the selection); ids only of offered
    playlists."""
    playlistId: str | None
    playlistName: str | None
    reason: str
    confidence: float = Field(ge=0, le=1)


class ContentPostFields(BaseModel):
    """Empty strings for a preview; the YouTube fields only when a YouTube placement is selected."""
    sharedCaption: str
    youtubeTitle: str = Field(max_length=100)
    youtubeDescription: str = Field(max_length=5000)
    playlistSelection: ContentPlaylist


class EditorialResult(BaseModel):
    type: Literal["review", "summary", "editorial"] | None
    text: str = Field(description="the preview; '' when outputMode is post_fields")


class ComposeContent(BaseModel):
    """`source`: `ai` (the model answered) or `template` (the rules read pasted metadata: no OpenAI key, or an
    unusable answer, said in `note`)."""
    intentResult: ContentIntent
    mediaMetadata: MediaMetadata
    postFields: ContentPostFields
    editorialResult: EditorialResult
    source: str
    model: str | None = None
    note: str | None = None


class ComposeThumbnail(BaseModel):
    """A JPEG rendered by the API and stored under `thumbnails/` in the general bucket."""
    fileName: str
    mimeType: str
    size: int
    previewUrl: str
    storageUrl: str
    uploadStatus: Literal["uploaded"]
    strategy: str = Field(description="tmdb_backdrop, tmdb_poster or title_card: where the picture came from")
    resolvedTitle: str
    width: int
    height: int
    note: str | None = Field(default=None, description="why TMDb gave no picture, when it did not")


RESPONSES: dict[str, Any] = {
    "POST /api/ai/generate/compose-content": Envelope[ComposeContent],
    "POST /api/ai/generate/compose-thumbnail": Envelope[ComposeThumbnail],
    "POST /api/ai/generate/compose-metadata": Envelope[ComposeMetadata],
    "GET /api/create/state": Envelope[ComposeWorkspace],
    "PUT /api/create/state": Envelope[ComposeWorkspace],
}
