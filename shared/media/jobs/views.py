"""A job row as the frontend's UploadJob (pure apart from URL signing, which is passed in)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# internal state -> the contract's status
STATUS = {"awaiting_source": "pending", "queued": "pending", "running": "processing", "succeeded": "completed",
          "failed": "failed", "cancelled": "failed"}


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def upload_job(row: dict, url_for: Callable[[str], str], max_events: int | None = None) -> dict[str, Any]:
    """`max_events`: the 3 s list poll carries only the newest few; GET /api/jobs/:id has them all."""
    result = row.get("result") or {}
    outputs = []
    for out in result.get("outputs", []):
        outputs.append({**out, "url": url_for(out["key"])})
    metadata = dict(row.get("metadata") or {})
    # presigned only when it is an output the worker wrote for this job: rows from before clients were kept
    # from writing it could name any object of the bucket
    thumb = metadata.get("thumbnailKey")
    if isinstance(thumb, str) and thumb and any(out.get("key") == thumb for out in result.get("outputs", [])):
        metadata["thumbnailUrl"] = url_for(thumb)
    metadata.setdefault("thumbnailAvailable", False)
    return {
        "id": str(row["id"]),
        "fileName": row["file_name"],
        "fileSize": row.get("file_size"),
        "sourceKey": row["source_key"],
        "preset": row["preset"],
        "status": STATUS[row["state"]],
        "state": row["state"],
        "stage": row["stage"],
        "progress": int(row["progress"]),
        "cancelRequested": bool(row.get("cancel_requested")),
        "waitingForFile": row["state"] == "awaiting_source",
        "attempts": row["attempts"],
        "maxRetries": row["max_attempts"],
        "error": row.get("error"),
        "errorCode": row.get("error_code"),
        "events": (row.get("events") or [])[-max_events:] if max_events else (row.get("events") or []),
        "outputs": outputs,
        "resultUrls": [o["url"] for o in outputs],
        "metadata": metadata,
        "backendUsed": "ffmpeg",
        "createdAt": _iso(row.get("created_at")),
        "updatedAt": _iso(row.get("updated_at")),
        "startedAt": _iso(row.get("started_at")),
        "completedAt": _iso(row.get("finished_at")),
    }
