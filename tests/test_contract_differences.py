"""The frontend contract's bodies and answers where they differed from ours (frontend-contract.md §1.3, §1.4,
§1.8): POST /api/jobs with the Upload Manager's body, an idempotent DELETE /api/platforms/:platform, and PUT
/api/rss/feeds/:id validated like POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
import rss_samples as S
from media_support import clean_bucket, complete, put_file  # noqa: F401  (fixture)

from shared.local.feed_server import FeedServer

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 4000


def _job_body(name: str, size: int = len(MP4), **extra) -> dict:
    """What the Upload Manager sends (contract §1.8): no sourceKey, the server decides status/stage/progress."""
    return {"fileName": name, "fileSize": size, "status": "pending", "stage": "queued", "progress": 0,
            "metadata": {"title": "The Odyssey", "titleScore": 80, "tags": ["trailer"], "thumbnailAvailable": False},
            **extra}


def _clip(tmp_path, name: str):
    path = tmp_path / name
    path.write_bytes(MP4)
    return path


def _claimable(db) -> dict | None:
    from shared.media.jobs import queue

    job, _ = queue.claim(db, "probe-worker", 60)
    return job


# --- 5. POST /api/jobs with the frontend's body ---------------------------------------------------------------
def test_contract_job_without_a_source_waits_for_its_upload(client, auth, db, clean_state, clean_bucket, tmp_path,
                                                           backing):
    r = client.post("/api/jobs", headers=auth, json=_job_body("odyssey-trailer.mp4"))
    assert r.status_code == 200, r.text
    job = r.json()["data"]
    assert job["status"] == "pending" and job["stage"] == "queued" and job["waitingForFile"] is True
    assert job["sourceKey"] is None and job["fileName"] == "odyssey-trailer.mp4" and job["fileSize"] == len(MP4)
    assert job["metadata"]["title"] == "The Odyssey" and "waiting for the file" in job["events"][-1]["message"]
    listed = client.get("/api/jobs", headers=auth).json()["data"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert _claimable(db) is None  # the worker never sees a job without its file

    # the browser uploads the file through /api/uploads (same name and size): the job starts, once
    wakes = backing.redis_counter.by_command.get("LPUSH", 0)
    plan = put_file(client, auth, _clip(tmp_path, "odyssey-trailer.mp4"))
    done = complete(client, auth, plan).json()["data"]
    assert done["startedJobIds"] == [job["id"]] and "next" not in done
    assert backing.redis_counter.by_command.get("LPUSH", 0) - wakes == 1
    got = client.get(f"/api/jobs/{job['id']}", headers=auth).json()["data"]
    assert got["sourceKey"] == plan["key"] and got["state"] == "queued" and got["waitingForFile"] is False
    assert got["events"][-1]["message"] == "file received: queued for landscape_1080p"
    claimed = _claimable(db)
    assert claimed and str(claimed["id"]) == job["id"]


def test_upload_started_for_a_job_starts_that_job_and_its_presets(client, auth, clean_state, clean_bucket, tmp_path):
    body = _job_body("clip.mp4", presets=["thumbnail", "square_1x1"])
    jobs = client.post("/api/jobs", headers=auth, json=body).json()["data"]
    other = client.post("/api/jobs", headers=auth, json=_job_body("clip.mp4")).json()["data"]  # same name, later
    assert [j["preset"] for j in jobs] == ["thumbnail", "square_1x1"]
    r = client.post("/api/uploads", headers=auth, json={"fileName": "renamed.mp4", "contentType": "video/mp4",
                                                        "size": len(MP4), "purpose": "trailers",
                                                        "jobId": jobs[1]["id"]})
    assert r.status_code == 200, r.text
    plan = r.json()["data"]
    import httpx

    assert httpx.put(plan["url"], content=MP4, headers=plan["headers"]).status_code == 200
    done = client.post(f"/api/uploads/{plan['uploadId']}/complete", headers=auth, json={}).json()["data"]
    assert sorted(done["startedJobIds"]) == sorted(j["id"] for j in jobs)
    assert client.get(f"/api/jobs/{other['id']}", headers=auth).json()["data"]["waitingForFile"] is True

    # an upload for a job that already has its file, or for an image purpose, is refused before any byte moves
    r = client.post("/api/uploads", headers=auth, json={"fileName": "a.mp4", "contentType": "video/mp4",
                                                        "size": 10, "purpose": "trailers", "jobId": jobs[0]["id"]})
    assert r.status_code == 409
    r = client.post("/api/uploads", headers=auth, json={"fileName": "a.jpg", "contentType": "image/jpeg",
                                                        "size": 10, "purpose": "images", "jobId": other["id"]})
    assert r.status_code == 400


def test_job_created_after_its_upload_starts_at_once(client, auth, clean_state, clean_bucket, tmp_path):
    plan = put_file(client, auth, _clip(tmp_path, "late.mp4"))
    assert complete(client, auth, plan).json()["data"]["next"]["path"] == "/api/jobs"  # nothing waited for it
    job = client.post("/api/jobs", headers=auth, json=_job_body("late.mp4")).json()["data"]
    assert job["sourceKey"] == plan["key"] and job["state"] == "queued"
    # the same file is not picked twice: a second job of that name waits for a new upload
    again = client.post("/api/jobs", headers=auth, json=_job_body("late.mp4")).json()["data"]
    assert again["waitingForFile"] is True


def test_source_given_later_cancel_retry_and_give_up(client, auth, db, clean_state, clean_bucket):
    from shared.media.jobs import awaiting

    clean_bucket.put_bytes("trailers/2026/11/given.mp4", MP4, "video/mp4")
    job = client.post("/api/jobs", headers=auth, json=_job_body("given.mp4")).json()["data"]
    url = clean_bucket.public_url("trailers/2026/11/given.mp4")
    r = client.post(f"/api/jobs/{job['id']}/source", headers=auth, json={"sourceUrl": url})
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["sourceKey"] == "trailers/2026/11/given.mp4"
    r = client.post(f"/api/jobs/{job['id']}/source", headers=auth, json={"sourceUrl": url})
    assert r.status_code == 409  # it has its file

    # a URL that is not one of ours is refused with the way forward
    r = client.post("/api/jobs", headers=auth, json=_job_body("x.mp4", sourceUrl="https://cdn.example/x.mp4"))
    assert r.status_code == 400 and "/api/uploads" in r.json()["error"]["message"]

    waiting = client.post("/api/jobs", headers=auth, json=_job_body("never.mp4")).json()["data"]
    cancelled = client.post(f"/api/jobs/{waiting['id']}/cancel", headers=auth).json()["data"]
    assert cancelled["state"] == "cancelled" and cancelled["status"] == "failed"
    retried = client.post(f"/api/jobs/{waiting['id']}/retry", headers=auth).json()["data"]
    assert retried["state"] == "awaiting_source" and retried["waitingForFile"] is True  # waits again

    gone = awaiting.give_up(db, max_wait=timedelta(0))
    assert [str(r["id"]) for r in gone] == [waiting["id"]]
    failed = client.get(f"/api/jobs/{waiting['id']}", headers=auth).json()["data"]
    assert failed["status"] == "failed" and failed["errorCode"] == "NO_SOURCE"
    assert "no file arrived within 0 hours" in failed["error"]


# --- 6. DELETE /api/platforms/:platform is idempotent ----------------------------------------------------------
def test_disconnecting_a_platform_that_is_not_connected_succeeds(client, auth, clean_state):
    r = client.delete("/api/platforms/TikTok", headers=auth)
    assert r.status_code == 200 and r.json()["success"] is True
    assert r.json()["data"] == {"platform": "tiktok", "connected": False}
    assert client.delete("/api/platforms/TikTok", headers=auth).json()["success"] is True
    assert client.delete("/api/platforms/MySpace", headers=auth).status_code == 400  # not a platform at all


# --- 7. PUT /api/rss/feeds/:id is validated like POST ----------------------------------------------------------
@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    yield srv
    srv.stop()


def test_put_feed_is_validated_like_post(client, auth, clean_state, server):
    urls = [server.route(f"/v{i}.xml", S.rss_items(f"Feed {i}", [(f"g{i}", "t", f"https://e.com/{i}")]))
            for i in range(3)]
    a = client.post("/api/rss/feeds", headers=auth, json={"url": urls[0]}).json()["data"]
    b = client.post("/api/rss/feeds", headers=auth, json={"url": urls[1]}).json()["data"]
    assert client.post("/api/rss/feeds", headers=auth, json={"url": urls[0]}).status_code == 409

    r = client.put(f"/api/rss/feeds/{b['id']}", headers=auth, json={"url": urls[0]})
    assert r.status_code == 409 and r.json()["error"]["details"]["feedId"] == a["id"]
    # a URL that redirects permanently to another feed's URL is the same feed
    moved = server.route("/moved.xml", "", status=301, redirect_to=urls[0])
    assert client.put(f"/api/rss/feeds/{b['id']}", headers=auth, json={"url": moved}).status_code == 409
    for bad in ({"filters": {"startFromNowAt": "yesterday-ish"}}, {"platformImageCounts": {"x": "lots"}},
                {"platformImageCounts": {"myspace": "1"}}):
        for method, path in (("put", f"/api/rss/feeds/{b['id']}"), ("post", "/api/rss/feeds")):
            r = getattr(client, method)(path, headers=auth, json={**bad, **({"url": urls[2]} if method == "post"
                                                                              else {})})
            assert r.status_code == 400, (method, bad, r.text)
            assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    after = {f["id"]: f for f in client.get("/api/rss/feeds", headers=auth).json()["data"]}
    assert after[b["id"]]["url"] == urls[1] and after[b["id"]]["platformImageCounts"] is None
    assert len(after) == 2  # nothing half-created by the refused POSTs

    ok = client.put(f"/api/rss/feeds/{b['id']}", headers=auth, json={
        "url": urls[1],  # its own URL is not a duplicate
        "filters": {"startFromNowAt": "2026-03-01T12:00:00.000Z"},
        "platformImageCounts": {"x": 2, "threads": "random"}})
    assert ok.status_code == 200, ok.text
    data = ok.json()["data"]
    assert data["filters"]["startFromNowAt"] == "2026-03-01T12:00:00.000Z"
    assert data["platformImageCounts"] == {"x": "2", "threads": "random"}
