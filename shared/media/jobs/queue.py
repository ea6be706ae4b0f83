"""The job queue's SQL: every state change is one statement, and every write by a worker is fenced by the
lease token it got at claim time, so a worker that lost its lease (paused, partitioned) can no longer
overwrite the job another worker now holds.

States: queued -> running -> succeeded | failed | cancelled; running -> queued (retry with backoff, or handed
back on shutdown). A running job whose lease expires is claimed again by any worker (at-least-once).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.media.jobs.views import STATUS

MAX_EVENTS = 40


def _append_event(stage_sql: str, level: str, message_sql: str) -> str:
    # keeps the newest MAX_EVENTS events: the 3 s poll returns them, so the row must stay small
    return (f"(CASE WHEN jsonb_array_length(events) >= {MAX_EVENTS} THEN events - 0 ELSE events END) || "
            f"jsonb_build_array(jsonb_build_object('at', now(), 'stage', {stage_sql}, 'level', '{level}', "
            f"'message', {message_sql}))")


# --- producer side (API) ------------------------------------------------------------------------

def enqueue(conn, *, source_key: str, presets: list[str], file_name: str, file_size: int | None,
            metadata: dict | None, options: dict | None, max_attempts: int) -> list[tuple[dict, bool]]:
    """Insert one job per preset; an existing (source, preset) job is returned unchanged. One statement."""
    unique = list(dict.fromkeys(presets))
    rows = conn.execute(
        """
        INSERT INTO media_jobs (source_key, preset, file_name, file_size, metadata, options, max_attempts, events)
        SELECT %(source)s, p, %(file_name)s, %(file_size)s, %(metadata)s, %(options)s, %(max_attempts)s,
               jsonb_build_array(jsonb_build_object('at', now(), 'stage', 'queued', 'level', 'info',
                                                    'message', 'queued for ' || p))
        FROM unnest(%(presets)s::text[]) AS p
        ON CONFLICT ON CONSTRAINT media_jobs_source_preset_key
            DO UPDATE SET source_key = EXCLUDED.source_key
        RETURNING *, (xmax = 0) AS created
        """,
        {"source": source_key, "file_name": file_name, "file_size": file_size,
         "metadata": _jsonb(metadata or {}), "options": _jsonb(options or {}), "max_attempts": max_attempts,
         "presets": unique},
    ).fetchall()
    order = {p: i for i, p in enumerate(unique)}
    rows.sort(key=lambda r: order[r["preset"]])
    return [(r, bool(r.pop("created"))) for r in rows]


# the columns the job views read; `events` cut to the newest `max_events` in SQL when asked (the 3 s poll shows
# 10: fetching and decoding every event of 50 jobs was most of the poll's time)
_LIST_COLUMNS = ("id, source_key, preset, file_name, file_size, metadata, state, stage, progress, attempts, "
                 "max_attempts, cancel_requested, error, error_code, result, created_at, updated_at, started_at, "
                 "finished_at")


def list_query(limit: int = 50, max_events: int | None = None) -> tuple[str, dict]:
    """The newest jobs (media_jobs_created_idx), one statement."""
    if max_events is None:
        return "SELECT * FROM media_jobs ORDER BY created_at DESC, id DESC LIMIT %(limit)s", {"limit": limit}
    return (f"""SELECT {_LIST_COLUMNS},
                   CASE WHEN jsonb_array_length(events) <= %(n)s THEN events
                        ELSE (SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(events) WITH ORDINALITY x(e, i)
                              WHERE i > jsonb_array_length(events) - %(n)s) END AS events
                FROM media_jobs ORDER BY created_at DESC, id DESC LIMIT %(limit)s""",
            {"n": max_events, "limit": limit})


# --- the 3 s poll's answer, built in SQL ---------------------------------------------------------------

def _iso_sql(col: str) -> str:
    """`col` as Python's datetime.isoformat() writes it (views._iso): the fraction only when not zero, then always
    6 digits (to_json would trim its trailing zeros); the offset as +HH:MM."""
    return f"replace(to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM'), '.000000', '')"


def _url_sql(key_sql: str) -> str:
    # %(url_prefix)s: the public base and "/" (the URL is final), or a per-request marker the service replaces
    # with a presigned URL after the query (signing needs the storage credentials and its reuse cache)
    return f"(%(url_prefix)s || ({key_sql}))"


def _status_sql() -> str:
    cases = " ".join(f"WHEN '{state}' THEN '{status}'" for state, status in STATUS.items())
    return f"CASE j.state {cases} END"


def list_json_query(limit: int, max_events: int, url_prefix: str, known: Sequence[str] = ()) -> tuple[str, dict]:
    """The newest jobs, one row each: `id`, `version` (the row version, `xmin`: any write to the row changes it)
    and `body`, the job's JSON text as UploadJob (views.upload_job with `max_events`), NULL for a job whose
    "id:version" is in `known` (the caller holds that text already). One statement: building the answer in
    Postgres skips decoding rows of JSON columns and encoding them again, and building only the jobs that changed
    skips most of the 3 s poll's ~100 KB (a poll mostly sees finished jobs). Output URLs are `url_prefix || key`
    (see _url_sql)."""
    sql = f"""
SELECT j.id::text AS id, j.version,
  CASE WHEN NOT j.known THEN json_build_object(
    'id', j.id::text, 'fileName', j.file_name, 'fileSize', j.file_size, 'sourceKey', j.source_key,
    'preset', j.preset, 'status', {_status_sql()}, 'state', j.state, 'stage', j.stage, 'progress', j.progress,
    'cancelRequested', j.cancel_requested, 'waitingForFile', j.state = 'awaiting_source',
    'attempts', j.attempts, 'maxRetries', j.max_attempts, 'error', j.error, 'errorCode', j.error_code,
    'events', jsonb_path_query_array(j.events, %(newest)s::jsonpath),
    'outputs', COALESCE(o.outputs, '[]'::jsonb), 'resultUrls', COALESCE(o.urls, '[]'::jsonb),
    'metadata', jsonb_build_object('thumbnailAvailable', false) || j.metadata
                || CASE WHEN jsonb_typeof(j.metadata->'thumbnailKey') = 'string' AND j.metadata->>'thumbnailKey' <> ''
                             AND COALESCE(j.result->'outputs', '[]'::jsonb)
                                 @> jsonb_build_array(jsonb_build_object('key', j.metadata->>'thumbnailKey'))
                        THEN jsonb_build_object('thumbnailUrl', {_url_sql("j.metadata->>'thumbnailKey'")})
                        ELSE '{{}}'::jsonb END,
    'backendUsed', 'ffmpeg',
    'createdAt', {_iso_sql("j.created_at")}, 'updatedAt', {_iso_sql("j.updated_at")},
    'startedAt', {_iso_sql("j.started_at")}, 'completedAt', {_iso_sql("j.finished_at")})::text END AS body
FROM (SELECT *, xmin::text AS version, (id::text || ':' || xmin::text) = ANY(%(known)s::text[]) AS known
      FROM media_jobs ORDER BY created_at DESC, id DESC LIMIT %(limit)s) j
LEFT JOIN LATERAL (
  SELECT jsonb_agg(out || jsonb_build_object('url', u.url) ORDER BY i) AS outputs,
         jsonb_agg(u.url ORDER BY i) AS urls
  FROM jsonb_array_elements(CASE WHEN NOT j.known AND jsonb_typeof(j.result->'outputs') = 'array'
                                 THEN j.result->'outputs' ELSE '[]'::jsonb END) WITH ORDINALITY t(out, i),
       LATERAL (SELECT {_url_sql("out->>'key'")} AS url) u) o ON true
ORDER BY j.created_at DESC, j.id DESC
"""
    # lax mode: "$[last-9 to last]" of a shorter array is the whole array
    return sql, {"newest": f"$[last-{max_events - 1} to last]", "limit": limit, "url_prefix": url_prefix,
                 "known": list(known)}


def list_jobs_json(conn, limit: int, max_events: int, url_prefix: str, known: Sequence[str] = ()) -> list[dict]:
    """Rows of (id, version, body or NULL when known): see list_json_query."""
    sql, params = list_json_query(limit, max_events, url_prefix, known)
    return conn.execute(sql, params).fetchall()


def list_jobs(conn, limit: int = 50, max_events: int | None = None) -> list[dict]:
    sql, params = list_query(limit, max_events)
    return conn.execute(sql, params).fetchall()


def get_job(conn, job_id: str) -> dict | None:
    return conn.execute("SELECT * FROM media_jobs WHERE id = %s", (job_id,)).fetchone()


def request_cancel(conn, job_id: str) -> dict | None:
    """A queued job is cancelled at once; a running one is flagged and its worker stops ffmpeg within a
    heartbeat. Terminal jobs are returned unchanged (the caller decides whether that is a conflict)."""
    return conn.execute(
        f"""
        UPDATE media_jobs SET
            state = CASE WHEN state IN ('queued', 'awaiting_source') THEN 'cancelled' ELSE state END,
            cancel_requested = (state = 'running') OR cancel_requested,
            finished_at = CASE WHEN state IN ('queued', 'awaiting_source') THEN now() ELSE finished_at END,
            error = CASE WHEN state IN ('queued', 'awaiting_source') THEN 'Cancelled by user' ELSE error END,
            error_code = CASE WHEN state IN ('queued', 'awaiting_source') THEN 'CANCELLED' ELSE error_code END,
            updated_at = now(),
            events = {_append_event("stage", "warn", "CASE WHEN state IN ('queued', 'awaiting_source') "
                                                      "THEN 'cancelled' ELSE 'cancel requested' END")}
        WHERE id = %s AND state IN ('queued', 'awaiting_source', 'running')
        RETURNING *
        """, (job_id,)).fetchone() or get_job(conn, job_id)


def manual_retry(conn, job_id: str) -> dict | None:
    """A failed or cancelled job starts again with a fresh attempt budget (one that never got its file waits
    for it again)."""
    return conn.execute(
        f"""
        UPDATE media_jobs SET state = CASE WHEN source_key IS NULL THEN 'awaiting_source' ELSE 'queued' END,
            stage = 'queued', progress = 0, attempts = 0,
            run_after = now(), cancel_requested = false, error = NULL, error_code = NULL, result = NULL,
            finished_at = NULL, worker_id = NULL, lease_token = NULL, lease_expires_at = NULL,
            updated_at = now(), events = {_append_event("'queued'", "info", "'retry requested'")}
        WHERE id = %s AND state IN ('failed', 'cancelled')
        RETURNING *
        """, (job_id,)).fetchone()


# --- consumer side (worker) ---------------------------------------------------------------------

_DUE = "((state = 'queued' AND run_after <= now()) OR (state = 'running' AND lease_expires_at < now()))"


def claim_group(conn, worker_id: str, lease_seconds: float, max_jobs: int = 8) -> tuple[list[dict], float | None]:
    """Lease the next due job together with the other due jobs of the same source (up to `max_jobs`, head
    first), so the worker downloads and decodes that source once for all of them; or report in how many
    seconds (database clock) the next job becomes due: a delayed retry or another worker's lease expiring.
    ONE statement either way, so an idle worker's safety poll costs exactly one query.

    Every row of the group gets the same fresh lease token: one heartbeat renews them all, and each later
    write still names its row (`id` + token), so a row another worker took over stays fenced."""
    row = conn.execute(
        f"""
        WITH head AS (
            SELECT id, source_key FROM media_jobs
            WHERE {_DUE}
            ORDER BY run_after, created_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        ), picked AS (
            SELECT j.id, j.state AS previous_state FROM media_jobs j JOIN head ON j.source_key = head.source_key
            WHERE (j.state = 'queued' AND j.run_after <= now()) OR (j.state = 'running' AND j.lease_expires_at < now())
            ORDER BY (j.id = head.id) DESC, j.created_at, j.preset
            LIMIT %(max)s
            FOR UPDATE OF j SKIP LOCKED
        ), token AS (
            SELECT gen_random_uuid() AS value
        ), claimed AS (
            UPDATE media_jobs j SET
                state = 'running', stage = 'processing', progress = 0, worker_id = %(worker)s,
                lease_token = token.value,
                lease_expires_at = now() + make_interval(secs => %(lease)s),
                attempts = j.attempts + 1, started_at = coalesce(j.started_at, now()), updated_at = now(),
                events = {_append_event("'processing'", "info",
                    "CASE WHEN picked.previous_state = 'running' "
                    "THEN 'picked up again: the previous worker stopped renewing its lease (attempt ' "
                    "ELSE 'started (attempt ' END || (j.attempts + 1) || ' of ' || j.max_attempts || ')'")}
            FROM picked, token WHERE j.id = picked.id
            RETURNING j.*, picked.previous_state
        )
        SELECT (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.created_at, c.preset) FROM claimed c) AS jobs,
               (SELECT id FROM head) AS head_id,
               (SELECT extract(epoch FROM min(CASE WHEN state = 'queued' THEN run_after
                                                   ELSE lease_expires_at END) - now())
                  FROM media_jobs WHERE state IN ('queued', 'running')) AS next_due_in
        """, {"worker": worker_id, "lease": float(lease_seconds), "max": max(1, int(max_jobs))}).fetchone()
    jobs = row["jobs"]
    if isinstance(jobs, str):
        jobs = json.loads(jobs)
    if jobs:
        head = str(row["head_id"])
        jobs.sort(key=lambda j: j["id"] != head)  # the job that was due first leads the group
        return jobs, None
    if row["next_due_in"] is None:
        return [], None
    return [], max(0.0, float(row["next_due_in"]))


def claim(conn, worker_id: str, lease_seconds: float) -> tuple[dict | None, float | None]:
    """One job alone (see `claim_group`)."""
    jobs, due = claim_group(conn, worker_id, lease_seconds, max_jobs=1)
    return (jobs[0] if jobs else None), due


def heartbeat(conn, job_id: str, token: str, lease_seconds: float, progress: int,
              stage: str | None = None, message: str | None = None) -> dict | None:
    """Renew the lease and record progress; returns {cancel_requested} or None when the lease is lost."""
    events = _append_event("%(stage)s::text", "info", "%(message)s::text") if message else "events"
    return conn.execute(
        f"""
        UPDATE media_jobs SET lease_expires_at = now() + make_interval(secs => %(lease)s),
            progress = %(progress)s, stage = coalesce(%(stage)s, stage), updated_at = now(),
            events = {events}
        WHERE id = %(id)s AND lease_token = %(token)s AND state = 'running'
        RETURNING cancel_requested
        """, {"lease": float(lease_seconds), "progress": max(0, min(100, int(progress))), "stage": stage,
              "message": message, "id": job_id, "token": token}).fetchone()


def heartbeat_group(conn, token: str, lease_seconds: float,
                    updates: list[tuple[str, int, str | None, list[tuple[str, str]]]]) -> dict[str, bool]:
    """One statement for a whole group: renew the leases, write each job's progress/stage and its new events
    (`updates`: (job id, progress, stage, [(stage, message), ...])). Returns {job id: cancel_requested} for
    the rows still held with this token; a job missing from it has been lost (or finished)."""
    if not updates:
        return {}
    ids = [u[0] for u in updates]
    progress = [max(0, min(100, int(u[1]))) for u in updates]
    stages = [u[2] for u in updates]
    new_events = [json.dumps([{"stage": st, "level": "info", "message": msg} for st, msg in u[3]])
                  for u in updates]
    rows = conn.execute(
        f"""
        UPDATE media_jobs j SET lease_expires_at = now() + make_interval(secs => %(lease)s),
            progress = u.progress, stage = coalesce(u.stage, j.stage), updated_at = now(),
            events = CASE WHEN jsonb_array_length(u.new) = 0 THEN j.events ELSE (
                SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(
                    j.events || (SELECT jsonb_agg(x || jsonb_build_object('at', now()))
                                 FROM jsonb_array_elements(u.new) AS x)) WITH ORDINALITY AS t(e, n)
                WHERE n > jsonb_array_length(j.events) + jsonb_array_length(u.new) - {MAX_EVENTS}) END
        FROM unnest(%(ids)s::uuid[], %(progress)s::int[], %(stages)s::text[], %(new)s::jsonb[])
             AS u(id, progress, stage, new)
        WHERE j.id = u.id AND j.lease_token = %(token)s AND j.state = 'running'
        RETURNING j.id, j.cancel_requested
        """, {"lease": float(lease_seconds), "ids": ids, "progress": progress, "stages": stages,
              "new": new_events, "token": token}).fetchall()
    return {str(r["id"]): bool(r["cancel_requested"]) for r in rows}


def _finish(conn, job_id: str, token: str, sets: str, params: dict, event: str) -> bool:
    params = {**params, "id": job_id, "token": token}
    row = conn.execute(
        f"""
        UPDATE media_jobs SET {sets}, worker_id = NULL, lease_token = NULL, lease_expires_at = NULL,
            updated_at = now(), events = {event}
        WHERE id = %(id)s AND lease_token = %(token)s AND state = 'running'
        RETURNING id
        """, params).fetchone()
    return row is not None


def complete(conn, job_id: str, token: str, result: dict, metadata: dict | None = None) -> bool:
    return _finish(conn, job_id, token,
                   "state = 'succeeded', stage = 'published', progress = 100, finished_at = now(), "
                   "result = %(result)s, error = NULL, error_code = NULL, metadata = metadata || %(meta)s",
                   {"result": _jsonb(result), "meta": _jsonb(metadata or {})},
                   _append_event("'published'", "info", "'finished: output stored'"))


def fail(conn, job_id: str, token: str, error: str, code: str) -> bool:
    return _finish(conn, job_id, token,
                   "state = 'failed', finished_at = now(), error = %(error)s, error_code = %(code)s",
                   {"error": error[:1000], "code": code},
                   _append_event("stage", "error", "'failed: ' || %(error)s"))


def retry_later(conn, job_id: str, token: str, error: str, code: str, delay_seconds: float) -> bool:
    return _finish(conn, job_id, token,
                   "state = 'queued', stage = 'queued', progress = 0, error = %(error)s, error_code = %(code)s, "
                   "run_after = now() + make_interval(secs => %(delay)s)",
                   {"error": error[:1000], "code": code, "delay": float(delay_seconds)},
                   _append_event("'queued'", "warn",
                                 "'attempt ' || attempts || ' failed (' || %(error)s || '); retrying in ' || "
                                 "round(%(delay)s::numeric) || ' s'"))


def hand_back(conn, job_id: str, token: str, reason: str) -> bool:
    """Shutdown: the attempt does not count, the job is due at once for the next worker."""
    return _finish(conn, job_id, token,
                   "state = 'queued', stage = 'queued', progress = 0, attempts = greatest(0, attempts - 1), "
                   "run_after = now()",
                   {"reason": reason},
                   _append_event("'queued'", "warn", "'handed back: ' || %(reason)s"))


def mark_cancelled(conn, job_id: str, token: str) -> bool:
    return _finish(conn, job_id, token,
                   "state = 'cancelled', finished_at = now(), error = 'Cancelled by user', "
                   "error_code = 'CANCELLED', cancel_requested = false",
                   {}, _append_event("stage", "warn", "'cancelled: ffmpeg stopped, temporary files removed'"))


def fail_siblings_for_source(conn, source_key: str, error: str, code: str) -> int:
    """A source that failed verification fails every other queued or finished job on it: queued ones would
    fail the same way, and outputs already made from a bad file are withdrawn (the caller deletes them)."""
    cur = conn.execute(
        f"""
        UPDATE media_jobs SET state = 'failed', finished_at = now(), error = %(error)s, error_code = %(code)s,
            result = NULL, metadata = metadata - 'thumbnailKey' - 'thumbnailAvailable', updated_at = now(),
            events = {_append_event("stage", "error", "'failed: ' || %(error)s")}
        WHERE source_key = %(source)s AND state IN ('queued', 'succeeded')
        """, {"error": error[:1000], "code": code, "source": source_key})
    return cur.rowcount


def decode_job(job: Any) -> dict:
    """claim() returns the row as JSON; timestamps come back as strings, which the worker does not need."""
    return json.loads(job) if isinstance(job, str) else dict(job)


def _jsonb(value: Any):
    from psycopg.types.json import Jsonb  # lazy: the API's cold start must not import psycopg

    return Jsonb(value)
