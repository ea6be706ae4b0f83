"""The contract's multipart upload-asset routes (small files, straight to B2) and the B2 browser routes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from shared.api.auth import require_auth
from shared.api.envelope import ok
from shared.api.errors import PayloadTooLarge, ValidationFailed
from shared.media import keys
from shared.media.browser import listing
from shared.media.uploads import service

router = APIRouter(tags=["media"], dependencies=[Depends(require_auth)])

# below the 4.5 MB Vercel body limit with room for the multipart framing
DIRECT_MAX_BYTES = 4 * 1024 * 1024


def _read_small(media: UploadFile) -> bytes:
    data = media.file.read(DIRECT_MAX_BYTES + 1)
    if len(data) > DIRECT_MAX_BYTES:
        raise PayloadTooLarge(
            f"files over {DIRECT_MAX_BYTES // (1 << 20)} MB must be uploaded with POST /api/uploads "
            "(presigned URLs straight to storage)",
            details={"limitBytes": DIRECT_MAX_BYTES, "useUploadsApi": True, "endpoint": "/api/uploads"})
    return data


def _store(folder: str, media: UploadFile) -> dict:
    spec = keys.ASSET_FOLDERS.get(folder)
    if spec is None:
        raise ValidationFailed(f"unknown folder {folder}", details={"field": "folder"})
    data = _read_small(media)
    return service.store_asset(spec, media.filename or "upload", media.content_type or "", data)


@router.post("/api/create/upload-asset", summary="Upload a compose image or video (up to 4 MB)")
def create_upload_asset(mediaFile: UploadFile = File(...),
                        folder: Literal["images", "thumbnails", "trailers"] | None = Form(default=None)):
    """Multipart `mediaFile` (+ optional `folder`), stored straight to B2. Files over 4 MB answer 413 with
    `useUploadsApi: true`: send those with POST /api/uploads (presigned URLs, no size limit of the function)."""
    chosen = folder or ("trailers" if (mediaFile.content_type or "").startswith("video/") else "images")
    return ok(_store(chosen, mediaFile))


@router.post("/api/video-studio/upload-asset", summary="Upload a trailer, voiceover or music file (up to 4 MB)")
def video_studio_upload_asset(mediaFile: UploadFile = File(...),
                              folder: Literal["trailers", "voiceovers", "music"] = Form(default="trailers")):
    return ok(_store(folder, mediaFile))


@router.post("/api/design-studio/upload-asset", summary="Upload a template, preview or render (up to 4 MB)")
def design_studio_upload_asset(mediaFile: UploadFile = File(...),
                               folder: Literal["templates", "template-previews", "renders"] = Form(
                                   default="templates")):
    return ok(_store(folder, mediaFile))


def _browse(kind: str, limit: int, cursor: str | None):
    files, meta = listing.list_folder(kind, limit=limit, cursor=cursor)
    return ok(files, meta=meta)


@router.get("/api/video-studio/backblaze/videos", summary="Browse stored videos")
def browse_videos(limit: int = Query(default=50, ge=1, le=1000), cursor: str | None = Query(default=None)):
    return _browse("videos", limit, cursor)


@router.get("/api/video-studio/backblaze/subtitles", summary="Browse stored subtitles")
def browse_subtitles(limit: int = Query(default=50, ge=1, le=1000), cursor: str | None = Query(default=None)):
    return _browse("subtitles", limit, cursor)


@router.get("/api/design-studio/backblaze/templates", summary="Browse stored design templates")
def browse_templates(limit: int = Query(default=50, ge=1, le=1000), cursor: str | None = Query(default=None)):
    return _browse("templates", limit, cursor)
