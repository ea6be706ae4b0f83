"""End to end: browser-style presigned uploads (httpx) -> complete -> POST /api/jobs -> the worker in a
subprocess -> poll /api/jobs/:id -> download and probe every rendition. Real ffmpeg, moto S3 server, real
Postgres and Redis."""

from __future__ import annotations

import time

import httpx
import pytest
from media_support import (  # noqa: F401
    WorkerProcess,
    bucket_keys,
    clean_bucket,
    files_under,
    make_clip,
    open_multipart_uploads,
    poll_job,
    upload,
    worker_env,
)

ALL_PRESETS = ["landscape_1080p", "landscape_720p", "vertical_9x16", "portrait_3x4", "square_1x1", "thumbnail"]
ASPECT = {"landscape_1080p": 16 / 9, "landscape_720p": 16 / 9, "vertical_9x16": 9 / 16, "portrait_3x4": 3 / 4,
          "square_1x1": 1.0}


@pytest.fixture
def small_multipart(monkeypatch):
    """Force the multipart plan for a ~10 MB file (5 MB parts, B2's minimum)."""
    from shared.config import get_config

    monkeypatch.setenv("MEDIA_SINGLE_PUT_MAX_BYTES", str(1024 * 1024))
    monkeypatch.setenv("MEDIA_PART_SIZE_BYTES", str(5 * 1024 * 1024))
    get_config.cache_clear()
    yield
    monkeypatch.undo()
    get_config.cache_clear()


def _download(url: str, path):
    with httpx.Client(timeout=30) as http:
        r = http.get(url)
        assert r.status_code == 200
        path.write_bytes(r.content)
    return path


@pytest.mark.long
def test_upload_enqueue_worker_outputs(client, auth, backing, clean_state, clean_bucket, tmp_path):
    from shared.media.ffmpeg.atoms import file_is_faststart
    from shared.media.ffmpeg.probe import probe

    src = make_clip(tmp_path / "My Trailer (Official).mp4", seconds=2, size="320x180")
    stored = upload(client, auth, src)
    assert stored["status"] == "completed" and stored["key"].startswith("trailers/")
    assert stored["key"].endswith(".mp4") and "my-trailer-official" in stored["key"]

    scratch = tmp_path / "scratch"
    worker = WorkerProcess(worker_env(backing, scratch), tmp_path / "worker.log").wait_ready()
    try:
        enqueued_at = time.time()
        r = client.post("/api/jobs", headers=auth, json={"sourceKey": stored["key"], "presets": ALL_PRESETS})
        assert r.status_code == 200, r.text
        jobs = r.json()["data"]
        assert [j["preset"] for j in jobs] == ALL_PRESETS
        assert r.json()["meta"] == {"created": 6, "existing": 0}
        # picked up within 2 s of the enqueue (the Redis wake-up, not a poll)
        first = poll_job(client, auth, jobs[0]["id"], predicate=lambda j: j["status"] != "pending", timeout=5)
        assert time.time() - enqueued_at < 2.0, first

        # idempotent: the same source and presets are the same jobs
        again = client.post("/api/jobs", headers=auth, json={"sourceKey": stored["key"], "presets": ALL_PRESETS})
        assert [j["id"] for j in again.json()["data"]] == [j["id"] for j in jobs]
        assert again.json()["meta"] == {"created": 0, "existing": 6}

        done = {j["preset"]: poll_job(client, auth, j["id"], timeout=60) for j in jobs}
    finally:
        assert worker.stop() == 0, worker.log()

    assert "heartbeat failed" not in worker.log() and "Traceback" not in worker.log()
    for preset, job in done.items():
        assert job["status"] == "completed", (preset, job["error"], worker.log()[-3000:])
        assert job["stage"] == "published" and job["progress"] == 100 and job["attempts"] == 1
        assert [e["stage"] for e in job["events"]][:2] == ["queued", "processing"]
        messages = [e["message"] for e in job["events"]]
        assert any(m.startswith("source verified: 320x180, 2.0 s") for m in messages), messages
        assert any(e["stage"] == "uploading" for e in job["events"])
        assert len(job["resultUrls"]) == 1
        out = job["outputs"][0]
        assert out["key"].startswith("renditions/trailers/") and out["key"].split("/")[-1].startswith(preset)
        local = _download(job["resultUrls"][0], tmp_path / f"out-{preset}")
        assert local.stat().st_size == out["size"]
        info = probe(str(local), own_output=True)
        if preset == "thumbnail":
            assert info.video.codec == "mjpeg" and info.video.width <= 1280
            assert job["metadata"]["thumbnailAvailable"] is True and job["metadata"]["thumbnailUrl"]
            continue
        assert info.video.codec == "h264" and info.video.pix_fmt.startswith("yuv420p")
        assert info.audio.codec == "aac" and info.audio.sample_rate == 48000
        assert abs(info.duration - 2.0) < 0.15
        assert file_is_faststart(str(local)) and out["faststart"] is True
        assert info.video.width % 2 == 0 and info.video.height % 2 == 0
        assert abs(info.video.width / info.video.height - ASPECT[preset]) < 0.03
        assert info.video.width <= 320  # never wider than the source: no upscaling
        assert {c["platform"] for c in out["compliance"]}

    # vertical output passes the Instagram Reels checks except the 3 s minimum (the clip is 2 s)
    reels = next(c for c in done["vertical_9x16"]["outputs"][0]["compliance"] if c["platform"] == "instagram_reels")
    assert reels["problems"] == ["duration 2.0 s is outside 3 s - 15 min"]

    # nothing left behind: no scratch files, no unfinished multipart uploads, exactly one object per preset
    assert files_under(scratch) == []
    assert open_multipart_uploads() == []
    renditions = bucket_keys("renditions/")
    assert len(renditions) == 6

    listed = client.get("/api/jobs", headers=auth).json()["data"]
    assert {j["id"] for j in listed} == {j["id"] for j in jobs}


@pytest.mark.long
def test_multipart_upload_then_transcode(client, auth, backing, clean_state, clean_bucket, tmp_path, small_multipart):
    from shared.media.ffmpeg.probe import probe

    # lossless noise: ~10 MB for 2 s, so the plan needs several 5 MB parts
    src = make_clip(tmp_path / "noisy.mp4", seconds=2, size="480x270", rate=25, source="testsrc2",
                    vcodec=["-vf", "noise=alls=100:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
                            "-pix_fmt", "yuv420p"])
    assert src.stat().st_size > 6 * 1024 * 1024
    r = client.post("/api/uploads", headers=auth, json={"fileName": "noisy.mp4", "contentType": "video/mp4",
                                                        "size": src.stat().st_size, "purpose": "trailers"})
    plan = r.json()["data"]
    assert plan["strategy"] == "multipart" and plan["partSize"] == 5 * 1024 * 1024
    assert len(plan["parts"]) == plan["partCount"] >= 2
    assert "multipart_upload_id" not in plan and "UploadId" not in str(plan.keys())
    # this plan is not used: abort it, which must leave no unfinished multipart upload behind
    assert client.delete(f"/api/uploads/{plan['uploadId']}", headers=auth).json()["data"]["status"] == "aborted"
    assert open_multipart_uploads() == []

    stored = upload(client, auth, src, file_name="noisy.mp4")
    assert stored["status"] == "completed"
    job = client.post("/api/jobs", headers=auth, json={"sourceKey": stored["key"]}).json()["data"]
    assert job["preset"] == "landscape_1080p" and job["status"] == "pending"  # the contract's single-job form

    worker = WorkerProcess(worker_env(backing, tmp_path / "scratch"), tmp_path / "worker.log").wait_ready()
    try:
        done = poll_job(client, auth, job["id"], timeout=60)
    finally:
        worker.stop()
    assert done["status"] == "completed", (done["error"], worker.log()[-2000:])
    local = _download(done["resultUrls"][0], tmp_path / "out.mp4")
    info = probe(str(local))
    assert (info.video.width, info.video.height) == (480, 270)
    assert open_multipart_uploads() == []


def test_rotation_odd_size_no_audio_10bit_vfr(client, auth, backing, clean_state, clean_bucket, tmp_path):
    """Phone-style inputs: rotation metadata, odd dimensions, no audio, 10-bit, variable frame rate."""
    import subprocess

    from media_support import ffmpeg

    from shared.media.ffmpeg.probe import probe

    base = make_clip(tmp_path / "base.mp4", seconds=2, size="321x181", rate=30, audio=False,
                     vcodec=["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p10le"])
    rotated = tmp_path / "phone.mp4"
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-display_rotation:v:0", "90", "-i", str(base), "-c", "copy",
                    str(rotated)], check=True)
    vfr = make_clip(tmp_path / "vfr.mp4", seconds=2, size="320x240", rate=30, audio=True, sample_rate=96000,
                    vcodec=["-vf", "setpts='if(lt(N,20),PTS*2,PTS)'", "-fps_mode", "vfr", "-c:v", "libx264",
                            "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
    src_info = probe(str(rotated))
    assert src_info.video.rotation in (90, 270) and src_info.video.bit_depth == 10 and src_info.audio is None

    keys = [upload(client, auth, p)["key"] for p in (rotated, vfr)]
    jobs = [client.post("/api/jobs", headers=auth, json={"sourceKey": k, "presets": ["vertical_9x16", "square_1x1"],
                                                         "options": {"verticalMode": "crop"}}).json()["data"]
            for k in keys]
    worker = WorkerProcess(worker_env(backing, tmp_path / "scratch"), tmp_path / "worker.log").wait_ready()
    try:
        finished = [poll_job(client, auth, j["id"], timeout=60) for pair in jobs for j in pair]
    finally:
        worker.stop()
    for job in finished:
        assert job["status"] == "completed", (job["error"], worker.log()[-2000:])
        out = job["outputs"][0]
        local = _download(job["resultUrls"][0], tmp_path / f"o-{job['id']}.mp4")
        info = probe(str(local))
        assert info.video.rotation == 0 and info.video.bit_depth == 8
        assert info.video.width % 2 == 0 and info.video.height % 2 == 0
        assert info.audio is not None and info.audio.sample_rate == 48000  # silent track added / resampled
        assert 23 <= info.video.fps <= 60
        assert abs(out["duration"] - 2.0) < 0.3
    rotated_vertical = finished[0]["outputs"][0]
    # the rotated 321x181 source displays as 181x321: the 9:16 crop keeps its width (180 even)
    assert rotated_vertical["width"] == 180 and rotated_vertical["height"] == 320


@pytest.mark.long
def test_worker_renders_a_group_from_one_shared_downscale(client, auth, backing, clean_state, clean_bucket,
                                                          tmp_path):
    """A source larger than every rendition asked for: the worker's combined run (streamed uploads, moov
    composed by the worker) starts each rendition from one shared 1280x720 downscale; every job still ends on its
    own with its own size, audio, faststart file and progress."""
    from shared.media.ffmpeg import combined
    from shared.media.ffmpeg.atoms import file_is_faststart
    from shared.media.ffmpeg.probe import probe

    src = make_clip(tmp_path / "wide.mp4", seconds=1, size="1920x1080", rate=24)
    wanted = ["landscape_720p", "vertical_9x16", "thumbnail"]
    videos = [combined.VideoOutput(p, p) for p in wanted if p != "thumbnail"]
    assert combined.shared_frame_size(probe(str(src)), videos) == (1280, 720)
    stored = upload(client, auth, src)
    worker = WorkerProcess(worker_env(backing, tmp_path / "scratch"), tmp_path / "worker.log").wait_ready()
    try:
        r = client.post("/api/jobs", headers=auth, json={"sourceKey": stored["key"], "presets": wanted})
        done = {j["preset"]: poll_job(client, auth, j["id"], timeout=60) for j in r.json()["data"]}
    finally:
        assert worker.stop() == 0, worker.log()
    assert "Traceback" not in worker.log()
    sizes = {"landscape_720p": (1280, 720), "vertical_9x16": (1080, 1920)}
    for preset, job in done.items():
        assert job["status"] == "completed" and job["progress"] == 100, (preset, job["error"], worker.log()[-3000:])
        assert any("from one decode" in e["message"] for e in job["events"]), job["events"]
        info = probe(str(_download(job["resultUrls"][0], tmp_path / f"out-{preset}")), own_output=True)
        if preset == "thumbnail":
            assert info.video.codec == "mjpeg"
            continue
        assert (info.video.width, info.video.height) == sizes[preset]
        assert info.audio.codec == "aac" and abs(info.duration - 1.0) <= 1 / 24 + 1e-6
        assert file_is_faststart(str(tmp_path / f"out-{preset}")) and job["outputs"][0]["faststart"] is True
