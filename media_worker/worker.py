"""The worker loop: claim -> run -> record, and a cheap idle wait in between.

Idle cost (see docs/architecture/media.md): one BLPOP per `idle_wait` seconds on Redis, one claim query per
`sweep` seconds on Postgres, and the Postgres connection is closed whenever there is nothing to do, so Neon
can scale to zero. While a job runs, a heartbeat thread renews the lease every few seconds, writes progress,
and notices a cancel request.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from media_worker import pipeline
from media_worker.scratch import Scratch
from shared.media import keys
from shared.media.jobs import backoff, queue
from shared.media.jobs.wake import Waiter, push_wake_tcp

if TYPE_CHECKING:
    from shared.activity import Level

logger = logging.getLogger("screndly.media_worker")


class _Shutdown(BaseException):
    """Raised from the signal handler while idle, to leave a blocking wait at once."""


@dataclass
class WorkerSettings:
    lease_seconds: float
    heartbeat_seconds: float
    idle_wait_seconds: float
    sweep_seconds: float
    retry_base_seconds: float
    shutdown_grace_seconds: float
    redis_url: str
    temp_dir: str
    limits: pipeline.Limits
    max_source_bytes: int
    max_group: int = 8  # jobs of one source leased together (every preset fits)


class Worker:
    def __init__(self, settings: WorkerSettings, connect, storage_factory):
        self.s = settings
        self._connect = connect
        self._storage_factory = storage_factory
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{random.randrange(16**4):04x}"
        self.scratch = Scratch(settings.temp_dir)
        self.waiter = Waiter(settings.redis_url, max_wait=settings.idle_wait_seconds)
        self.stop_requested = False
        self.busy = False
        self._conn = None
        self._conn_lock = threading.Lock()
        self.queries = 0
        self.jobs_done = 0
        self._rejected: set[str] = set()  # sources rejected while running the current group

    # --- database session: open while working, closed while idle ----------------------------------
    def db(self):
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def release_db(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def _query(self, fn, *args, **kwargs):
        with self._conn_lock:
            self.queries += 1
            try:
                return fn(self.db(), *args, **kwargs)
            except Exception:
                self.release_db()  # a broken connection is reopened on the next call
                raise

    # --- signals --------------------------------------------------------------------------------
    def _on_signal(self, signum, _frame) -> None:
        logger.info("signal %s: %s", signum, "finishing or handing back the running job" if self.busy else "exiting")
        self.stop_requested = True
        if not self.busy:
            raise _Shutdown()

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    # --- main loop ------------------------------------------------------------------------------
    def run(self, *, max_jobs: int | None = None, exit_when_idle: bool = False) -> int:
        if not self.s.redis_url:
            logger.warning("MEDIA_WORKER_REDIS_URL is not set: no blocking wake-up, the worker polls Postgres "
                           "every %.0f s instead (slower pickup, more queries)", self.s.idle_wait_seconds)
        removed = self.scratch.prepare()
        if removed:
            logger.info("removed scratch left by stopped workers: %s", ", ".join(removed))
        logger.info("media worker %s ready", self.worker_id)
        need_query = True
        last_query = 0.0
        due_at: float | None = None
        try:
            failures = 0
            while not self.stop_requested:
                if need_query:
                    try:
                        jobs, next_due = self._claim()
                        failures = 0
                    except Exception as exc:  # database unreachable (Neon waking up, network): wait and retry
                        failures += 1
                        pause = min(60.0, 2.0 ** failures)
                        logger.warning("claim failed (%s: %s); retrying in %.0f s", type(exc).__name__,
                                       str(exc)[:200], pause)
                        self.release_db()
                        time.sleep(pause)
                        continue
                    last_query = time.monotonic()
                    if jobs:
                        self.busy = True
                        try:
                            self.run_group(jobs)
                        except Exception:  # recording an outcome failed: the lease expires, the job reruns
                            logger.exception("jobs %s: could not record their outcome",
                                             ", ".join(str(j.get("id")) for j in jobs))
                            self.release_db()
                        finally:
                            self.busy = False
                        self.jobs_done += len(jobs)
                        if max_jobs is not None and self.jobs_done >= max_jobs:
                            break
                        continue
                    self.release_db()
                    due_at = last_query + max(0.05, next_due) if next_due is not None else None
                    if exit_when_idle and due_at is None:
                        break
                now = time.monotonic()
                deadline = last_query + self.s.sweep_seconds
                if due_at is not None:
                    deadline = min(deadline, due_at)
                woke = self.waiter.wait(min(self.s.idle_wait_seconds, max(0.0, deadline - now)))
                # without a wake-up channel every idle_wait is a poll
                need_query = woke or not self.s.redis_url or time.monotonic() >= deadline - 0.005
        except _Shutdown:
            pass
        finally:
            self.release_db()
            self.waiter.close()
            self.scratch.close()
        own, child = peak_rss_mb()
        logger.info("media worker %s stopped: jobs=%d postgres_queries=%d redis_commands=%d peak_rss_mb=%.1f "
                    "ffmpeg_peak_rss_mb=%.1f", self.worker_id, self.jobs_done, self.queries, self.waiter.commands,
                    own, child)
        return 0

    def _claim(self):
        """The next due job and the other due jobs of its source (they share one download and one decode)."""
        jobs, due = self._query(queue.claim_group, self.worker_id, self.s.lease_seconds, self.s.max_group)
        return [queue.decode_job(j) for j in jobs], due

    # --- one group of jobs (one source) ---------------------------------------------------------
    def run_group(self, raws: list[dict]) -> None:
        jobs = [queue.decode_job(r) for r in raws]
        token = str(jobs[0]["lease_token"])
        live = []
        for job in jobs:
            if job["attempts"] > job["max_attempts"]:
                reason = (f"the worker stopped while processing this job in each of {job['max_attempts']} "
                          f"attempts (last reason: {job.get('error') or 'lease expired'})")
                self._query(queue.fail, str(job["id"]), token, reason, "WORKER_LOST")
                self._record(job, "error", f"{job['preset']} failed for {job['file_name']}: {reason}", notify=True)
            else:
                live.append(job)
        if not live:
            return
        # a group whose previous attempt died mid-run (OOM, kill -9) is retried one output per ffmpeg run, so
        # a combined run that exhausted the machine cannot take the worker down again and again
        combine = not any(j.get("previous_state") == "running" for j in live)

        storage = self._storage_factory()
        self._rejected = set()
        controls = [pipeline.JobControl(shutdown=lambda: self.stop_requested,
                                        shutdown_grace=self.s.shutdown_grace_seconds) for _ in live]
        beat_lock = threading.Lock()

        def beat() -> None:
            with beat_lock:
                pending = [(j, c) for j, c in zip(live, controls) if not c.done]
                if not pending:
                    return
                updates = []
                for j, c in pending:
                    with c.lock:
                        updates.append((str(j["id"]), c.progress, c.stage, c.messages))
                        c.messages = []
                try:
                    held = self._query(queue.heartbeat_group, token, self.s.lease_seconds, updates)
                except Exception as exc:  # the next beat retries; the lease covers a few misses
                    logger.warning("heartbeat failed: %s", type(exc).__name__)
                    return
                for j, c in pending:
                    if str(j["id"]) not in held:
                        c.lease_lost = True
                    elif held[str(j["id"])]:
                        c.cancelled = True

        def report(job: dict, outcome: tuple) -> None:
            self._settle(job, token, outcome, storage)

        for c in controls:
            c.beat = beat
        gc = pipeline.GroupControl(live, controls, report, beat)
        stop_beats = threading.Event()

        def beats() -> None:
            while not stop_beats.wait(self.s.heartbeat_seconds):
                beat()

        beater = threading.Thread(target=beats, name="heartbeat", daemon=True)
        beater.start()
        work = self.scratch.job_dir(str(live[0]["id"]))
        outcome: tuple[str, str | BaseException] | None = None
        try:
            pipeline.run_group(gc, storage, work, self.s.limits, self.s.max_source_bytes, combine=combine)
        except pipeline.Interrupted as exc:
            outcome = ("interrupted", exc.reason)
        except pipeline.PermanentError as exc:
            outcome = ("failed", exc)
        except Exception as exc:  # storage or database blips, ffmpeg killed from outside: retry with backoff
            outcome = ("transient", exc)
        finally:
            stop_beats.set()
            beater.join()
        try:
            if outcome is not None:  # it concerns every job not settled yet
                for job, c in gc.live():
                    gc.settle(job, c, outcome)
        finally:
            self.scratch.remove_job(str(live[0]["id"]))

    def _settle(self, job: dict, token: str, outcome: tuple, storage) -> None:
        kind, value = outcome
        job_id = str(job["id"])
        if kind == "succeeded":
            result, meta = value
            if self._query(queue.complete, job_id, token, result, meta):
                self._record(job, "info", f"{job['preset']} ready for {job['file_name']}", notify=True,
                             ok=True, extra={"key": result["outputs"][0]["key"]})
        elif kind == "interrupted":
            self._interrupted(job, token, value)
        elif kind == "failed":
            self._failed_permanently(job, token, value, storage)
        else:
            self._failed_transiently(job, token, value)

    def _interrupted(self, job: dict, token: str, reason: str) -> None:
        job_id = str(job["id"])
        if reason == "cancelled":
            if self._query(queue.mark_cancelled, job_id, token):
                self._record(job, "warn", f"{job['preset']} cancelled for {job['file_name']}")
        elif reason == "shutdown":
            if self._query(queue.hand_back, job_id, token, "the worker is shutting down"):
                push_wake_tcp(self.waiter)
                self._record(job, "info", f"{job['preset']} handed back on shutdown")
        else:  # lease lost: another worker owns the job now; nothing of ours may be written
            logger.warning("lease on job %s lost; stopped without writing", job_id)

    def _failed_permanently(self, job: dict, token: str, exc: pipeline.PermanentError, storage) -> None:
        job_id, key = str(job["id"]), job["source_key"]

        def fail(conn) -> bool:
            # one transaction: whoever polls never sees this job failed for a bad source while a sibling made
            # from the same file still shows as completed
            with conn.transaction():
                if not queue.fail(conn, job_id, token, exc.message, exc.code):
                    return False
                if exc.invalid_source:
                    _mark_upload_rejected(conn, key, exc.message)
                    queue.fail_siblings_for_source(conn, key, exc.message, exc.code)
                return True

        if not self._query(fail):
            return
        if exc.invalid_source and key not in self._rejected:
            self._rejected.add(key)  # the group's other jobs fail with the same reason: delete once
            self._delete_rejected_source(key, storage)
        self._record(job, "error", f"{job['preset']} failed for {job['file_name']}: {exc.message}", notify=True)

    def _delete_rejected_source(self, key: str, storage) -> None:
        """The upload is not usable media: delete it and any rendition made from it (nothing left behind)."""
        try:
            storage.delete(key)
        except Exception as exc:
            logger.warning("could not delete rejected source %s: %s", key, type(exc).__name__)
        try:
            for obj in storage.list(keys.rendition_prefix(key), limit=100).get("Contents", []):
                storage.delete(obj["Key"])
        except Exception as exc:
            logger.warning("could not delete renditions of rejected source %s: %s", key, type(exc).__name__)

    def _failed_transiently(self, job: dict, token: str, exc: Exception) -> None:
        job_id = str(job["id"])
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        decision = backoff.decide(job["attempts"], job["max_attempts"], True, self.s.retry_base_seconds,
                                  jitter=random.random())
        logger.warning("job %s attempt %s failed: %s", job_id, job["attempts"], reason)
        if decision.retry:
            self._query(queue.retry_later, job_id, token, reason, "TRANSIENT", decision.delay_seconds)
            self._record(job, "warn", f"{job['preset']} attempt {job['attempts']} failed, retrying in "
                                      f"{decision.delay_seconds:.0f} s: {reason}")
        else:
            msg = f"gave up after {job['attempts']} attempts: {reason}"
            if self._query(queue.fail, job_id, token, msg, "TRANSIENT"):
                self._record(job, "error", f"{job['preset']} failed for {job['file_name']}: {msg}", notify=True)

    def _record(self, job: dict, level: Level, message: str, *, notify: bool = False, ok: bool = False,
                extra: dict | None = None) -> None:
        from shared import activity

        meta = {"jobId": str(job["id"]), "preset": job["preset"], "sourceKey": job["source_key"], **(extra or {})}
        try:
            self._query(lambda conn: activity.log("media", level, message, meta, conn=conn))
            if notify:
                self._query(lambda conn: activity.notify("success" if ok else "error",
                                                         "Video ready" if ok else "Video processing failed",
                                                         message, source="upload", action_page="uploads",
                                                         conn=conn))
        except Exception as exc:
            logger.warning("activity log failed: %s", type(exc).__name__)


def peak_rss_mb() -> tuple[float, float]:
    """(this process, largest ffmpeg child) peak RSS in MB. Our own peak is VmHWM, which starts afresh at
    exec (ru_maxrss would carry over the parent's size from before the fork). The child figure is
    RUSAGE_CHILDREN's ru_maxrss: an upper bound, as it includes the worker's size at the fork."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    own = int(line.split()[1]) / 1024
    except OSError:
        pass
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _mark_upload_rejected(conn, key: str, reason: str) -> None:
    conn.execute("UPDATE media_uploads SET status = 'failed', error = %s WHERE object_key = %s",
                 (reason[:1000], key))
