"""POST /api/ai/generate/tmdb-caption (frontend-contract §1.9): a TMDb caption with the owner's settings."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok

router = APIRouter(prefix="/api/ai/generate", tags=["ai"], dependencies=[Depends(require_auth)])


class TmdbCaptionRequest(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    mediaType: str = Field(default="movie", pattern=r"^(movie|tv)$")
    temporalTag: str = Field(max_length=40)
    daysUntil: int = Field(default=0, ge=-36500, le=36500)
    releaseDate: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}")
    anniversaryYears: int | None = Field(default=None, ge=1, le=150)
    cast: list[str] = Field(default_factory=list, max_length=20)
    genres: list[str] = Field(default_factory=list, max_length=20)
    platform: str | None = Field(default=None, max_length=30)
    model: str | None = Field(default=None, max_length=100)
    customSystemPrompt: str | None = Field(default=None, max_length=10_000)
    maxLength: int | None = Field(default=None, ge=20, le=2000)


@router.post("/tmdb-caption", summary="Write a caption for a TMDb title")
def tmdb_caption(body: TmdbCaptionRequest):
    from shared.tmdb.caption_endpoint import generate_tmdb_caption

    content, meta = generate_tmdb_caption(body.model_dump())
    return ok({"content": content, **meta})
