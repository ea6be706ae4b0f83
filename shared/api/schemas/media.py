"""Presigned uploads, transcode jobs (the Upload Manager's UploadJob), small direct uploads, the B2 browser."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.api.schemas.base import Envelope


# --- presigned uploads ---------------------------------------------------------------------------------------------
class Upload(BaseModel):
    uploadId: str
    key: str = Field(description="the object's key in the bucket")
    purpose: Literal["trailers", "images", "thumbnails", "temp"]
    fileName: str
    contentType: str
    size: int = Field(description="declared size in bytes")
    strategy: Literal["single", "multipart"]
    status: Literal["pending", "completed", "failed", "aborted"]
    error: str | None
    createdAt: datetime
    completedAt: datetime | None
    url: str | None = Field(default=None, description="the object's URL, once the upload is complete")


class PresignedPart(BaseModel):
    partNumber: int
    url: str = Field(description="PUT this part's bytes here; keep the ETag header of the answer")


class UploadPlan(Upload):
    """Where the browser sends the bytes: one presigned PUT (`method`, `url`, `headers`), or one presigned URL per
    part (`partSize`, `partCount`, `parts`) then POST .../complete with the parts' ETags."""
    expiresIn: int = Field(description="seconds the presigned URLs stay valid")
    method: Literal["PUT"] | None = None
    headers: dict[str, str] | None = Field(default=None, description="send exactly these headers with the PUT")
    partSize: int | None = None
    partCount: int | None = None
    parts: list[PresignedPart] | None = None


class NextStep(BaseModel):
    method: Literal["POST"]
    path: str
    body: dict[str, Any]


class CompletedUpload(Upload):
    startedJobIds: list[str] | None = Field(default=None, description="jobs that were waiting for this file and "
                                                                      "now run")
    next: NextStep | None = Field(default=None, description="for a trailer no job waits for: how to start one")


# --- jobs ----------------------------------------------------------------------------------------------------------
class JobEvent(BaseModel):
    at: datetime
    stage: str | None = None
    level: str
    message: str


class JobOutput(BaseModel):
    """One rendition, as the worker verified it."""
    model_config = ConfigDict(extra="allow")
    preset: str
    key: str
    url: str
    contentType: str
    size: int
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    videoCodec: str | None = None
    audioCodec: str | None = None
    faststart: bool | None = None
    compliance: list[dict[str, Any]] | None = Field(default=None, description="per target platform: does it pass")
    takenAt: float | None = Field(default=None, description="thumbnail: the second it was taken at")


class JobMetadata(BaseModel):
    """What the Upload Manager stored with the job (frontend-contract §1.8), kept as sent, plus the thumbnail."""
    model_config = ConfigDict(extra="allow")
    title: str | None = None
    titleScore: float | None = None
    description: str | None = None
    descriptionWordCount: int | None = None
    seoScore: float | None = None
    tags: list[str] | None = None
    thumbnailUrl: str | None = None
    thumbnailKey: str | None = None
    thumbnailAvailable: bool


class UploadJob(BaseModel):
    """One rendition job. `status` and `stage` are the contract's; `state` is the queue's own."""
    id: str
    fileName: str
    fileSize: int | None
    sourceKey: str | None = Field(description="null while the job waits for its file")
    preset: Literal["landscape_1080p", "landscape_720p", "vertical_9x16", "portrait_3x4", "square_1x1", "thumbnail"]
    status: Literal["pending", "processing", "completed", "failed"]
    state: Literal["awaiting_source", "queued", "running", "succeeded", "failed", "cancelled"]
    stage: str = Field(description="queued, processing, generating_metadata, encoding, waiting_schedule, uploading, "
                                   "published (frontend-contract §1.8)")
    progress: int = Field(ge=0, le=100)
    cancelRequested: bool
    waitingForFile: bool
    attempts: int
    maxRetries: int
    error: str | None
    errorCode: str | None
    events: list[JobEvent] = Field(description="the newest few on the list poll; all of them on GET /api/jobs/{id}")
    outputs: list[JobOutput]
    resultUrls: list[str]
    metadata: JobMetadata
    backendUsed: Literal["ffmpeg"]
    createdAt: datetime | None
    updatedAt: datetime | None
    startedAt: datetime | None
    completedAt: datetime | None


class JobsCreatedMeta(BaseModel):
    created: int
    existing: int = Field(description="the same source and preset already had a job: that one is returned")


class JobsCreated(BaseModel):
    """The contract's body (no `presets`) creates one job and answers it; a `presets` list answers a list."""
    success: Literal[True]
    data: UploadJob | list[UploadJob]
    meta: JobsCreatedMeta


# --- direct uploads and the bucket browser -------------------------------------------------------------------------
class StoredAsset(BaseModel):
    """The stored file and its public URL."""
    url: str
    fileId: str
    key: str
    fileName: str
    originalName: str
    previewUrl: str
    contentType: str
    size: int


class BackblazeBrowserFile(BaseModel):
    fileId: str
    fileName: str = Field(description="the full key, folders included")
    name: str = Field(description="the last segment of the key")
    contentType: str
    contentLength: int
    uploadTimestamp: int | None = Field(description="Unix milliseconds")
    lastModified: datetime | None
    url: str


class PageMeta(BaseModel):
    nextCursor: str | None = Field(description="pass as `cursor` for the next page")
    hasMore: bool
    count: int


class BrowserPage(BaseModel):
    success: Literal[True]
    data: list[BackblazeBrowserFile]
    meta: PageMeta


RESPONSES: dict[str, Any] = {
    "POST /api/uploads": Envelope[UploadPlan],
    "GET /api/uploads/{upload_id}": Envelope[Upload],
    "POST /api/uploads/{upload_id}/complete": Envelope[CompletedUpload],
    "DELETE /api/uploads/{upload_id}": Envelope[Upload],
    "POST /api/jobs": JobsCreated,
    "GET /api/jobs": Envelope[list[UploadJob]],
    "GET /api/jobs/{job_id}": Envelope[UploadJob],
    "POST /api/jobs/{job_id}/source": Envelope[list[UploadJob]],
    "POST /api/jobs/{job_id}/cancel": Envelope[UploadJob],
    "POST /api/jobs/{job_id}/retry": Envelope[UploadJob],
    "POST /api/create/upload-asset": Envelope[StoredAsset],
    "POST /api/video-studio/upload-asset": Envelope[StoredAsset],
    "POST /api/design-studio/upload-asset": Envelope[StoredAsset],
    "GET /api/video-studio/backblaze/videos": BrowserPage,
    "GET /api/video-studio/backblaze/subtitles": BrowserPage,
    "GET /api/design-studio/backblaze/templates": BrowserPage,
}
