"""The job queue against real Postgres: idempotent enqueue, SKIP LOCKED claims, leases and fencing,
backoff, max attempts, cancel and retry, and the idle worker's single-statement poll."""

from __future__ import annotations

import threading
import time

import pytest

from shared.media.jobs import queue


def _enqueue(conn, source="trailers/a.mp4", presets=("landscape_720p",), max_attempts=3):
    return queue.enqueue(conn, source_key=source, presets=list(presets), file_name="a.mp4", file_size=10,
                         metadata={"title": "A"}, options={}, max_attempts=max_attempts)


def test_enqueue_is_idempotent_per_source_and_preset(db, clean_state):
    first = _enqueue(db, presets=["landscape_720p", "thumbnail", "landscape_720p"])
    assert [(r["preset"], new) for r, new in first] == [("landscape_720p", True), ("thumbnail", True)]
    again = _enqueue(db, presets=["thumbnail", "square_1x1"])
    assert [(r["preset"], new) for r, new in again] == [("thumbnail", False), ("square_1x1", True)]
    assert again[0][0]["id"] == first[1][0]["id"]
    assert db.execute("SELECT count(*) AS n FROM media_jobs").fetchone()["n"] == 3


def test_claim_leases_one_job_and_reports_next_due(db, clean_state):
    job, due = queue.claim(db, "w1", 30)
    assert job is None and due is None  # empty queue: sleep until woken or the safety poll
    _enqueue(db, presets=["landscape_720p"])
    job, due = queue.claim(db, "w1", 30)
    assert job["state"] == "running" and job["attempts"] == 1 and job["worker_id"] == "w1"
    assert job["previous_state"] == "queued" and job["lease_token"]
    again, due = queue.claim(db, "w2", 30)
    assert again is None and 25 < due <= 30  # the other worker learns when the lease would expire


def test_concurrent_claims_never_share_a_job(backing, clean_state):
    from shared.db.connection import direct_connect

    with direct_connect() as conn:
        _enqueue(conn, presets=["landscape_1080p", "landscape_720p", "vertical_9x16", "portrait_3x4",
                                "square_1x1", "thumbnail"])
    claimed: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with direct_connect() as conn:
            while True:
                job, _ = queue.claim(conn, name, 30)
                if job is None:
                    return
                with lock:
                    claimed.append(job["id"])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == 6 and len(set(claimed)) == 6


def test_claim_group_leases_the_due_jobs_of_one_source_together(db, clean_state):
    a = {r["preset"]: r for r, _ in _enqueue(db, source="trailers/a.mp4",
                                             presets=["landscape_720p", "square_1x1", "thumbnail"])}
    _enqueue(db, source="trailers/b.mp4", presets=["landscape_720p"])
    # a's square is waiting out a retry delay: not due, so not part of the group
    db.execute("UPDATE media_jobs SET run_after = now() + interval '1 hour' WHERE id = %s", (a["square_1x1"]["id"],))
    jobs, due = queue.claim_group(db, "w1", 30)
    assert due is None and {j["source_key"] for j in jobs} == {"trailers/a.mp4"}
    assert sorted(j["preset"] for j in jobs) == ["landscape_720p", "thumbnail"]
    assert len({j["lease_token"] for j in jobs}) == 1 and all(j["attempts"] == 1 for j in jobs)
    jobs, _ = queue.claim_group(db, "w2", 30)
    assert [(j["source_key"], j["preset"]) for j in jobs] == [("trailers/b.mp4", "landscape_720p")]
    jobs, due = queue.claim_group(db, "w3", 30)
    assert jobs == [] and 25 < due <= 30
    # a cap keeps a group small; the head (the job due first) always leads it
    _enqueue(db, source="trailers/c.mp4", presets=["vertical_9x16", "portrait_3x4", "landscape_1080p"])
    jobs, _ = queue.claim_group(db, "w3", 30, max_jobs=2)
    assert len(jobs) == 2 and {j["source_key"] for j in jobs} == {"trailers/c.mp4"}


def test_concurrent_group_claims_never_share_a_job(backing, clean_state):
    from shared.db.connection import direct_connect

    with direct_connect() as conn:
        for n in range(3):
            _enqueue(conn, source=f"trailers/{n}.mp4", presets=["landscape_720p", "square_1x1", "thumbnail"])
    groups: list[list[dict]] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        with direct_connect() as conn:
            while True:
                jobs, _ = queue.claim_group(conn, name, 30, max_jobs=2)
                if not jobs:
                    return
                with lock:
                    groups.append(jobs)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [j["id"] for g in groups for j in g]
    assert len(ids) == 9 and len(set(ids)) == 9
    assert all(len({j["source_key"] for j in g}) == 1 and len({j["lease_token"] for j in g}) == 1 for g in groups)


def test_group_heartbeat_writes_each_job_and_reports_cancels_and_losses(db, clean_state):
    _enqueue(db, presets=["landscape_720p", "square_1x1", "thumbnail"])
    jobs, _ = queue.claim_group(db, "w1", 0.3)
    token = jobs[0]["lease_token"]
    ids = [j["id"] for j in jobs]
    queue.request_cancel(db, ids[1])
    held = queue.heartbeat_group(db, token, 0.3, [
        (ids[0], 40, "encoding", [("encoding", "rendering from one decode")]),
        (ids[1], 40, "encoding", []),
        (ids[2], 55, "uploading", [("encoding", "thumbnail taken"), ("uploading", "storing")])])
    assert held == {ids[0]: False, ids[1]: True, ids[2]: False}
    rows = {i: queue.get_job(db, i) for i in ids}
    assert (rows[ids[2]]["progress"], rows[ids[2]]["stage"]) == (55, "uploading")
    assert [e["message"] for e in rows[ids[2]]["events"][-2:]] == ["thumbnail taken", "storing"]
    assert all(e.get("at") for e in rows[ids[2]]["events"])
    assert rows[ids[1]]["events"][-1]["message"] == "cancel requested"  # no event added for an empty list
    # bounded like the single heartbeat
    for i in range(queue.MAX_EVENTS):
        queue.heartbeat_group(db, token, 0.3, [(ids[0], 41, None, [("encoding", f"s{i}"), ("encoding", f"t{i}")])])
    events = queue.get_job(db, ids[0])["events"]
    assert len(events) == queue.MAX_EVENTS and events[-1]["message"] == f"t{queue.MAX_EVENTS - 1}"
    # the lease runs out and another worker takes one job over: that job drops out of our heartbeat
    time.sleep(0.4)
    stolen, _ = queue.claim(db, "w2", 30)
    held = queue.heartbeat_group(db, token, 30, [(i, 50, None, []) for i in ids])
    assert stolen["id"] not in held and len(held) == 2


def test_expired_lease_is_reclaimed_and_the_old_holder_is_fenced(db, clean_state):
    _enqueue(db)
    job, _ = queue.claim(db, "w1", 0.2)
    time.sleep(0.3)
    stolen, _ = queue.claim(db, "w2", 30)
    assert stolen["id"] == job["id"] and stolen["attempts"] == 2 and stolen["previous_state"] == "running"
    assert "picked up again" in stolen["events"][-1]["message"]
    # the first worker wakes up: every write with its old token is refused
    assert queue.heartbeat(db, job["id"], job["lease_token"], 30, 50) is None
    assert queue.complete(db, job["id"], job["lease_token"], {"outputs": []}) is False
    assert queue.fail(db, job["id"], job["lease_token"], "x", "X") is False
    assert queue.complete(db, job["id"], stolen["lease_token"], {"outputs": []}) is True
    row = queue.get_job(db, job["id"])
    assert row["state"] == "succeeded" and row["lease_token"] is None and row["progress"] == 100


def test_retry_later_sets_backoff_and_keeps_reason(db, clean_state):
    _enqueue(db)
    job, _ = queue.claim(db, "w1", 30)
    assert queue.retry_later(db, job["id"], job["lease_token"], "ConnectionError: reset", "TRANSIENT", 60)
    row = queue.get_job(db, job["id"])
    assert row["state"] == "queued" and row["error"] == "ConnectionError: reset" and row["attempts"] == 1
    assert "retrying in 60 s" in row["events"][-1]["message"]
    again, due = queue.claim(db, "w1", 30)
    assert again is None and 55 < due <= 60  # not due yet: the worker sleeps until then


def test_heartbeat_reports_cancel_and_cancel_paths(db, clean_state):
    (queued, _), (running, _) = _enqueue(db, presets=["thumbnail", "square_1x1"])
    job, _ = queue.claim(db, "w1", 30)
    other = queued if job["id"] != str(queued["id"]) else running
    # a queued job is cancelled at once
    row = queue.request_cancel(db, str(other["id"]))
    assert row["state"] == "cancelled" and row["error"] == "Cancelled by user"
    # a running job is flagged; its worker learns it from the next heartbeat
    row = queue.request_cancel(db, job["id"])
    assert row["state"] == "running" and row["cancel_requested"] is True
    assert queue.heartbeat(db, job["id"], job["lease_token"], 30, 40, "encoding")["cancel_requested"] is True
    assert queue.mark_cancelled(db, job["id"], job["lease_token"])
    assert queue.get_job(db, job["id"])["state"] == "cancelled"
    # manual retry restarts with a fresh budget; only failed/cancelled jobs can be retried
    retried = queue.manual_retry(db, job["id"])
    assert retried["state"] == "queued" and retried["attempts"] == 0 and retried["cancel_requested"] is False
    assert queue.manual_retry(db, job["id"]) is None


def test_hand_back_does_not_consume_an_attempt(db, clean_state):
    _enqueue(db)
    job, _ = queue.claim(db, "w1", 30)
    assert queue.hand_back(db, job["id"], job["lease_token"], "shutting down")
    row = queue.get_job(db, job["id"])
    assert row["state"] == "queued" and row["attempts"] == 0 and row["run_after"] <= row["updated_at"]


def test_events_stay_bounded(db, clean_state):
    _enqueue(db)
    job, _ = queue.claim(db, "w1", 30)
    for i in range(queue.MAX_EVENTS + 15):
        queue.heartbeat(db, job["id"], job["lease_token"], 30, 10, "encoding", f"step {i}")
    events = queue.get_job(db, job["id"])["events"]
    assert len(events) == queue.MAX_EVENTS and events[-1]["message"] == f"step {queue.MAX_EVENTS + 14}"


def test_jobs_poll_uses_the_index(db, clean_state):
    for i in range(30):
        _enqueue(db, source=f"trailers/{i}.mp4", presets=["thumbnail"])
    db.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(r["QUERY PLAN"] for r in db.execute(
            "EXPLAIN SELECT * FROM media_jobs ORDER BY created_at DESC, id DESC LIMIT 50"))
    finally:
        db.execute("RESET enable_seqscan")
    assert "media_jobs_created_idx" in plan and "Sort" not in plan


@pytest.mark.parametrize("max_attempts", [1, 2])
def test_worker_gives_up_on_a_job_that_keeps_killing_it(db, clean_state, max_attempts):
    """Each claim of a stalled job counts an attempt; past max_attempts the worker fails it with the reason."""
    from media_worker.pipeline import Limits
    from media_worker.worker import Worker, WorkerSettings
    from shared.db.connection import direct_connect

    _enqueue(db, max_attempts=max_attempts)
    for _ in range(max_attempts):
        job, _ = queue.claim(db, "dying", 0.05)
        time.sleep(0.1)
    settings = WorkerSettings(lease_seconds=30, heartbeat_seconds=1, idle_wait_seconds=1, sweep_seconds=60,
                              retry_base_seconds=1, shutdown_grace_seconds=0, redis_url="", temp_dir="",
                              limits=Limits(60, 4096, 60, "veryfast"), max_source_bytes=1 << 30)
    w = Worker(settings, connect=direct_connect, storage_factory=lambda: None)
    (job,), _ = w._claim()
    w.run_group([job])
    w.release_db()
    row = queue.get_job(db, job["id"])
    assert row["state"] == "failed" and row["error_code"] == "WORKER_LOST"
    assert f"each of {max_attempts} attempts" in row["error"]


def test_transient_storage_failure_is_retried_with_backoff_then_given_up(db, clean_state, tmp_path):
    """Storage unreachable: the attempt goes back to the queue with a delay; the last attempt fails with the
    reason kept. Nothing is left in the scratch folder."""
    from media_worker.pipeline import Limits
    from media_worker.worker import Worker, WorkerSettings
    from shared.db.connection import direct_connect
    from shared.storage.s3 import Storage

    dead = Storage("http://127.0.0.1:9", "us-east-1", "k", "s", "nowhere")
    _enqueue(db, max_attempts=2)
    settings = WorkerSettings(lease_seconds=30, heartbeat_seconds=1, idle_wait_seconds=1, sweep_seconds=60,
                              retry_base_seconds=0.2, shutdown_grace_seconds=0, redis_url="",
                              temp_dir=str(tmp_path), limits=Limits(60, 4096, 60, "veryfast"),
                              max_source_bytes=1 << 30)
    w = Worker(settings, connect=direct_connect, storage_factory=lambda: dead)
    w.scratch.prepare()
    (job,), _ = w._claim()
    w.run_group([job])
    row = queue.get_job(db, job["id"])
    assert row["state"] == "queued" and row["error_code"] == "TRANSIENT" and "EndpointConnectionError" in row["error"]
    assert "retrying in" in row["events"][-1]["message"]
    assert queue.claim(db, "other", 30)[0] is None  # not due yet
    time.sleep(0.3)
    (job,), _ = w._claim()
    assert job["attempts"] == 2
    w.run_group([job])
    w.release_db()
    row = queue.get_job(db, job["id"])
    assert row["state"] == "failed" and row["error"].startswith("gave up after 2 attempts: EndpointConnectionError")
    assert list(w.scratch.dir.iterdir()) == []
