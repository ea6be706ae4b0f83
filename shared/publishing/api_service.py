"""POST /api/platforms/post behind the router: store an uploaded file in B2, publish to each target through
the engine (in parallel; each target is its own publication with its own idempotency key), shape results."""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.errors import ValidationFailed
from shared.media import keys
from shared.publishing.engine.service import iso, submit
from shared.publishing.gateway import outcome_of
from shared.publishing.platforms import UnknownPlatform, normalize_target

_STATUS = {"published": "posted", "dry_run": "posted", "failed": "failed", "unconfirmed": "failed",
           "scheduled": "skipped", "skipped": "skipped"}


# what POST /api/platforms/post accepts as its mediaFile: the video and image types /api/uploads accepts, held to
# the same content sniffing (a text/html page is not stored, whatever name or type it was sent with)
PUBLISH_MEDIA = keys.Purpose("publish", "publish/uploads", keys.VIDEO_TYPES | keys.IMAGE_TYPES, 4_500_000)


@dataclass(frozen=True)
class StoredUpload:
    url: str
    key: str
    created: bool  # False when the same bytes were already stored (a retried request): never ours to delete


def check_upload(content_type: str, data: bytes) -> str:
    """The normalised content type, or ValidationFailed/PayloadTooLarge before anything is stored."""
    from shared.media.uploads.service import check_declared
    from shared.media.uploads.sniff import SNIFF_BYTES, sniff_problem

    ctype = (content_type or "application/octet-stream").split(";", 1)[0].strip().lower()
    check_declared(PUBLISH_MEDIA, ctype, len(data))
    problem = sniff_problem(ctype, data[:SNIFF_BYTES])
    if problem:
        raise ValidationFailed(problem, details={"field": "mediaFile", "contentType": ctype})
    return ctype


def store_upload(filename: str, content_type: str, data: bytes) -> StoredUpload:
    """Small files that fit the function body limit go to B2 first; platforms and adapters read them there."""
    from shared.storage.s3 import get_storage

    content_type = check_upload(content_type, data)
    # named by the bytes, not a fresh id: a retried upload resolves to the same URL, hence the same content
    # hash (the idempotency key without an Idempotency-Key header), hence the same publication: no double post
    ext = re.sub(r"[^A-Za-z0-9]+", "", (filename or "").rpartition(".")[2])[:10].lower() \
        if "." in (filename or "") else ""
    key = f"publish/uploads/{hashlib.sha256(data).hexdigest()}" + (f".{ext}" if ext else "")
    storage = get_storage()
    created = storage.head(key) is None
    if created:
        storage.put_bytes(key, data, content_type)
    return StoredUpload(f"b2://{key}", key, created)


def discard_upload(stored: StoredUpload) -> None:
    """A refused request keeps nothing: delete the object this request stored (never one stored before)."""
    if stored.created:
        from shared.storage.s3 import get_storage

        get_storage().delete(stored.key)


def attach_upload(content: dict[str, Any], url: str, content_type: str) -> dict[str, Any]:
    content = dict(content)
    if (content_type or "").startswith("video/"):
        content["videoUrl"] = url
    else:
        content["imageUrls"] = [url]
        content.pop("imageUrl", None)
    return content


def _key(target: str, content: dict[str, Any], header_key: str | None) -> str:
    if header_key:
        return f"api:{header_key[:200]}:{target}"
    digest = hashlib.sha256(json.dumps({"t": target, "c": content}, sort_keys=True, default=str).encode())
    return f"api:{digest.hexdigest()[:40]}"


def _one(name: str, target: str, content: dict[str, Any], header_key: str | None) -> dict[str, Any]:
    row, how = submit(key=_key(target, content, header_key), platform=target, content=content, source="compose",
                      retry_failed=True)
    return result_of(row, name, how)


def result_of(row: dict[str, Any], name: str, how: str = "settled") -> dict[str, Any]:
    """One entry of the response's `results` for a publication as it is now (also what a compose item's late
    settle reads: shared/compose/late.py)."""
    out = outcome_of(row, name, how)
    if row.get("state") == "publishing" and how == "ran":
        out.status = "scheduled"
        out.error = None  # as gateway.publish says it: not outcome_of's "another worker is publishing this"
        out.details["processing"] = True
    status = "skipped" if out.details.get("skipped") else _STATUS[out.status]
    result: dict[str, Any] = {"platform": name, "status": status, "state": out.status,
                              "publicationId": out.details.get("publicationId")}
    if out.platform_post_id:
        result["id"] = out.platform_post_id
    if out.url:
        result["url"] = out.url
    if out.posted_at:
        result["postedAt"] = iso(out.posted_at)
    if out.status == "dry_run":
        result["dryRun"] = True
        result["wouldPost"] = out.details.get("wouldPost")
    if out.status == "unconfirmed":
        result["error"] = (f"{out.error}. We could not confirm the post; check your account before posting "
                           "again.")
    elif out.error:
        result["error"] = out.error
    if out.details.get("violations"):
        result["violations"] = out.details["violations"]
    if out.details.get("scheduledAt"):
        result["scheduledAt"] = out.details["scheduledAt"]
    if out.details.get("warnings"):
        result["warnings"] = out.details["warnings"]
    return result


def publish_now(platforms: list[str], content: dict[str, Any], header_key: str | None) -> dict[str, Any]:
    targets: list[tuple[str, str]] = []
    for name in platforms:
        try:
            targets.append((name, normalize_target(name)))
        except UnknownPlatform as exc:
            raise ValidationFailed(str(exc), details={"platform": name}) from exc
    if not targets:
        raise ValidationFailed("platforms must name at least one platform")
    with ThreadPoolExecutor(max_workers=min(4, len(targets))) as pool:
        results = list(pool.map(lambda t: _one(t[0], t[1], content, header_key), targets))
    summary = {"total": len(results), "posted": sum(r["status"] == "posted" for r in results),
               "failed": sum(r["status"] == "failed" for r in results),
               "skipped": sum(r["status"] == "skipped" for r in results),
               "unconfirmed": sum(r["state"] == "unconfirmed" for r in results)}
    return {"results": results, "summary": summary}
