"""Jobs that wait for their file (the contract's POST /api/jobs names a file, not where it is).

A job created without a source is stored in state `awaiting_source` (stage `queued`, the contract's status
`pending`). It starts, exactly once, when its file arrives:
- an upload started for it (`POST /api/uploads` with `jobId`) completes;
- else an upload of a file with the same name (and size, when the job gave one) completes: the Upload Manager
  as the contract describes it sends nothing else to link the two;
- or a source is given later (`POST /api/jobs/:id/source` with `sourceKey` or one of our storage URLs).
The reverse order works too: a job created after its file was uploaded (same name and size, not used by a job
yet) starts at once. A job still waiting after `MAX_WAIT` is failed by the daily cleanup, saying why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.media.jobs.queue import _append_event, _jsonb

MAX_WAIT = timedelta(days=1)
WAITING_MESSAGE = "waiting for the file: upload it through /api/uploads, or give its sourceKey"


def create_waiting(conn, *, presets: list[str], file_name: str, file_size: int | None, metadata: dict | None,
                   options: dict | None, max_attempts: int) -> list[dict]:
    rows = conn.execute(
        """
        INSERT INTO media_jobs (source_key, preset, file_name, file_size, metadata, options, max_attempts, state,
                                events)
        SELECT NULL, p, %(file_name)s, %(file_size)s, %(metadata)s, %(options)s, %(max_attempts)s, 'awaiting_source',
               jsonb_build_array(jsonb_build_object('at', now(), 'stage', 'queued', 'level', 'info',
                                                    'message', %(message)s::text))
        FROM unnest(%(presets)s::text[]) AS p
        RETURNING *
        """,
        {"file_name": file_name, "file_size": file_size, "metadata": _jsonb(metadata or {}),
         "options": _jsonb(options or {}), "max_attempts": max_attempts, "presets": presets,
         "message": WAITING_MESSAGE}).fetchall()
    order = {p: i for i, p in enumerate(presets)}
    return sorted(rows, key=lambda r: order[r["preset"]])


def unused_upload_for(conn, file_name: str, file_size: int | None, prefixes: tuple[str, ...]) -> dict | None:
    """A completed upload of this file (same name, same size when known) no job reads yet: the job was created
    after its upload."""
    return conn.execute(
        """
        SELECT u.object_key FROM media_uploads u
        WHERE u.status = 'completed' AND u.file_name = %s AND (%s::bigint IS NULL OR u.actual_size = %s::bigint)
          AND u.completed_at > now() - %s::interval AND split_part(u.object_key, '/', 1) || '/' = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM media_jobs j WHERE j.source_key = u.object_key)
        ORDER BY u.completed_at DESC LIMIT 1
        """, (file_name, file_size, file_size, MAX_WAIT, list(prefixes))).fetchone()


def waiting_for_upload(conn, upload: dict) -> list[dict]:
    """The waiting jobs a completed upload is for: the one it was started for (with its sibling presets), else
    the oldest waiting job of the same file name and size (with its sibling presets)."""
    if upload.get("job_id"):
        anchor = conn.execute("SELECT file_name, created_at FROM media_jobs WHERE id = %s AND state = "
                              "'awaiting_source'", (upload["job_id"],)).fetchone()
    else:
        anchor = conn.execute(
            """SELECT file_name, created_at FROM media_jobs
               WHERE state = 'awaiting_source' AND file_name = %s AND (file_size IS NULL OR file_size = %s)
               ORDER BY created_at LIMIT 1""", (upload["file_name"], upload["actual_size"])).fetchone()
    if anchor is None:
        return []
    # the presets of one POST /api/jobs share their creation instant (one INSERT statement)
    return conn.execute("SELECT * FROM media_jobs WHERE state = 'awaiting_source' AND file_name = %s "
                        "AND created_at = %s FOR UPDATE", (anchor["file_name"], anchor["created_at"])).fetchall()


def start(conn, jobs: list[dict], source_key: str, file_size: int | None) -> tuple[list[dict], list[dict]]:
    """Give waiting jobs their file: each becomes `queued`, unless a job for the same file and preset exists
    already (then the waiting one is cancelled, naming it: the file is rendered once). Returns (started,
    merged)."""
    started, merged = [], []
    for job in jobs:
        twin = conn.execute("SELECT id FROM media_jobs WHERE source_key = %s AND preset = %s",
                            (source_key, job["preset"])).fetchone()
        if twin is not None:
            row = conn.execute(
                f"""UPDATE media_jobs SET state = 'cancelled', finished_at = now(), updated_at = now(),
                        error = %(why)s, error_code = 'DUPLICATE',
                        events = {_append_event("'queued'", "warn", "%(why)s::text")}
                    WHERE id = %(id)s AND state = 'awaiting_source' RETURNING *""",
                {"id": job["id"], "why": f"the same file is already processed for {job['preset']} by job "
                                         f"{twin['id']}"}).fetchone()
            if row:
                merged.append(row)
            continue
        row = conn.execute(
            f"""UPDATE media_jobs SET state = 'queued', source_key = %(key)s, run_after = now(), updated_at = now(),
                    file_size = coalesce(file_size, %(size)s),
                    events = {_append_event("'queued'", "info", "'file received: queued for ' || preset")}
                WHERE id = %(id)s AND state = 'awaiting_source' RETURNING *""",
            {"key": source_key, "size": file_size, "id": job["id"]}).fetchone()
        if row:
            started.append(row)
    return started, merged


def give_up(conn, max_wait: timedelta = MAX_WAIT) -> list[dict[str, Any]]:
    """Fail jobs whose file never came (the daily cleanup)."""
    return conn.execute(
        f"""UPDATE media_jobs SET state = 'failed', finished_at = now(), updated_at = now(),
                error = 'no file arrived within ' || %(hours)s || ' hours; create the job again with its file',
                error_code = 'NO_SOURCE',
                events = {_append_event("'queued'", "error", "'gave up waiting for the file'")}
            WHERE state = 'awaiting_source' AND created_at < now() - %(wait)s::interval RETURNING id, file_name""",
        {"hours": int(max_wait.total_seconds() // 3600), "wait": max_wait}).fetchall()


def _cleanup(ctx) -> dict[str, Any]:
    from shared import activity
    from shared.db import transaction

    with transaction() as conn:
        rows = give_up(conn)
        if rows:
            activity.log("media", "warn", f"{len(rows)} job(s) gave up waiting for their file",
                         {"jobIds": [str(r["id"]) for r in rows]}, conn=conn)
    return {"gaveUpWaiting": len(rows)}


def _register() -> None:
    from shared.maintenance.cleanup import CleanupStep, register

    register(CleanupStep("media.jobs_waiting_for_files", _cleanup))


_register()
