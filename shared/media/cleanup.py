"""The media part of the daily cleanup: abandoned multipart uploads, stale temp/ objects, stale upload rows.

Registered as the step "media.uploads" of the daily cleanup (shared/maintenance/cleanup.py lists this module).
The same is enforced by B2 itself with a lifecycle rule (docs/architecture/media.md), which covers the
multipart uploads this job cannot see if it does not run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from shared import activity
from shared.db import connection
from shared.maintenance.cleanup import CleanupStep, register
from shared.media.keys import TEMP_PREFIX

MAX_AGE = timedelta(days=1)


def cleanup_media(now: datetime | None = None, max_age: timedelta = MAX_AGE) -> dict[str, Any]:
    from shared.storage.s3 import get_storage

    now = now or datetime.now(timezone.utc)
    cutoff = now - max_age
    storage = get_storage()
    aborted = 0
    for upload in storage.list_multipart_uploads(prefix=""):
        initiated = upload.get("Initiated")
        if initiated is not None and initiated < cutoff:
            storage.abort_multipart_upload(upload["Key"], upload["UploadId"])
            aborted += 1
    deleted = 0
    token = None
    while True:
        page = storage.list(TEMP_PREFIX, continuation_token=token, limit=1000)
        for obj in page.get("Contents", []):
            if obj.get("LastModified") is not None and obj["LastModified"] < cutoff:
                storage.delete(obj["Key"])
                deleted += 1
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            break
    with connection() as conn:
        stale = conn.execute(
            """UPDATE media_uploads SET status = 'aborted', error = 'abandoned: not completed within a day'
               WHERE status = 'pending' AND created_at < %s RETURNING object_key, strategy""", (cutoff,)).fetchall()
        for row in stale:
            if row["strategy"] == "single":
                storage.delete(row["object_key"])  # a PUT that was never completed
        report = {"abortedMultipartUploads": aborted, "deletedTempObjects": deleted, "abandonedUploads": len(stale)}
        if aborted or deleted or stale:
            activity.log("media", "info", "media cleanup: " + ", ".join(f"{k}={v}" for k, v in report.items()),
                         report, conn=conn)
    return report


register(CleanupStep("media.uploads", lambda ctx: cleanup_media(ctx.now)))
