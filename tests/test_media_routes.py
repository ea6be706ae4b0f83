"""Media routes: validation and contract shapes (uploads, upload-asset, B2 browsers, jobs), the daily cleanup
step, and the worker's import footprint."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from media_support import ROOT, bucket_keys, clean_bucket, make_clip, open_multipart_uploads, put_file  # noqa: F401


def _err(r):
    return r.json()["error"]


@pytest.mark.parametrize("body, status, words", [
    ({"fileName": "a.mp4", "contentType": "video/mp4", "size": 10, "purpose": "music"}, 400, "purpose"),
    ({"fileName": "a.exe", "contentType": "application/x-msdownload", "size": 10, "purpose": "trailers"}, 400,
     "not accepted for trailers"),
    ({"fileName": "a.png", "contentType": "image/png", "size": 30 << 20, "purpose": "images"}, 413, "25 MB limit"),
    ({"fileName": "a.mp4", "contentType": "video/mp4", "size": 5 << 30, "purpose": "trailers"}, 413, "4096 MB"),
    ({"fileName": "", "contentType": "video/mp4", "size": 10, "purpose": "trailers"}, 400, "fileName"),
])
def test_create_upload_validation(client, auth, clean_state, body, status, words):
    r = client.post("/api/uploads", headers=auth, json=body)
    assert r.status_code == status and words in _err(r)["message"], r.text


def test_uploads_need_auth(client):
    assert client.post("/api/uploads", json={}).status_code == 401
    assert client.get("/api/jobs").status_code == 401
    assert client.get("/api/video-studio/backblaze/videos").status_code == 401


def test_single_put_plan_and_complete_is_idempotent(client, auth, clean_state, clean_bucket, tmp_path):
    clip = make_clip(tmp_path / "x.mp4", seconds=1)
    plan = put_file(client, auth, clip, purpose="temp")
    assert plan["strategy"] == "single" and plan["method"] == "PUT" and plan["key"].startswith("temp/")
    assert "X-Amz-Signature" in plan["url"] and plan["headers"] == {"Content-Type": "video/mp4"}
    first = client.post(f"/api/uploads/{plan['uploadId']}/complete", headers=auth, json={})
    second = client.post(f"/api/uploads/{plan['uploadId']}/complete", headers=auth, json={})
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["key"] == second.json()["data"]["key"]
    assert first.json()["data"]["next"]["path"] == "/api/jobs"
    assert client.delete(f"/api/uploads/{plan['uploadId']}", headers=auth).status_code == 409
    with httpx.Client() as http:
        assert http.get(first.json()["data"]["url"]).content == clip.read_bytes()


def test_complete_before_put_and_unknown_ids(client, auth, clean_state, clean_bucket):
    r = client.post("/api/uploads", headers=auth, json={"fileName": "a.jpg", "contentType": "image/jpeg",
                                                        "size": 100, "purpose": "images"})
    up = r.json()["data"]
    r = client.post(f"/api/uploads/{up['uploadId']}/complete", headers=auth, json={})
    assert r.status_code == 400 and "no file was uploaded" in _err(r)["message"]
    assert client.get(f"/api/uploads/{up['uploadId']}", headers=auth).json()["data"]["status"] == "pending"
    assert client.delete(f"/api/uploads/{up['uploadId']}", headers=auth).json()["data"]["status"] == "aborted"
    r = client.post(f"/api/uploads/{up['uploadId']}/complete", headers=auth, json={})
    assert r.status_code == 409 and "aborted" in _err(r)["message"]
    assert client.get("/api/uploads/not-a-uuid", headers=auth).status_code == 404
    assert client.get("/api/uploads/00000000-0000-0000-0000-000000000000", headers=auth).status_code == 404


def test_multipart_complete_checks_parts(client, auth, clean_state, clean_bucket, monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("MEDIA_SINGLE_PUT_MAX_BYTES", "1000")
    get_config.cache_clear()
    try:
        r = client.post("/api/uploads", headers=auth, json={"fileName": "big.mp4", "contentType": "video/mp4",
                                                            "size": 12 << 20, "purpose": "trailers"})
        up = r.json()["data"]
        assert up["strategy"] == "multipart" and up["partCount"] == 1 and up["partSize"] == 16 << 20
        r = client.post(f"/api/uploads/{up['uploadId']}/complete", headers=auth, json={"parts": []})
        assert r.status_code == 400 and "partNumber 1..1" in _err(r)["message"]
        r = client.post(f"/api/uploads/{up['uploadId']}/complete", headers=auth,
                        json={"parts": [{"partNumber": 1, "etag": '"nope"'}]})
        assert r.status_code == 400 and "refused to assemble" in _err(r)["message"]
        assert len(open_multipart_uploads("trailers/")) == 1
        client.delete(f"/api/uploads/{up['uploadId']}", headers=auth)
        assert open_multipart_uploads("trailers/") == []
    finally:
        monkeypatch.undo()
        get_config.cache_clear()


def test_upload_asset_routes(client, auth, clean_state, clean_bucket, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    r = client.post("/api/create/upload-asset", headers=auth, files={"mediaFile": ("Poster Art.png", png, "image/png")})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["key"].startswith("images/") and d["url"] and d["fileName"].endswith(".png") and d["size"] == len(png)

    clip = make_clip(tmp_path / "t.mp4", seconds=1)
    r = client.post("/api/video-studio/upload-asset", headers=auth,
                    files={"mediaFile": ("t.mp4", clip.read_bytes(), "video/mp4")}, data={"folder": "trailers"})
    d = r.json()["data"]
    assert d["key"].startswith("trailers/") and d["originalName"] == "t.mp4" and d["contentType"] == "video/mp4"

    r = client.post("/api/design-studio/upload-asset", headers=auth,
                    files={"mediaFile": ("p.png", png, "image/png")}, data={"folder": "template-previews"})
    assert r.json()["data"]["key"].startswith("template-previews/")

    r = client.post("/api/video-studio/upload-asset", headers=auth,
                    files={"mediaFile": ("fake.mp4", b"not a video at all", "video/mp4")})
    assert r.status_code == 400 and "not a recognised media file" in _err(r)["message"]

    # large files are told to use the presigned flow (the function body limit is 4.5 MB)
    big = b"\x00\x00\x00\x20ftypisom" + b"\x00" * (4 * 1024 * 1024)
    r = client.post("/api/video-studio/upload-asset", headers=auth, files={"mediaFile": ("big.mp4", big, "video/mp4")})
    assert r.status_code == 413 and _err(r)["details"]["useUploadsApi"] is True and "/api/uploads" in _err(r)["message"]
    huge = b"\x00" * (5 * 1024 * 1024)
    r = client.post("/api/video-studio/upload-asset", headers=auth,
                    files={"mediaFile": ("huge.mp4", huge, "video/mp4")})
    assert r.status_code == 413 and "/api/uploads" in _err(r)["message"]
    assert len(bucket_keys()) == 3


def test_backblaze_browser_pagination(client, auth, clean_bucket):
    st = clean_bucket
    for i in range(5):
        st.put_bytes(f"trailers/2026/11/t{i}.mp4", b"x" * (i + 1), "video/mp4")
    st.put_bytes("subtitles/a.vtt", b"WEBVTT", "text/vtt")
    st.put_bytes("templates/a.psd", b"8BPS", "image/vnd.adobe.photoshop")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/video-studio/backblaze/videos", headers=auth, params=params).json()
        seen += body["data"]
        pages += 1
        cursor = body["meta"]["nextCursor"]
        if not cursor:
            break
    assert pages == 3 and [f["fileName"] for f in seen] == [f"trailers/2026/11/t{i}.mp4" for i in range(5)]
    f = seen[0]
    assert set(f) >= {"fileId", "fileName", "contentType", "contentLength", "uploadTimestamp", "lastModified", "url"}
    assert f["contentType"] == "video/mp4" and f["contentLength"] == 1 and isinstance(f["uploadTimestamp"], int)
    subs = client.get("/api/video-studio/backblaze/subtitles", headers=auth).json()["data"]
    assert [(s["fileName"], s["contentType"]) for s in subs] == [("subtitles/a.vtt", "text/vtt")]
    tpl = client.get("/api/design-studio/backblaze/templates", headers=auth).json()["data"]
    assert [t["contentType"] for t in tpl] == ["image/vnd.adobe.photoshop"]


def test_jobs_api_errors(client, auth, clean_state, clean_bucket, tmp_path):
    r = client.post("/api/jobs", headers=auth, json={"status": "pending"})  # no file, no name: nothing to wait for
    assert r.status_code == 400 and "fileName" in _err(r)["message"]
    r = client.post("/api/jobs", headers=auth, json={"sourceKey": "renditions/x.mp4"})
    assert r.status_code == 400
    r = client.post("/api/jobs", headers=auth, json={"sourceKey": "trailers/missing.mp4"})
    assert r.status_code == 404
    r = client.post("/api/jobs", headers=auth, json={"sourceKey": "trailers/a.mp4", "presets": ["8k_imax"]})
    assert r.status_code == 400
    for path in ("/api/jobs/nope", "/api/jobs/00000000-0000-0000-0000-000000000000"):
        assert client.get(path, headers=auth).status_code == 404
        assert client.post(path + "/cancel", headers=auth).status_code == 404
        assert client.post(path + "/retry", headers=auth).status_code == 404

    # the contract's form: sourceUrl of a file we stored, one job back, retry refused while queued
    clean_bucket.put_bytes("trailers/2026/11/x.mp4", b"\x00\x00\x00\x20ftypisom", "video/mp4")
    url = clean_bucket.public_url("trailers/2026/11/x.mp4")
    r = client.post("/api/jobs", headers=auth, json={"fileName": "x.mp4", "fileSize": 12, "sourceUrl": url,
                                                     "status": "pending", "stage": "queued", "progress": 0,
                                                     "metadata": {"title": "X", "thumbnailAvailable": False}})
    job = r.json()["data"]
    assert job["sourceKey"] == "trailers/2026/11/x.mp4" and job["status"] == "pending"
    assert job["metadata"]["title"] == "X" and job["maxRetries"] == 3 and job["backendUsed"] == "ffmpeg"
    assert client.post(f"/api/jobs/{job['id']}/retry", headers=auth).status_code == 409
    assert client.post(f"/api/jobs/{job['id']}/cancel", headers=auth).json()["data"]["status"] == "failed"


def test_enqueue_pushes_one_wake_up_command(client, auth, backing, clean_state, clean_bucket):
    clean_bucket.put_bytes("trailers/w.mp4", b"\x00\x00\x00\x20ftypisom", "video/mp4")
    before = backing.redis_counter.by_command.get("LPUSH", 0)
    client.post("/api/jobs", headers=auth, json={"sourceKey": "trailers/w.mp4", "presets": ["thumbnail", "square_1x1"]})
    client.post("/api/jobs", headers=auth, json={"sourceKey": "trailers/w.mp4", "presets": ["thumbnail"]})
    assert backing.redis_counter.by_command.get("LPUSH", 0) - before == 1  # nothing new the second time


def test_cleanup_aborts_abandoned_uploads_and_old_temp_objects(client, auth, db, clean_state, clean_bucket):
    from shared.maintenance.cleanup import registered_steps
    from shared.media.cleanup import cleanup_media

    st = clean_bucket
    st.put_bytes("temp/old.mp4", b"x", "video/mp4")
    st.put_bytes("trailers/keep.mp4", b"x", "video/mp4")
    mp = st.create_multipart_upload("trailers/abandoned.mp4", "video/mp4")
    pending = client.post("/api/uploads", headers=auth, json={"fileName": "a.jpg", "contentType": "image/jpeg",
                                                              "size": 10, "purpose": "images"}).json()["data"]
    # nothing is older than a day yet (moto stamps every multipart upload "Initiated 2010-11-10", so "now"
    # is set before that date for this half of the check)
    assert cleanup_media(datetime(2010, 1, 1, tzinfo=timezone.utc)) == {
        "abortedMultipartUploads": 0, "deletedTempObjects": 0, "abandonedUploads": 0}
    report = cleanup_media(datetime.now(timezone.utc) + timedelta(days=2))
    assert report == {"abortedMultipartUploads": 1, "deletedTempObjects": 1, "abandonedUploads": 1}
    assert bucket_keys() == ["trailers/keep.mp4"] and open_multipart_uploads() == []
    assert client.get(f"/api/uploads/{pending['uploadId']}", headers=auth).json()["data"]["status"] == "aborted"
    assert mp
    assert "media.uploads" in {step.name for step in registered_steps()}  # the daily cleanup runs it


def test_worker_imports_no_web_framework():
    code = ("import sys; import media_worker.main, media_worker.worker, media_worker.pipeline; "
            "bad = [m for m in ('fastapi', 'starlette', 'uvicorn', 'qstash', 'upstash_redis') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_jobs_list_is_small_and_detail_is_complete(client, auth, db, clean_state, clean_bucket):
    from shared.media.jobs import queue

    clean_bucket.put_bytes("trailers/e.mp4", b"\x00\x00\x00\x20ftypisom", "video/mp4")
    job = client.post("/api/jobs", headers=auth, json={"sourceKey": "trailers/e.mp4"}).json()["data"]
    claimed, _ = queue.claim(db, "w", 30)
    for i in range(20):
        queue.heartbeat(db, job["id"], claimed["lease_token"], 30, i, "encoding", f"step {i}")
    listed = client.get("/api/jobs", headers=auth).json()["data"][0]
    full = client.get(f"/api/jobs/{job['id']}", headers=auth).json()["data"]
    assert len(listed["events"]) == 10 and listed["events"][-1]["message"] == "step 19"
    assert len(full["events"]) == 22 and listed["progress"] == 19 and listed["status"] == "processing"
