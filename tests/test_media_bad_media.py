"""Bad media: each case ends `failed` with a readable reason, and nothing is left behind (no object on B2,
no rendition, no scratch file). Cheap checks happen when the upload completes (size, magic bytes); the
FFmpeg probe happens in the worker before anything is rendered."""

from __future__ import annotations

import pytest
from media_support import (  # noqa: F401
    WorkerProcess,
    bucket_keys,
    clean_bucket,
    complete,
    files_under,
    make_clip,
    open_multipart_uploads,
    poll_job,
    put_file,
    upload,
    worker_env,
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = make_clip(d / "good.mp4", seconds=2, size="320x180")  # moov at the end (no faststart)
    fast = make_clip(d / "fast.mp4", seconds=3, size="320x180", faststart=True)
    truncated = d / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    truncated_fast = d / "truncated-fast.mp4"
    truncated_fast.write_bytes(fast.read_bytes()[: int(fast.stat().st_size * 0.5)])
    text = d / "notes.mp4"
    text.write_text("these are my notes, not a video\n" * 20)
    audio = make_clip(d / "song.mp4", seconds=2, audio=True, vcodec=["-vn"], source="testsrc2")
    one_frame = make_clip(d / "one.mp4", seconds=1, size="320x180", audio=False, extra_out=["-frames:v", "1"])
    empty = d / "empty.mp4"
    empty.write_bytes(b"")
    return {"good": good, "truncated": truncated, "truncated_fast": truncated_fast, "text": text, "audio": audio,
            "one_frame": one_frame, "empty": empty}


def _nothing_left(db, plan_key: str) -> None:
    assert plan_key not in bucket_keys("")
    assert bucket_keys("renditions/") == []
    assert open_multipart_uploads() == []
    row = db.execute("SELECT status, error FROM media_uploads WHERE object_key = %s", (plan_key,)).fetchone()
    assert row["status"] == "failed" and row["error"]


def test_rejected_when_the_upload_completes(client, auth, db, clean_state, clean_bucket, clips):
    # empty file declared as empty: refused before any URL is handed out
    r = client.post("/api/uploads", headers=auth, json={"fileName": "empty.mp4", "contentType": "video/mp4",
                                                        "size": 0, "purpose": "trailers"})
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]

    cases = [
        # (file, declared size, expected words in the reason)
        ("empty", 1000, "0 bytes but 1000 bytes were declared"),
        ("text", None, "declared as video/mp4 but its content is not a recognised media file"),
        ("good", 1000, "bytes were declared"),  # declared smaller than the real object
    ]
    for name, declared, words in cases:
        plan = put_file(client, auth, clips[name], declared_size=declared)
        r = complete(client, auth, plan)
        assert r.status_code == 400, (name, r.text)
        assert words in r.json()["error"]["message"], (name, r.json())
        assert "deleted" in r.json()["error"]["message"]
        _nothing_left(db, plan["key"])
        status = client.get(f"/api/uploads/{plan['uploadId']}", headers=auth).json()["data"]
        assert status["status"] == "failed" and words in status["error"]
        # a rejected upload cannot be turned into jobs
        r = client.post("/api/jobs", headers=auth, json={"sourceKey": plan["key"]})
        assert r.status_code == 409 and "failed" in r.json()["error"]["message"]
    logs = db.execute("SELECT message FROM activity_logs WHERE service = 'media' AND level = 'warn'").fetchall()
    assert len(logs) == 3 and all("upload rejected" in r["message"] for r in logs)


def test_rejected_by_the_worker_probe(client, auth, backing, db, clean_state, clean_bucket, clips, tmp_path):
    cases = {
        "truncated": "incomplete or not a valid MP4/MOV",
        "truncated_fast": "truncated or damaged",
        "audio": "no video stream (an audio-only file)",
        "one_frame": "too short",
    }
    jobs = {}
    for name in cases:
        key = upload(client, auth, clips[name])["key"]
        jobs[name] = (key, client.post("/api/jobs", headers=auth, json={
            "sourceKey": key, "presets": ["landscape_720p", "thumbnail"]}).json()["data"])
    scratch = tmp_path / "scratch"
    w = WorkerProcess(worker_env(backing, scratch), tmp_path / "w.log").wait_ready()
    try:
        finished = {name: [poll_job(client, auth, j["id"], timeout=30) for j in pair]
                    for name, (_, pair) in jobs.items()}
    finally:
        w.stop()
    for name, words in cases.items():
        key = jobs[name][0]
        for job in finished[name]:
            assert job["status"] == "failed", (name, job)
            assert words in job["error"], (name, job["error"])
            assert job["errorCode"] == "INVALID_MEDIA"
            assert job["attempts"] <= 1  # permanent: never retried
        _nothing_left(db, key)
    assert files_under(scratch) == []
    notes = db.execute("SELECT count(*) AS n FROM notifications WHERE type = 'error'").fetchone()["n"]
    assert notes >= len(cases)
