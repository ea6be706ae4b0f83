"""Jobs sharing one download and one decode still end one by one: a rendition whose encoder cannot start fails
its own job (the combined run falls back to one run per output, so the others are still made), and a storage
error on one upload retries that job only. Real ffmpeg, Postgres and moto S3; the worker runs in-process."""

from __future__ import annotations

from media_support import bucket_keys, clean_bucket, make_clip  # noqa: F401

from shared.media.jobs import queue


def test_one_failed_output_fails_only_its_job(db, clean_state, clean_bucket, tmp_path, monkeypatch):
    from media_worker.pipeline import Limits
    from media_worker.worker import Worker, WorkerSettings
    from shared.db.connection import direct_connect
    from shared.media.ffmpeg import presets
    from shared.storage.s3 import get_storage

    storage = get_storage()
    src = make_clip(tmp_path / "clip.mp4", seconds=1.5, size="320x180")
    storage.upload_file(str(src), "trailers/group/clip.mp4", "video/mp4")
    rows = queue.enqueue(db, source_key="trailers/group/clip.mp4",
                         presets=["landscape_720p", "square_1x1", "vertical_9x16", "thumbnail"],
                         file_name="clip.mp4", file_size=src.stat().st_size, metadata={}, options={},
                         max_attempts=3)
    ids = {r["preset"]: str(r["id"]) for r, _ in rows}

    # the square encoder cannot open (4:4:4 is not allowed in the High profile): the combined run fails
    real_args = presets.video_output_args

    def broken_square(preset_name, *args, **kwargs):
        out = real_args(preset_name, *args, **kwargs)
        if preset_name == "square_1x1":
            out[-2:-2] = ["-pix_fmt", "yuv444p"]
        return out

    monkeypatch.setattr(presets, "video_output_args", broken_square)

    # the vertical rendition's upload hits a storage outage
    class FlakyStorage:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        @property
        def client(self):
            inner = self._inner.client

            class Client:
                def __getattr__(self, name):
                    return getattr(inner, name)

                def upload_part(self, **kw):  # the streamed upload (and below, its plain fallback)
                    if "vertical_9x16" in kw["Key"]:
                        raise ConnectionError("storage unreachable")
                    return inner.upload_part(**kw)

                def upload_file(self, path, bucket, key, **kw):
                    if "vertical_9x16" in key:
                        raise ConnectionError("storage unreachable")
                    return inner.upload_file(path, bucket, key, **kw)

            return Client()

    settings = WorkerSettings(lease_seconds=30, heartbeat_seconds=0.5, idle_wait_seconds=1, sweep_seconds=60,
                              retry_base_seconds=60, shutdown_grace_seconds=0, redis_url="",
                              temp_dir=str(tmp_path / "scratch"), limits=Limits(600, 4096, 120, "ultrafast"),
                              max_source_bytes=1 << 30)
    w = Worker(settings, connect=direct_connect, storage_factory=lambda: FlakyStorage(storage))
    w.scratch.prepare()
    jobs, _ = w._claim()
    assert sorted(j["preset"] for j in jobs) == sorted(ids)  # one group: one download, one decode
    w.run_group(jobs)
    w.release_db()

    got = {p: queue.get_job(db, i) for p, i in ids.items()}
    assert got["square_1x1"]["state"] == "failed" and got["square_1x1"]["error_code"] == "FFMPEG_FAILED"
    assert "could not render square_1x1" in got["square_1x1"]["error"]
    assert "Invalid argument" in got["square_1x1"]["error"]  # ffmpeg's own reason, from its own run
    assert got["vertical_9x16"]["state"] == "queued" and got["vertical_9x16"]["error_code"] == "TRANSIENT"
    assert "storage unreachable" in got["vertical_9x16"]["error"]
    for p in ("landscape_720p", "thumbnail"):
        assert got[p]["state"] == "succeeded", (p, got[p]["error"])
    messages = [e["message"] for e in got["landscape_720p"]["events"]]
    assert any(m.startswith("one decode for all failed") for m in messages), messages
    assert sorted(k.rsplit("/", 1)[-1] for k in bucket_keys("renditions/")) == ["landscape_720p.mp4",
                                                                                 "thumbnail.jpg"]
    assert list(w.scratch.dir.iterdir()) == []
    assert storage.list_multipart_uploads("") == []  # the failed streamed upload was aborted
