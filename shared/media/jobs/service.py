"""Jobs API service: create (idempotently), list, get, cancel, retry."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Sequence
from typing import Any

from shared import activity
from shared.config import get_config
from shared.db import connection, transaction
from shared.errors import Conflict, NotFound, ValidationFailed, uuid_or_not_found
from shared.media import keys
from shared.media.ffmpeg.presets import PRESET_NAMES
from shared.media.jobs import awaiting, queue
from shared.media.jobs.views import upload_job
from shared.media.jobs.wake import push_wake

DEFAULT_PRESETS = ["landscape_1080p"]


def _url_for():
    cfg = get_config()
    if cfg.b2_public_base_url:  # plain string concatenation: the 3 s poll does not load boto3
        base = cfg.b2_public_base_url.rstrip("/")
        return lambda key: f"{base}/{key}"
    from shared.storage.s3 import get_storage

    return _presigned(get_storage().public_url)


# A presigned GET lives 7 days (shared/storage/s3.py). The 3 s poll used to sign every output of 50 jobs again
# each time (~1 ms each); a URL signed less than a day ago is handed out again instead, so every URL answered
# still has at least 6 days to live.
_PRESIGNED_REUSE_SECONDS = 24 * 3600.0
_PRESIGNED_MAX = 4096
_presigned_cache: dict[str, tuple[str, float]] = {}
_presigned_lock = threading.Lock()


def _presigned(sign):
    def url_for(key: str) -> str:
        now = time.time()  # presigned URLs expire by the wall clock (a frozen instance's monotonic clock stops)
        hit = _presigned_cache.get(key)
        if hit is not None and now - hit[1] < _PRESIGNED_REUSE_SECONDS:
            return hit[0]
        url = sign(key)
        with _presigned_lock:
            if len(_presigned_cache) >= _PRESIGNED_MAX:
                _presigned_cache.clear()
            _presigned_cache[key] = (url, now)
        return url

    return url_for



def source_key_from(source_key: str | None, source_url: str | None) -> str | None:
    """The storage key a job reads, from `sourceKey` or from one of our storage URLs; None when the job names
    neither (it then waits for its file)."""
    if source_key:
        return source_key.lstrip("/")
    if source_url:
        # a URL we handed out: public base or a presigned/bucket URL whose path ends with the key
        from urllib.parse import unquote, urlparse

        path = unquote(urlparse(source_url).path).lstrip("/")
        bucket = get_config().b2_bucket
        if bucket and path.startswith(bucket + "/"):
            path = path[len(bucket) + 1:]
        for prefix in keys.JOB_SOURCE_PREFIXES:
            at = path.find(prefix)
            if at >= 0:
                return path[at:]
        raise ValidationFailed("sourceUrl must be a file in our storage (the url /api/uploads returned); upload "
                               "the file through /api/uploads, or create the job without a source and it waits "
                               "for the upload", details={"field": "sourceUrl"})
    return None


def _wanted_presets(presets: Sequence[str] | None) -> list[str]:
    wanted = list(dict.fromkeys(presets or DEFAULT_PRESETS))
    unknown = [p for p in wanted if p not in PRESET_NAMES]
    if unknown:
        raise ValidationFailed(f"unknown preset(s): {', '.join(unknown)}; known: {', '.join(PRESET_NAMES)}",
                               details={"field": "presets"})
    return wanted


def _source_size(key: str) -> tuple[int, str | None]:
    """(size, uploaded file name) of a job source; refuses a key outside the job prefixes, an upload that is not
    complete, and a key with no object."""
    if not keys.is_job_source(key):
        raise ValidationFailed(f"sourceKey must be under {' or '.join(keys.JOB_SOURCE_PREFIXES)}",
                               details={"field": "sourceKey"})
    with connection() as conn:
        upload = conn.execute("SELECT status, error, file_name, actual_size FROM media_uploads WHERE object_key = %s",
                              (key,)).fetchone()
    if upload is not None and upload["status"] != "completed":
        raise Conflict(f"the upload for {key} is {upload['status']}" +
                       (f": {upload['error']}" if upload["error"] else "; complete it first"))
    if upload is None:
        from shared.storage.s3 import get_storage

        head = get_storage().head(key)
        if head is None:
            raise NotFound(f"no file at {key}")
        return int(head.get("ContentLength", 0)), None
    return upload["actual_size"], upload["file_name"]


# written by the worker once it made the thumbnail; the list presigns thumbnailKey, so a client must not name one
WORKER_METADATA_KEYS = ("thumbnailKey",)


def client_metadata(metadata: dict | None) -> dict | None:
    """A job's metadata as a client may write it: the worker's own keys dropped (else any bucket key a client
    named would be presigned in the jobs list)."""
    if not metadata:
        return metadata
    return {k: v for k, v in metadata.items() if k not in WORKER_METADATA_KEYS}


def create_jobs(*, source_key: str | None, source_url: str | None, presets: Sequence[str] | None,
                file_name: str | None, file_size: int | None, metadata: dict | None,
                options: dict | None) -> list[tuple[dict, bool]]:
    key = source_key_from(source_key, source_url)
    wanted = _wanted_presets(presets)
    metadata = client_metadata(metadata)
    cfg = get_config()
    if key is None:
        if not file_name:
            raise ValidationFailed("give the job its file (sourceKey, or the sourceUrl /api/uploads returned) or "
                                   "the fileName it will be uploaded as", details={"field": "fileName"})
        with connection() as conn:
            uploaded = awaiting.unused_upload_for(conn, file_name, file_size, keys.JOB_SOURCE_PREFIXES)
        if uploaded is None:
            with transaction() as conn:
                waiting = awaiting.create_waiting(conn, presets=wanted, file_name=file_name, file_size=file_size,
                                                  metadata=metadata, options=options,
                                                  max_attempts=cfg.media_job_max_attempts)
                activity.log("media", "info", f"job for {file_name} created; {awaiting.WAITING_MESSAGE}",
                             {"jobIds": [str(r["id"]) for r in waiting]}, conn=conn)
            return [(r, True) for r in waiting]
        key = uploaded["object_key"]  # created after its upload: it starts at once
    size, uploaded_name = _source_size(key)
    name = file_name or uploaded_name or key.rsplit("/", 1)[-1]
    with transaction() as conn:
        rows = queue.enqueue(conn, source_key=key, presets=wanted, file_name=name, file_size=file_size or size,
                             metadata=metadata, options=options, max_attempts=cfg.media_job_max_attempts)
        created = [r for r, new in rows if new]
        if created:
            activity.log("media", "info", f"queued {', '.join(r['preset'] for r in created)} for {name}",
                         {"sourceKey": key, "jobIds": [str(r["id"]) for r in created]}, conn=conn)
    if created:
        push_wake(len(created))
    return rows


def give_source(job_id: str, source_key: str | None, source_url: str | None) -> list[dict]:
    """POST /api/jobs/:id/source: a waiting job (and the other presets created with it) gets its file."""
    job_id = uuid_or_not_found(job_id, "job")
    key = source_key_from(source_key, source_url)
    if key is None:
        raise ValidationFailed("sourceKey or sourceUrl is required", details={"field": "sourceKey"})
    size, _ = _source_size(key)
    with transaction() as conn:
        job = queue.get_job(conn, job_id)
        if job is None:
            raise NotFound("job not found")
        if job["state"] != "awaiting_source":
            raise Conflict(f"the job already has its file (it is {job['state']})", details={"state": job["state"]})
        group = conn.execute("SELECT * FROM media_jobs WHERE state = 'awaiting_source' AND file_name = %s AND "
                             "created_at = %s FOR UPDATE", (job["file_name"], job["created_at"])).fetchall()
        started, merged = awaiting.start(conn, group, key, size)
        activity.log("media", "info", f"file received for {job['file_name']}: queued "
                     f"{', '.join(r['preset'] for r in started) or 'nothing new'}",
                     {"sourceKey": key, "jobIds": [str(r["id"]) for r in started + merged]}, conn=conn)
    if started:
        push_wake(len(started))
    return views(started + merged)


def start_waiting_for_upload(conn, upload: dict) -> list[dict]:
    """Called when an upload completes (inside its connection): start the jobs that waited for this file.
    The caller pushes the wake-up once its transaction committed."""
    jobs = awaiting.waiting_for_upload(conn, upload)
    if not jobs:
        return []
    started, merged = awaiting.start(conn, jobs, upload["object_key"], upload["actual_size"])
    activity.log("media", "info", f"upload of {upload['file_name']} started {len(started)} waiting job(s)",
                 {"uploadId": str(upload["id"]), "jobIds": [str(r["id"]) for r in started + merged]}, conn=conn)
    return started


LIST_EVENTS = 10


def views(rows: list[dict], max_events: int | None = None) -> list[dict]:
    url_for = _url_for() if any(r.get("result") or (r.get("metadata") or {}).get("thumbnailKey") for r in rows) \
        else (lambda key: key)
    return [upload_job(r, url_for, max_events) for r in rows]


# Presigned output URLs in the list statement: a marker stands where each URL goes and list_jobs_json swaps it
# for a URL from _url_for() (signed at most once a day per key, as above). The marker is random per process and
# never leaves it, so no text a client wrote (a file name, metadata) can pass for one. A marked URL is the JSON
# string '"<marker><key as JSON escapes it>"'.
_MARKER = f"presign-{secrets.token_hex(16)}:"
_MARKED_URL = re.compile('"' + re.escape(_MARKER) + r'((?:[^"\\]|\\.)*)"')

# Each job's UploadJob text as the 3 s poll last built it, by (URL prefix, id) -> (row version, text, built at).
# The poll sends the versions it holds and the statement builds only the jobs whose row changed since (a write
# to a row always changes its version, xmin), so a poll over finished jobs builds nothing. A text is reused for
# an hour at most: presigned URLs in it were signed at most a day earlier and live 7 days.
_JOB_TEXT_SECONDS = 3600.0
_JOB_TEXT_MAX = 1000
_job_texts: dict[tuple[str, str], tuple[str, str, float]] = {}
_job_texts_lock = threading.Lock()


def known_job_versions(prefix: str) -> list[str]:
    """The "id:version" of every job text held for `prefix` and still fresh."""
    now = time.time()
    return [f"{job_id}:{version}" for (p, job_id), (version, _, at) in list(_job_texts.items())
            if p == prefix and now - at < _JOB_TEXT_SECONDS]


def clear_job_texts() -> None:
    with _job_texts_lock:
        _job_texts.clear()


def list_jobs_json(limit: int) -> str:
    """GET /api/jobs: the JSON text of the newest jobs as UploadJob (views.upload_job with LIST_EVENTS events),
    built by the statement itself (only for jobs that changed since this process last built them); equal to
    `views(queue.list_jobs(conn, limit, LIST_EVENTS), LIST_EVENTS)`."""
    base = get_config().b2_public_base_url
    prefix = base.rstrip("/") + "/" if base else _MARKER
    limit = max(1, min(limit, 200))
    text = _list_text(limit, prefix, known_job_versions(prefix))
    # a text held when the statement ran was dropped since (the cache was full and cleared): ask for every job
    return text if text is not None else str(_list_text(limit, prefix, []))


def _list_text(limit: int, prefix: str, known: list[str]) -> str | None:
    with connection() as conn:
        rows = queue.list_jobs_json(conn, limit, LIST_EVENTS, prefix, known)
    texts: list[str] = []
    fresh: dict[tuple[str, str], tuple[str, str, float]] = {}
    done: dict[str, str] = {}  # each output's URL appears twice (outputs[].url, resultUrls)
    url_for: Any = None

    def signed(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in done:
            done[key] = json.dumps(url_for(json.loads(f'"{key}"') if "\\" in key else key), ensure_ascii=False)
        return done[key]

    for row in rows:
        body = row["body"]
        if body is None:
            held = _job_texts.get((prefix, row["id"]))
            if held is None or held[0] != row["version"]:
                return None
            texts.append(held[1])
            continue
        if prefix == _MARKER and _MARKER in body:
            url_for = url_for or _url_for()
            body = _MARKED_URL.sub(signed, body)
        fresh[(prefix, row["id"])] = (row["version"], body, time.time())
        texts.append(body)
    if fresh:
        with _job_texts_lock:
            if len(_job_texts) + len(fresh) > _JOB_TEXT_MAX:
                _job_texts.clear()
            _job_texts.update(fresh)
    return "[" + ",".join(texts) + "]"


def get_job(job_id: str) -> dict:
    job_id = uuid_or_not_found(job_id, "job")
    with connection() as conn:
        row = queue.get_job(conn, job_id)
    if row is None:
        raise NotFound("job not found")
    return views([row])[0]


def cancel_job(job_id: str) -> dict:
    job_id = uuid_or_not_found(job_id, "job")
    with connection() as conn:
        row = queue.request_cancel(conn, job_id)
        if row is None:
            raise NotFound("job not found")
        if row["state"] in ("succeeded", "failed"):
            raise Conflict(f"the job already {'finished' if row['state'] == 'succeeded' else 'failed'}",
                           details={"state": row["state"]})
        activity.log("media", "info", f"cancel requested for {row['preset']} of {row['file_name']}",
                     {"jobId": job_id}, conn=conn)
    return views([row])[0]


def retry_job(job_id: str) -> dict:
    job_id = uuid_or_not_found(job_id, "job")
    with connection() as conn:
        row = queue.manual_retry(conn, job_id)
        if row is None:
            existing = queue.get_job(conn, job_id)
            if existing is None:
                raise NotFound("job not found")
            raise Conflict(f"only failed or cancelled jobs can be retried (this one is {existing['state']})",
                           details={"state": existing["state"]})
        activity.log("media", "info", f"retry requested for {row['preset']} of {row['file_name']}",
                     {"jobId": job_id}, conn=conn)
    push_wake(1)
    return views([row])[0]


def job_summary(rows: list[tuple[dict, bool]]) -> dict[str, Any]:
    return {"created": sum(1 for _, new in rows if new), "existing": sum(1 for _, new in rows if not new)}
