"""The worker under stress: kill -9 mid-encode, SIGTERM mid-encode, cancel mid-encode, two workers at once.

Worker 1 encodes with x264 `veryslow` so an 8 s clip takes a few seconds: long enough to interrupt."""

from __future__ import annotations

import time

import pytest
from media_support import (  # noqa: F401
    WorkerProcess,
    bucket_keys,
    clean_bucket,
    ffmpeg_processes_using,
    files_under,
    make_clip,
    open_multipart_uploads,
    poll_job,
    upload,
    worker_env,
)


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "long.mp4", seconds=8, size="640x360")


@pytest.fixture(scope="module")
def half_slow_clip(tmp_path_factory):
    """Half as long: enough for an encode still running when the worker is stopped, with less of it to wait out."""
    return make_clip(tmp_path_factory.mktemp("clips") / "half.mp4", seconds=4, size="640x360")


def _encoding(job: dict) -> bool:
    return job["stage"] == "encoding" and job["progress"] >= 8


def _enqueue(client, auth, path, preset="landscape_720p"):
    key, jobs = _enqueue_all(client, auth, path, [preset])
    return key, jobs[0]


def _enqueue_all(client, auth, path, presets):
    key = upload(client, auth, path)["key"]
    r = client.post("/api/jobs", headers=auth, json={"sourceKey": key, "presets": presets})
    return key, r.json()["data"]


def _ffmpeg_outputs(scratch) -> list[str]:
    """The rendition files named on the command lines of the ffmpeg processes working in `scratch`."""
    import psutil

    names = []
    for pid in ffmpeg_processes_using(str(scratch)):
        try:
            names += [a.rsplit("/", 1)[-1] for a in psutil.Process(pid).cmdline() if a.endswith(".mp4")
                      and "/source." not in a]
        except psutil.NoSuchProcess:
            pass
    return sorted(names)


@pytest.mark.long
def test_kill9_mid_encode_second_worker_finishes(client, auth, backing, clean_state, clean_bucket, tmp_path, slow_clip):
    """Two presets of one source share one ffmpeg run; the worker dies mid-encode; the next worker takes both
    over once the lease expires and, since their last run died, renders them one per run."""
    scratch = tmp_path / "scratch"
    key, jobs = _enqueue_all(client, auth, slow_clip, ["landscape_720p", "square_1x1"])
    w1 = WorkerProcess(worker_env(backing, scratch, MEDIA_X264_PRESET="veryslow"), tmp_path / "w1.log").wait_ready()
    poll_job(client, auth, jobs[0]["id"], predicate=_encoding, timeout=30)
    assert files_under(scratch), "worker 1 should have a source and a partial output on disk"
    assert _ffmpeg_outputs(scratch) == ["landscape_720p.mp4", "square_1x1.mp4"]  # one decode for both
    w1.kill9()
    time.sleep(0.3)
    assert ffmpeg_processes_using(str(scratch)) == [], "ffmpeg must die with its worker (PDEATHSIG)"
    stuck = client.get(f"/api/jobs/{jobs[1]['id']}", headers=auth).json()["data"]
    assert stuck["status"] == "processing"  # the lease has not expired yet: nobody else may take it

    w2 = WorkerProcess(worker_env(backing, scratch), tmp_path / "w2.log").wait_ready()
    try:
        done = [poll_job(client, auth, j["id"], timeout=60) for j in jobs]
    finally:
        w2.stop()
    for job in done:
        assert job["status"] == "completed", (job["error"], w2.log()[-2000:])
        assert job["attempts"] == 2
        messages = [e["message"] for e in job["events"]]
        again = next(i for i, m in enumerate(messages) if "picked up again" in m)
        assert any("from one decode" in m for m in messages[:again])
        assert f"rendering {job['preset']}" in messages[again:]  # one output per run after a lost worker
    assert "removed scratch left by stopped workers" in w2.log()
    # one final set of outputs, no temp file, no unfinished upload
    outputs = sorted(j["outputs"][0]["key"] for j in done)
    assert sorted(bucket_keys("renditions/")) == outputs
    assert files_under(scratch) == []
    assert open_multipart_uploads() == []
    assert sorted(bucket_keys()) == sorted([key, *outputs])


@pytest.mark.long
def test_sigterm_hands_the_job_back(client, auth, backing, clean_state, clean_bucket, tmp_path, slow_clip):
    scratch = tmp_path / "scratch"
    _, job = _enqueue(client, auth, slow_clip)
    w1 = WorkerProcess(worker_env(backing, scratch, MEDIA_X264_PRESET="veryslow",
                                  MEDIA_WORKER_SHUTDOWN_GRACE_SECONDS="0"), tmp_path / "w1.log").wait_ready()
    poll_job(client, auth, job["id"], predicate=_encoding, timeout=30)
    started = time.time()
    assert w1.stop(timeout=15) == 0, w1.log()
    assert time.time() - started < 8
    back = client.get(f"/api/jobs/{job['id']}", headers=auth).json()["data"]
    assert back["status"] == "pending" and back["stage"] == "queued" and back["attempts"] == 0
    assert "handed back" in back["events"][-1]["message"]
    assert files_under(scratch) == [] and ffmpeg_processes_using(str(scratch)) == []

    w2 = WorkerProcess(worker_env(backing, scratch), tmp_path / "w2.log").wait_ready()
    try:
        done = poll_job(client, auth, job["id"], timeout=60)
    finally:
        w2.stop()
    assert done["status"] == "completed" and done["attempts"] == 1


def test_sigterm_while_idle_exits_at_once(backing, tmp_path):
    w = WorkerProcess(worker_env(backing, tmp_path / "scratch"), tmp_path / "w.log").wait_ready()
    started = time.time()
    assert w.stop(timeout=10) == 0
    assert time.time() - started < 3


@pytest.mark.long
def test_cancel_while_running_stops_ffmpeg_and_cleans_up(client, auth, backing, clean_state, clean_bucket, tmp_path,
                                                          slow_clip):
    """Two presets share one ffmpeg run. Cancelling one early is recorded at once and the run restarts without
    it while the other carries on; cancelling the other stops ffmpeg and removes everything."""
    scratch = tmp_path / "scratch"
    _key, (wide, square) = _enqueue_all(client, auth, slow_clip, ["landscape_720p", "square_1x1"])
    w = WorkerProcess(worker_env(backing, scratch, MEDIA_X264_PRESET="veryslow"), tmp_path / "w.log").wait_ready()
    try:
        poll_job(client, auth, wide["id"], predicate=_encoding, timeout=30)
        assert _ffmpeg_outputs(scratch) == ["landscape_720p.mp4", "square_1x1.mp4"]
        r = client.post(f"/api/jobs/{square['id']}/cancel", headers=auth)
        assert r.status_code == 200 and r.json()["data"]["cancelRequested"] is True
        asked = time.time()
        gone = poll_job(client, auth, square["id"], predicate=lambda j: j["state"] == "cancelled", timeout=15)
        assert time.time() - asked < 5
        assert gone["status"] == "failed" and gone["error"] == "Cancelled by user"
        running = poll_job(client, auth, wide["id"], predicate=lambda j: any(
            "restarted without the cancelled output" in e["message"] for e in j["events"]), timeout=10)
        assert running["status"] == "processing"
        deadline = time.time() + 10
        while _ffmpeg_outputs(scratch) != ["landscape_720p.mp4"] and time.time() < deadline:
            time.sleep(0.1)
        assert _ffmpeg_outputs(scratch) == ["landscape_720p.mp4"]

        assert client.post(f"/api/jobs/{wide['id']}/cancel", headers=auth).status_code == 200
        asked = time.time()
        done = poll_job(client, auth, wide["id"], predicate=lambda j: j["state"] == "cancelled", timeout=15)
        assert time.time() - asked < 5
        assert done["status"] == "failed" and done["error"] == "Cancelled by user"
        assert ffmpeg_processes_using(str(scratch)) == []
        deadline = time.time() + 5
        while files_under(scratch) and time.time() < deadline:
            time.sleep(0.1)
        assert files_under(scratch) == []
        assert bucket_keys("renditions/") == [] and open_multipart_uploads() == []

        # cancelling again is harmless; retry runs it to completion
        assert client.post(f"/api/jobs/{wide['id']}/cancel", headers=auth).status_code == 200
        retried = client.post(f"/api/jobs/{wide['id']}/retry", headers=auth).json()["data"]
        assert retried["status"] == "pending" and retried["attempts"] == 0 and retried["error"] is None
    finally:
        w.stop()


@pytest.mark.long
def test_two_workers_never_run_a_job_twice(client, auth, backing, clean_state, clean_bucket, tmp_path):
    clips = [make_clip(tmp_path / f"c{i}.mp4", seconds=1.5, size="320x180") for i in range(3)]
    keys = [upload(client, auth, c)["key"] for c in clips]
    workers = [WorkerProcess(worker_env(backing, tmp_path / "scratch"), tmp_path / f"w{i}.log").wait_ready()
               for i in range(2)]
    try:
        jobs = []
        for k in keys:
            jobs += client.post("/api/jobs", headers=auth,
                                json={"sourceKey": k, "presets": ["landscape_720p", "square_1x1"]}).json()["data"]
        done = [poll_job(client, auth, j["id"], timeout=60) for j in jobs]
    finally:
        for w in workers:
            w.stop()
    assert all(j["status"] == "completed" and j["attempts"] == 1 for j in done)
    for j in done:
        assert sum(1 for e in j["events"] if e["stage"] == "processing" and "started" in e["message"]) == 1
    # every job ran exactly once and left exactly one output
    assert len(bucket_keys("renditions/")) == 6


@pytest.mark.long
def test_sigterm_lets_a_job_that_ends_within_the_grace_finish(client, auth, backing, clean_state, clean_bucket,
                                                              tmp_path, half_slow_clip):
    scratch = tmp_path / "scratch"
    _, job = _enqueue(client, auth, half_slow_clip)
    w = WorkerProcess(worker_env(backing, scratch, MEDIA_X264_PRESET="veryslow",
                                 MEDIA_WORKER_SHUTDOWN_GRACE_SECONDS="60"), tmp_path / "w.log").wait_ready()
    poll_job(client, auth, job["id"], predicate=_encoding, timeout=30)
    assert w.stop(timeout=60) == 0, w.log()
    assert "finishing or handing back the running job" in w.log()  # the stop came mid-job, not after it
    done = client.get(f"/api/jobs/{job['id']}", headers=auth).json()["data"]
    assert done["status"] == "completed" and done["attempts"] == 1, done
    assert files_under(scratch) == []
