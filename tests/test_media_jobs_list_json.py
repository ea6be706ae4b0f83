"""GET /api/jobs builds its answer in SQL (queue.list_json_query); it must equal what the Python view
(views.upload_job over queue.list_jobs) answers for the same rows, with presigned and with public-base URLs."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from psycopg.types.json import Jsonb

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def _events(n: int) -> list[dict]:
    return [{"at": f"2026-03-01T12:00:{i:02d}.5Z", "stage": "encoding", "level": "info",
             "message": f"step {i} — naïve \"quoted\" \\ path", "ratio": 1.50, "big": 12345678901234}
            for i in range(n)]


def _seed_varied(db) -> None:
    # (state, events, result, metadata, microseconds of created_at, finished?)
    rows = [
        ("awaiting_source", [], None, {}, 0, False),
        ("queued", _events(3), None, {"thumbnailAvailable": True, "note": "ünïcode ✓"}, 123400, False),
        ("running", _events(14), None, {"thumbnailKey": ""}, 1, False),
        ("succeeded", _events(40), {"outputs": [
            {"key": "renditions/a b/1080p.mp4", "width": 1920, "height": 1080, "bytes": 12345678, "fps": 23.976},
            {"key": "renditions/weird \"name\"\\x.mp4", "width": 1080, "height": 1920, "bytes": 1},
            {"key": "thumbnails/a.jpg", "preset": "thumbnail", "width": 1280, "height": 720}],
            "durationSeconds": 120.0},
         {"thumbnailKey": "thumbnails/a.jpg", "thumbnailAvailable": True, "extra": {"nested": [1, 2, None]}},
         999999, True),
        ("succeeded", _events(10), {"outputs": []}, {"thumbnailUrl": "https://kept.example/t.jpg"}, 500000, True),
        ("succeeded", _events(11), {"other": 1}, {"thumbnailKey": None}, 0, True),
        ("failed", _events(2), None, {"thumbnailKey": 5}, 42, True),  # client-written: only a string is a key
        ("cancelled", _events(1), None, {"thumbnailKey": "thumbnails/ü.jpg"}, 7, True),
        # written by a client before clients were kept from it: not an output of the job, never presigned
        ("succeeded", _events(3), {"outputs": [{"key": "renditions/z/720p.mp4"}]},
         {"thumbnailKey": "private/ledger.csv"}, 3, True),
    ]
    for i, (state, events, result, metadata, micros, finished) in enumerate(rows):
        created = T0 + timedelta(minutes=i, microseconds=micros)
        db.execute(
            "INSERT INTO media_jobs (source_key, preset, file_name, file_size, state, stage, progress, attempts, "
            "max_attempts, cancel_requested, error, error_code, result, metadata, events, created_at, updated_at, "
            "started_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s)",
            (f"trailers/{i}.mp4", "thumbnail", f"trailer “{i}”.mp4", None if i == 0 else 10 ** 9 + i, state,
             "encoding" if state == "running" else state, 100 if finished else 40, i % 3, 3, i == 2,
             "boom: \"x\"" if state == "failed" else None, "E_X" if state == "failed" else None,
             Jsonb(result) if result is not None else None, Jsonb(metadata), Jsonb(events), created,
             created + timedelta(seconds=1, microseconds=1),
             None if state in ("awaiting_source", "queued") else created,
             created + timedelta(seconds=5) if finished else None))


def _python_built(db, limit: int) -> list[dict]:
    from shared.media.jobs import queue, service

    return service.views(queue.list_jobs(db, limit, max_events=service.LIST_EVENTS), max_events=service.LIST_EVENTS)


@pytest.mark.parametrize("limit", [50, 3])
def test_sql_built_list_equals_the_python_view_with_presigned_urls(clean_state, db, limit):
    from shared.media.jobs import service

    _seed_varied(db)
    expected = _python_built(db, limit)
    answer = json.loads(service.list_jobs_json(limit))
    assert answer == expected
    assert len(answer) == min(limit, 9)
    signed = [o["url"] for j in answer for o in j["outputs"]]
    assert (limit < 9 or signed) and all("X-Amz-Signature" in u or "Signature" in u for u in signed)


def test_sql_built_list_equals_the_python_view_with_a_public_base(clean_state, db, monkeypatch):
    from shared.config import get_config
    from shared.media.jobs import service

    monkeypatch.setenv("B2_PUBLIC_BASE_URL", "https://cdn.example/bucket/")
    get_config.cache_clear()
    try:
        _seed_varied(db)
        answer = json.loads(service.list_jobs_json(50))
        assert answer == _python_built(db, 50)
        done = next(j for j in answer if j["outputs"] and "a b" in j["outputs"][0]["key"])
        assert done["resultUrls"][0] == "https://cdn.example/bucket/renditions/a b/1080p.mp4"
        assert done["metadata"]["thumbnailUrl"] == "https://cdn.example/bucket/thumbnails/a.jpg"
        assert [j for j in answer if "cdn.example" in str(j["metadata"].get("thumbnailUrl"))] == [done]
        assert "private/ledger.csv" not in json.dumps([j["metadata"].get("thumbnailUrl") for j in answer])
    finally:
        monkeypatch.delenv("B2_PUBLIC_BASE_URL")
        get_config.cache_clear()


def test_the_list_reuses_a_presigned_url_signed_earlier(clean_state, db):
    """The poll signs each output once a day, as before: a second poll hands out the very same URLs."""
    from shared.media.jobs import service

    _seed_varied(db)
    service._presigned_cache.clear()
    first = service.list_jobs_json(50)
    second = service.list_jobs_json(50)
    assert first == second and "presign-" not in first
    assert re.search(r'"url" ?: ?"http', first)


def test_the_route_sends_the_sql_built_list_in_the_envelope(client, auth, clean_state, db):
    _seed_varied(db)
    r = client.get("/api/jobs?limit=5", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["success"] is True and body["data"] == _python_built(db, 5)


def test_a_poll_builds_only_the_jobs_whose_row_changed_and_answers_like_a_fresh_build(clean_state, db):
    """The poll keeps each job's text by row version: any write to a row (even one that leaves updated_at alone)
    is seen on the next poll; unchanged jobs are not built again; new and deleted jobs come and go."""
    from shared.media.jobs import queue, service

    _seed_varied(db)
    service.clear_job_texts()
    assert json.loads(service.list_jobs_json(50)) == _python_built(db, 50)
    known = service.known_job_versions(service._MARKER)
    assert len(known) == 9
    rows = queue.list_jobs_json(db, 50, service.LIST_EVENTS, service._MARKER, known)
    assert all(r["body"] is None for r in rows)  # nothing changed: nothing built

    running = db.execute("SELECT id FROM media_jobs WHERE state = 'running'").fetchone()["id"]
    db.execute("UPDATE media_jobs SET progress = 77, events = events || '[{\"stage\": \"encoding\", \"m\": 1}]' "
               "WHERE id = %s", (running,))  # no updated_at: the row version still changes
    db.execute("DELETE FROM media_jobs WHERE state = 'cancelled'")
    db.execute("INSERT INTO media_jobs (source_key, preset, file_name, created_at) VALUES ('t/new.mp4', 'thumbnail', "
               "'new.mp4', %s)", (T0 + timedelta(days=1),))
    rows = queue.list_jobs_json(db, 50, service.LIST_EVENTS, service._MARKER, known)
    built = {r["id"] for r in rows if r["body"] is not None}
    assert str(running) in built and len(built) == 2  # the changed job and the new one
    answer = json.loads(service.list_jobs_json(50))
    assert answer == _python_built(db, 50)
    assert next(j for j in answer if j["id"] == str(running))["progress"] == 77
    service.clear_job_texts()
    assert json.loads(service.list_jobs_json(50)) == answer  # a fresh build answers the same
