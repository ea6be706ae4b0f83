"""`python -m media_worker`: configuration, logging, and the loop."""

from __future__ import annotations

import argparse
import logging
import sys


def build_worker():
    from media_worker.pipeline import Limits
    from media_worker.worker import Worker, WorkerSettings
    from shared.config import get_config
    from shared.db.connection import direct_connect
    from shared.media import keys
    from shared.storage.s3 import get_storage

    cfg = get_config()
    settings = WorkerSettings(
        lease_seconds=cfg.media_job_lease_seconds,
        heartbeat_seconds=cfg.media_job_heartbeat_seconds,
        idle_wait_seconds=cfg.media_worker_idle_wait_seconds,
        sweep_seconds=cfg.media_worker_sweep_seconds,
        retry_base_seconds=cfg.media_retry_base_seconds,
        shutdown_grace_seconds=cfg.media_worker_shutdown_grace_seconds,
        redis_url=cfg.media_worker_redis_url,
        temp_dir=cfg.media_worker_temp_dir,
        limits=Limits(max_seconds=cfg.media_max_input_seconds, max_dimension=cfg.media_max_input_dimension,
                      ffmpeg_timeout=cfg.media_ffmpeg_timeout_seconds, x264_preset=cfg.media_x264_preset,
                      max_video_per_run=cfg.media_max_outputs_per_run),
        max_source_bytes=keys.UPLOAD_PURPOSES["trailers"].max_bytes,
    )
    def connect():
        # named, so an operator (and the idle test) can see the worker holds no connection while idle
        conn = direct_connect()
        conn.execute("SET application_name = 'media_worker'")
        return conn

    return Worker(settings, connect=connect, storage_factory=get_storage)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="media_worker", description="Screndly media worker")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
    parser.add_argument("--exit-when-idle", action="store_true", help="exit when no job is queued or running")
    args = parser.parse_args(argv)

    from shared.config import get_config

    logging.basicConfig(level=get_config().log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = build_worker()
    worker.install_signals()
    from shared.usage.flush import start_periodic_flush

    # usage meter: every 6 h (to Postgres when the worker just ran statements, else one Redis command) and at exit
    start_periodic_flush(interval=6 * 3600, redis_url=get_config().media_worker_redis_url)
    return worker.run(max_jobs=args.max_jobs, exit_when_idle=args.exit_when_idle)
