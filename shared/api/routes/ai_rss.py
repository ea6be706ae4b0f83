"""POST /api/ai/generate/rss-caption (frontend-contract §1.9): the server-side caption generator."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok

router = APIRouter(prefix="/api/ai/generate", tags=["ai"], dependencies=[Depends(require_auth)])


class RssCaptionRequest(BaseModel):
    articleTitle: str = Field(min_length=1, max_length=1000)
    feedName: str = Field(default="", max_length=300)
    summary: str = Field(default="", max_length=20_000)
    platform: str = Field(default="X", max_length=30)
    model: str | None = Field(default=None, max_length=100)
    customSystemPrompt: str | None = Field(default=None, max_length=10_000)
    customTemperature: float | None = Field(default=None, ge=0, le=2)
    link: str | None = Field(default=None, max_length=2000)


@router.post("/rss-caption", summary="Write a caption for an RSS article")
def rss_caption(body: RssCaptionRequest):
    from shared.rss.caption_service import generate_rss_caption

    content, meta = generate_rss_caption(body.model_dump())
    return ok({"content": content, **meta})
