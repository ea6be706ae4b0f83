"""/api/comments (contract §1.7): automation stats and readiness for the Comments page, the stored comments, and
the test reply to one chosen comment."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.api.errors import ValidationFailed

router = APIRouter(prefix="/api/comments", tags=["comments"], dependencies=[Depends(require_auth)])

Status = Literal["pending", "skipped", "replying", "replied", "dry_run", "failed", "unconfirmed"]


class TestReply(BaseModel):
    text: str | None = Field(default=None, max_length=2000, description="post this text instead of an AI reply")
    preview: bool = Field(default=False, description="write the reply and show it; post nothing")


class ReplyTo(TestReply):
    commentId: str = Field(min_length=1, max_length=64, description="the comment's id in GET /api/comments")


def _platform(value: str | None) -> str | None:
    if not value:
        return None
    from shared.comments.config import ALL_PLATFORMS

    key = value.strip().lower()
    key = {"twitter": "x"}.get(key, key)
    if key not in ALL_PLATFORMS:
        raise ValidationFailed(f"unknown platform '{value}'", details={"platforms": list(ALL_PLATFORMS)})
    return key


@router.get("/automation/stats", summary="Reply statistics per platform")
def automation_stats():
    from shared.comments import service

    return ok(service.stats())


@router.get("/automation/readiness", summary="Can comment replies run on each platform")
def automation_readiness():
    from shared.comments import service

    return ok(service.readiness_report())


@router.get("", summary="List stored comments")
def list_comments(platform: str | None = Query(None, max_length=32), status: Status | None = None,
                  limit: int = Query(50, ge=1, le=200)):
    from shared.comments import service

    return ok(service.list_comments(platform=_platform(platform), status=status, limit=limit))


@router.post("/reply", summary="Reply to one comment now (by id in the body)")
def reply(body: ReplyTo):
    from shared.comments import service

    return ok(service.test_reply(body.commentId, text=body.text, preview=body.preview))


@router.post("/{comment_id}/reply", summary="Reply to one comment now")
def reply_to(comment_id: str, body: TestReply | None = None):
    from shared.comments import service

    body = body or TestReply()
    return ok(service.test_reply(comment_id, text=body.text, preview=body.preview))
