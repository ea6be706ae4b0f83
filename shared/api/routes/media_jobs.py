"""/api/jobs: transcode jobs the Upload Manager polls every 3 s (one indexed query per poll)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shared.api.auth import require_auth
from shared.api.envelope import ok, ok_json_text
from shared.media.jobs import service

router = APIRouter(prefix="/api/jobs", tags=["media"], dependencies=[Depends(require_auth)])

PresetName = Literal["landscape_1080p", "landscape_720p", "vertical_9x16", "portrait_3x4", "square_1x1",
                     "thumbnail"]


class JobOptions(BaseModel):
    thumbnailAt: float | None = Field(default=None, ge=0)
    verticalMode: Literal["blur", "crop"] | None = None


class CreateJob(BaseModel):
    # our form
    sourceKey: str | None = Field(default=None, max_length=500)
    presets: list[PresetName] | None = Field(default=None, min_length=1, max_length=6)
    options: JobOptions | None = None
    # the contract's UploadJob form (status/stage/progress are the server's to decide and are ignored)
    fileName: str | None = Field(default=None, max_length=300)
    fileSize: int | None = Field(default=None, ge=0)
    sourceUrl: str | None = Field(default=None, max_length=2000)
    status: str | None = None
    stage: str | None = None
    progress: float | None = None
    metadata: dict[str, Any] | None = None


@router.post("", summary="Create a transcode job")
def create_job(body: CreateJob):
    rows = service.create_jobs(source_key=body.sourceKey, source_url=body.sourceUrl, presets=body.presets,
                               file_name=body.fileName, file_size=body.fileSize, metadata=body.metadata,
                               options=body.options.model_dump(exclude_none=True) if body.options else None)
    jobs = service.views([r for r, _ in rows])
    meta = service.job_summary(rows)
    # the contract's form creates one job and reads {data: UploadJob}; an explicit preset list gets a list
    return ok(jobs if body.presets is not None else jobs[0], meta=meta)


@router.get("", summary="List transcode jobs")
def list_jobs(limit: int = Query(default=50, ge=1, le=200)):
    return ok_json_text(service.list_jobs_json(limit))  # the statement builds the answer: nothing decoded


@router.get("/{job_id}", summary="Get one transcode job with all its events")
def get_job(job_id: str):
    return ok(service.get_job(job_id))


class GiveSource(BaseModel):
    sourceKey: str | None = Field(default=None, max_length=500)
    sourceUrl: str | None = Field(default=None, max_length=2000)


@router.post("/{job_id}/source", summary="Give a waiting job its file")
def give_source(job_id: str, body: GiveSource):
    """A job created without its file gets it (with the other presets created in the same request)."""
    return ok(service.give_source(job_id, body.sourceKey, body.sourceUrl))


@router.post("/{job_id}/cancel", summary="Cancel a job")
def cancel_job(job_id: str):
    return ok(service.cancel_job(job_id))


@router.post("/{job_id}/retry", summary="Retry a failed job")
def retry_job(job_id: str):
    return ok(service.retry_job(job_id))
