"""The media pipeline: browser -> B2 (presigned uploads) -> media_worker (FFmpeg) -> final files on B2.

- `keys`: where objects live (per-purpose prefixes, stable rendition keys) and what each purpose accepts.
- `uploads/`: presigned single PUT or multipart plans, completion with verification, abort.
- `jobs/`: the Postgres job queue (idempotent enqueue, lease + heartbeat, retry with backoff, cancel) and
  the Redis wake-up that lets an idle worker sleep cheaply.
- `ffmpeg/`: probe from `ffmpeg -i`, presets as pure command builders, progress parsing, compliance checks.
- `browser/`: paginated listings of the bucket for the studios.
- `cleanup`: the daily step that aborts abandoned uploads and deletes stale temp objects.

Nothing here imports boto3 or imageio_ffmpeg at module top: the API imports these modules on cold start.
"""
