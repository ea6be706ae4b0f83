"""Uploads: the API's side of browser -> B2 transfers. Nothing here handles file bytes except the small
`store_asset` path (the contract's multipart upload-asset routes, bounded by the 4.5 MB function limit).

Trust model: B2 has no POST policy, so nothing enforces size or type while the browser uploads. After the
upload, `complete_upload` HEADs the object (size must equal the declared size) and sniffs its first bytes
(must match the declared type family). The full FFmpeg probe happens in the worker before any rendering
(FFmpeg is not shipped to the serverless functions); a file that fails it is deleted there.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from shared import activity
from shared.config import get_config
from shared.db import connection
from shared.db.rows import one
from shared.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from shared.media import keys
from shared.media.uploads.plan import parts_are_complete, plan_upload
from shared.media.uploads.sniff import SNIFF_BYTES, sniff_problem

PRESIGN_SECONDS = 3600


def _storage():
    from shared.storage.s3 import get_storage

    return get_storage()


def _purpose(name: str) -> keys.Purpose:
    purpose = keys.UPLOAD_PURPOSES.get(name)
    if purpose is None:
        raise ValidationFailed(f"purpose must be one of: {', '.join(keys.UPLOAD_PURPOSES)}",
                               details={"field": "purpose"})
    return purpose


def check_declared(purpose: keys.Purpose, content_type: str, size: int) -> None:
    if content_type.lower() not in purpose.content_types:
        raise ValidationFailed(f"{content_type} is not accepted for {purpose.name}; accepted: "
                               f"{', '.join(sorted(purpose.content_types))}", details={"field": "contentType"})
    if size <= 0:
        raise ValidationFailed("size must be greater than 0 (the file is empty)", details={"field": "size"})
    if size > purpose.max_bytes:
        raise PayloadTooLarge(f"{size} bytes exceeds the {purpose.max_bytes // (1 << 20)} MB limit for "
                              f"{purpose.name}", details={"limitBytes": purpose.max_bytes})


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _view(row: dict, url: str | None = None) -> dict[str, Any]:
    out = {"uploadId": str(row["id"]), "key": row["object_key"], "purpose": row["purpose"],
           "fileName": row["file_name"], "contentType": row["content_type"], "size": row["declared_size"],
           "strategy": row["strategy"], "status": row["status"], "error": row["error"],
           "createdAt": row["created_at"].isoformat(),
           "completedAt": row["completed_at"].isoformat() if row["completed_at"] else None}
    if url:
        out["url"] = url
    return out


def create_upload(*, file_name: str, content_type: str, size: int, purpose: str,
                  job_id: str | None = None) -> dict[str, Any]:
    cfg = get_config()
    spec = _purpose(purpose)
    content_type = content_type.lower()
    check_declared(spec, content_type, size)
    if job_id:
        _check_waiting_job(job_id, spec)
    plan = plan_upload(size, cfg.media_single_put_max_bytes, cfg.media_part_size_bytes)
    key = keys.object_key(spec.prefix, file_name, content_type, _now(), secrets.token_hex(4))
    storage = _storage()
    upload_id = None
    if plan.strategy == "multipart":
        upload_id = storage.create_multipart_upload(key, content_type)
    try:
        with connection() as conn:
            row = conn.execute(
                """INSERT INTO media_uploads (purpose, object_key, file_name, content_type, declared_size, strategy,
                                              multipart_upload_id, part_size, part_count, job_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
                (spec.name, key, file_name[:300], content_type, size, plan.strategy, upload_id, plan.part_size,
                 plan.part_count, job_id)).fetchone()
    except BaseException:
        # no row, so nothing would ever complete or abort it: B2 keeps (and bills) the parts of an abandoned
        # multipart upload until someone aborts it
        if upload_id is not None:
            storage.abort_multipart_upload(key, upload_id)
        raise
    out = _view(one(row))
    out["expiresIn"] = PRESIGN_SECONDS
    if plan.strategy == "single":
        out["method"] = "PUT"
        out["url"] = storage.presign_put(key, content_type, PRESIGN_SECONDS)
        out["headers"] = {"Content-Type": content_type}
    else:
        out["partSize"] = plan.part_size
        out["partCount"] = plan.part_count
        out["parts"] = [{"partNumber": n, "url": storage.presign_upload_part(key, upload_id, n, PRESIGN_SECONDS)}
                        for n in range(1, (plan.part_count or 0) + 1)]
    return out


def _check_waiting_job(job_id: str, spec: keys.Purpose) -> None:
    """An upload started for a job must be able to start it: the job waits for a file, and jobs read from here."""
    from shared.errors import uuid_or_not_found

    job_id = uuid_or_not_found(job_id, "job")
    if spec.prefix + "/" not in keys.JOB_SOURCE_PREFIXES:
        raise ValidationFailed(f"a job's file is uploaded with purpose trailers or temp, not {spec.name}",
                               details={"field": "purpose"})
    with connection() as conn:
        job = conn.execute("SELECT state FROM media_jobs WHERE id = %s", (job_id,)).fetchone()
    if job is None:
        raise NotFound("job not found", details={"field": "jobId"})
    if job["state"] != "awaiting_source":
        raise Conflict(f"the job already has its file (it is {job['state']})", details={"state": job["state"]})


def _load(conn, upload_id: str) -> dict:
    try:
        row = conn.execute("SELECT * FROM media_uploads WHERE id = %s", (upload_id,)).fetchone()
    except Exception as exc:  # not a uuid
        if "invalid input syntax" in str(exc):
            row = None
        else:
            raise
    if row is None:
        raise NotFound("upload not found")
    return row


def get_upload(upload_id: str) -> dict[str, Any]:
    with connection() as conn:
        return _view(_load(conn, upload_id))


def _reject(conn, row: dict, reason: str, storage) -> None:
    try:
        storage.delete(row["object_key"])
    finally:
        conn.execute("UPDATE media_uploads SET status = 'failed', error = %s WHERE id = %s",
                     (reason, row["id"]))
        activity.log("media", "warn", f"upload rejected: {row['file_name']}: {reason}",
                     {"uploadId": str(row["id"]), "key": row["object_key"]}, conn=conn)


def complete_upload(upload_id: str, parts: list[dict[str, Any]] | None) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    storage = _storage()
    with connection() as conn:
        row = _load(conn, upload_id)
        if row["status"] == "completed":  # idempotent: a retried request gets the same answer
            return _view(row, storage.public_url(row["object_key"]))
        if row["status"] != "pending":
            raise Conflict(f"upload is {row['status']}" + (f": {row['error']}" if row["error"] else ""),
                           details={"status": row["status"], "error": row["error"]})
        key = row["object_key"]
        if row["strategy"] == "multipart":
            numbers = [int(p["partNumber"]) for p in parts or []]
            if not parts_are_complete(numbers, row["part_count"]):
                raise ValidationFailed(f"parts must list partNumber 1..{row['part_count']} exactly once, each with "
                                       "the ETag its PUT returned", details={"expectedParts": row["part_count"]})
            try:
                storage.complete_multipart_upload(
                    key, row["multipart_upload_id"],
                    [{"PartNumber": int(p["partNumber"]), "ETag": str(p["etag"])}
                     for p in sorted(parts or [], key=lambda p: int(p["partNumber"]))])
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                raise ValidationFailed(f"storage refused to assemble the parts ({code}); check the ETags and "
                                       "that every part was uploaded", details={"storageCode": code}) from exc
        head = storage.head(key)
        if head is None:
            raise ValidationFailed("no file was uploaded to the presigned URL yet", details={"key": key})
        actual = int(head.get("ContentLength", 0))
        if actual != row["declared_size"]:
            reason = (f"the uploaded file is {actual} bytes but {row['declared_size']} bytes were declared; "
                      "it was deleted, upload it again")
            _reject(conn, row, reason, storage)
            raise ValidationFailed(reason, details={"declared": row["declared_size"], "actual": actual})
        problem = sniff_problem(row["content_type"], storage.read_range(key, 0, min(SNIFF_BYTES, actual)))
        if problem:
            reason = f"{problem}; it was deleted"
            _reject(conn, row, reason, storage)
            raise ValidationFailed(reason, details={"contentType": row["content_type"]})
        row = conn.execute(
            """UPDATE media_uploads SET status = 'completed', actual_size = %s, completed_at = now()
               WHERE id = %s AND status = 'pending' RETURNING *""", (actual, row["id"])).fetchone() or _load(
            conn, upload_id)
        activity.log("media", "info", f"upload stored: {row['file_name']} ({actual} bytes)",
                     {"uploadId": str(row["id"]), "key": key}, conn=conn)
        started = []
        if keys.is_job_source(key):
            from shared.media.jobs.service import start_waiting_for_upload

            with conn.transaction():
                started = start_waiting_for_upload(conn, row)
    out = _view(row, storage.public_url(key))
    if started:
        from shared.media.jobs.wake import push_wake

        push_wake(len(started))
        out["startedJobIds"] = [str(j["id"]) for j in started]
    elif keys.is_job_source(key):
        out["next"] = {"method": "POST", "path": "/api/jobs", "body": {"sourceKey": key}}
    return out


def abort_upload(upload_id: str) -> dict[str, Any]:
    storage = _storage()
    with connection() as conn:
        row = _load(conn, upload_id)
        if row["status"] == "completed":
            raise Conflict("the upload is already complete; delete the file instead")
        if row["status"] == "pending":
            if row["strategy"] == "multipart":
                storage.abort_multipart_upload(row["object_key"], row["multipart_upload_id"])
            else:
                storage.delete(row["object_key"])  # a PUT may already have landed
            row = one(conn.execute("UPDATE media_uploads SET status = 'aborted' WHERE id = %s RETURNING *",
                                   (row["id"],)).fetchone())
    return _view(row)


def store_asset(folder: keys.Purpose, file_name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """Small files through the function body (the contract's upload-asset routes)."""
    content_type = (content_type or "application/octet-stream").lower()
    check_declared(folder, content_type, len(data))
    problem = sniff_problem(content_type, data[:SNIFF_BYTES])
    if problem:
        raise ValidationFailed(problem, details={"contentType": content_type})
    key = keys.object_key(folder.prefix, file_name, content_type, _now(), secrets.token_hex(4))
    storage = _storage()
    storage.put_bytes(key, data, content_type)
    activity.log("media", "info", f"asset stored: {file_name} ({len(data)} bytes)", {"key": key})
    url = storage.public_url(key)
    return {"url": url, "fileId": key, "key": key, "fileName": key.rsplit("/", 1)[-1], "originalName": file_name,
            "previewUrl": url, "contentType": content_type, "size": len(data)}
