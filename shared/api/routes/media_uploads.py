"""/api/uploads: presigned browser uploads to B2 (single PUT or multipart), complete, abort."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.media.uploads import service

router = APIRouter(prefix="/api/uploads", tags=["media"], dependencies=[Depends(require_auth)])


class CreateUpload(BaseModel):
    fileName: str = Field(min_length=1, max_length=300)
    contentType: str = Field(min_length=3, max_length=100)
    size: int = Field(ge=0)
    purpose: Literal["trailers", "images", "thumbnails", "temp"]
    jobId: str | None = Field(default=None, max_length=64)  # the waiting job this file is for (POST /api/jobs)


class Part(BaseModel):
    partNumber: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200)


class CompleteUpload(BaseModel):
    parts: list[Part] | None = None


@router.post("", summary="Start an upload (presigned URLs to storage)")
def create_upload(body: CreateUpload):
    return ok(service.create_upload(file_name=body.fileName, content_type=body.contentType, size=body.size,
                                    purpose=body.purpose, job_id=body.jobId))


@router.get("/{upload_id}", summary="Get an upload's status")
def get_upload(upload_id: str):
    return ok(service.get_upload(upload_id))


@router.post("/{upload_id}/complete", summary="Finish an upload")
def complete_upload(upload_id: str, body: CompleteUpload | None = None):
    parts = [p.model_dump() for p in body.parts] if body and body.parts else None
    return ok(service.complete_upload(upload_id, parts))


@router.delete("/{upload_id}", summary="Abort an upload")
def abort_upload(upload_id: str):
    return ok(service.abort_upload(upload_id))
