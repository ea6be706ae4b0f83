"""One job, start to finish: download the source, verify it, render, check the output, store it.

The steps report through `JobControl` (stage, progress, cancel/shutdown/lease checks); they never touch the
queue tables themselves, so every outcome is decided in one place (`media_worker.worker`).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from shared.media import keys
from shared.media.ffmpeg import compliance, limits, poster, presets
from shared.media.ffmpeg.atoms import file_is_faststart
from shared.media.ffmpeg.binary import ffmpeg_exe
from shared.media.ffmpeg.probe import MediaInfo, ProbeError, probe
from shared.media.ffmpeg.process import FfmpegError, FfmpegStopped, FfmpegTimeout, run_capture, run_ffmpeg


class PermanentError(Exception):
    """Retrying cannot help. `invalid_source` means the uploaded file itself is bad and is removed."""

    def __init__(self, message: str, code: str = "PROCESSING_FAILED", invalid_source: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.invalid_source = invalid_source


class Interrupted(Exception):
    """Stopped on purpose: reason is 'cancelled', 'shutdown' or 'lease_lost'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class JobControl:
    """Shared between the job's thread and its heartbeat thread."""

    stage: str = "processing"
    progress: int = 0
    messages: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    lease_lost: bool = False
    shutdown: Callable[[], bool] = lambda: False
    shutdown_grace: float = 20.0
    finishing: bool = False  # shutdown was requested, but the rest of the job fits in the grace period
    beat: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, stage: str, progress: int, message: str | None = None, now: bool = True) -> None:
        with self.lock:
            self.stage, self.progress = stage, progress
            if message:
                self.messages.append((stage, message))
        if now:
            self.beat()

    def interruption(self) -> str | None:
        if self.lease_lost:
            return "lease_lost"
        if self.cancelled:
            return "cancelled"
        if self.shutdown() and not self.finishing:
            return "shutdown"
        return None

    def check(self) -> None:
        reason = self.interruption()
        if reason:
            raise Interrupted(reason)


@dataclass(frozen=True)
class Limits:
    max_seconds: float
    max_dimension: int
    ffmpeg_timeout: float
    x264_preset: str


def _transfer_guard(control: JobControl, allow_shutdown: bool):
    def callback(_bytes: int) -> None:
        reason = control.interruption()
        if reason and (reason != "shutdown" or not allow_shutdown):
            raise Interrupted(reason)
    return callback


def download_source(storage, key: str, dest: Path, control: JobControl, max_bytes: int) -> int:
    head = storage.head(key)
    if head is None:
        raise PermanentError("the source file no longer exists in storage", "SOURCE_MISSING")
    size = int(head.get("ContentLength", 0))
    if size == 0:
        raise PermanentError("the source file is empty", "INVALID_MEDIA", invalid_source=True)
    if size > max_bytes:
        raise PermanentError(f"the source file is too large ({size // (1 << 20)} MB)", "INVALID_MEDIA",
                             invalid_source=True)
    # one streaming GET written to disk in 1 MB chunks: memory stays flat whatever the file size, and a
    # broken stream fails the attempt (transient: retried with backoff) instead of leaving a partial file
    body = storage.client.get_object(Bucket=storage.bucket, Key=key)["Body"]
    written = 0
    try:
        with open(dest, "wb") as fh:
            for chunk in body.iter_chunks(chunk_size=1 << 20):
                fh.write(chunk)
                written += len(chunk)
                if written > max_bytes:
                    raise PermanentError("the source file is larger than its declared size allows", "INVALID_MEDIA",
                                         invalid_source=True)
                control.check()
    finally:
        body.close()
    if written != size:
        raise IOError(f"source download stopped at {written} of {size} bytes")
    return size


def verify_source(path: Path, lim: Limits) -> MediaInfo:
    try:
        info = probe(str(path))
    except ProbeError as exc:
        raise PermanentError(f"the uploaded file cannot be used: {exc}", "INVALID_MEDIA", invalid_source=True)
    problem = limits.source_problem(info, max_seconds=lim.max_seconds, max_dimension=lim.max_dimension)
    if problem:
        raise PermanentError(f"the uploaded file cannot be used: {problem}", "INVALID_MEDIA",
                             invalid_source=True)
    return info


def _ffmpeg_control(control: JobControl, start: int, span: int, grace: float):
    def tick(percent: float, parser) -> str | None:
        reason = control.interruption()
        if reason == "shutdown":
            # finish if the rest of the encode fits in the grace period, else hand the job back
            if parser.speed and parser.duration:
                remaining = (parser.duration - parser.out_seconds) / max(parser.speed, 0.01)
                if remaining <= grace:
                    control.finishing = True  # decided once: verification and upload follow
                    reason = None
        with control.lock:
            control.progress = start + int(span * percent / 100)
        return reason
    return tick


def render_video(preset_name: str, info: MediaInfo, src: Path, work: Path, control: JobControl,
                 lim: Limits, options: dict) -> Path:
    dst = work / f"{preset_name}.mp4"
    try:
        cmd = presets.build_video_command(ffmpeg_exe(), preset_name, info, str(src), str(dst),
                                          x264_preset=lim.x264_preset, max_seconds=lim.max_seconds,
                                          options=options)
    except presets.UnsupportedSource as exc:
        raise PermanentError(f"the uploaded file cannot be used: {exc}", "INVALID_MEDIA", invalid_source=True)
    timeout = min(lim.ffmpeg_timeout, max(120.0, (info.duration or 60) * 10))
    try:
        run_ffmpeg(cmd, duration=info.duration, timeout=timeout, stderr_path=str(work / "ffmpeg.log"),
                   control=_ffmpeg_control(control, 5, 85, control.shutdown_grace))
    except FfmpegStopped as exc:
        raise Interrupted(exc.reason)
    except FfmpegTimeout as exc:
        raise PermanentError(str(exc), "TIMEOUT")
    except FfmpegError as exc:
        raise PermanentError(f"ffmpeg could not render {preset_name}: {exc.reason}", "FFMPEG_FAILED")
    return dst


def render_thumbnail(info: MediaInfo, src: Path, work: Path, control: JobControl, options: dict) -> tuple[Path, float]:
    exe = ffmpeg_exe()
    at = options.get("thumbnailAt")
    if isinstance(at, (int, float)) and at >= 0:
        chosen = min(float(at), max(0.0, (info.duration or 0) - 0.1))
    else:
        samples = []
        for t in poster.candidate_times(info.duration):
            control.check()
            try:
                gray = run_capture(presets.build_luma_sample_command(exe, str(src), t), timeout=60)
            except FfmpegError:
                continue
            samples.append(poster.frame_stats(t, gray))
            if samples[-1].usable:
                break
        if not samples:
            raise PermanentError("no frame could be decoded for a thumbnail", "INVALID_MEDIA", invalid_source=True)
        chosen = poster.choose_poster(samples).at
    dst = work / "thumbnail.jpg"
    try:
        run_capture(presets.build_thumbnail_command(exe, str(src), str(dst), chosen), timeout=120)
    except FfmpegError as exc:
        raise PermanentError(f"ffmpeg could not extract a thumbnail: {exc.reason}", "FFMPEG_FAILED")
    if not dst.exists() or dst.stat().st_size == 0:
        raise PermanentError("no frame could be decoded for a thumbnail", "INVALID_MEDIA", invalid_source=True)
    control.set("encoding", 90, f"thumbnail taken at {chosen:.2f} s")
    return dst, chosen


def check_output(preset_name: str, path: Path, source: MediaInfo) -> dict:
    try:
        out = probe(str(path), own_output=True)
    except ProbeError as exc:
        raise PermanentError(f"the rendered file is unreadable: {exc}", "FFMPEG_FAILED")
    size = path.stat().st_size
    spec = presets.PRESETS[preset_name]
    facts = {"size": size, "width": out.video.display_width if out.video else None,
             "height": out.video.display_height if out.video else None}
    if isinstance(spec, presets.ImagePreset):
        return facts
    expected = min(source.duration or 0.0, float("inf"))
    if (out.duration or 0.0) < limits.min_expected_output_seconds(expected):
        raise PermanentError(
            f"the uploaded file cannot be used: only {out.duration or 0:.1f} s of {expected:.1f} s could be decoded "
            "(the file is truncated or damaged)", "INVALID_MEDIA", invalid_source=True)
    faststart = file_is_faststart(str(path))
    facts.update({
        "duration": out.duration, "fps": out.video.fps if out.video else None,
        "videoCodec": out.video.codec if out.video else None, "audioCodec": out.audio.codec if out.audio else None,
        "faststart": faststart,
        "compliance": [compliance.check(p, out, size, faststart).as_dict() for p in spec.platforms],
    })
    return facts


def store_output(storage, path: Path, key: str, content_type: str, control: JobControl) -> None:
    # a crashed earlier attempt may have left an unfinished multipart upload on this very key
    for upload in storage.list_multipart_uploads(prefix=key):
        if upload.get("Key") == key:
            storage.abort_multipart_upload(key, upload["UploadId"])
    from boto3.s3.transfer import TransferConfig

    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)
    try:
        storage.client.upload_file(str(path), storage.bucket, key, ExtraArgs={"ContentType": content_type},
                                   Config=cfg, Callback=_transfer_guard(control, allow_shutdown=True))
    except Exception as exc:
        cause = exc
        while cause is not None:
            if isinstance(cause, Interrupted):
                for upload in storage.list_multipart_uploads(prefix=key):
                    if upload.get("Key") == key:
                        storage.abort_multipart_upload(key, upload["UploadId"])
                raise cause
            cause = cause.__cause__ or cause.__context__
        raise


def run(job: dict, storage, work: Path, control: JobControl, lim: Limits, max_source_bytes: int) -> tuple[dict, dict]:
    """Returns (result, metadata patch). Raises PermanentError, Interrupted, or anything transient."""
    preset_name = job["preset"]
    options = job.get("options") or {}
    source_key = job["source_key"]
    src = work / ("source." + (source_key.rsplit(".", 1)[-1][:8] if "." in source_key else "bin"))

    import resource

    def cpu(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    timings: dict[str, float] = {}
    mark = time.monotonic()
    self_cpu_start = cpu(resource.RUSAGE_SELF)

    def lap(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        timings[name] = round(now - mark, 3)
        mark = now

    control.set("processing", 1, "downloading the source")
    download_source(storage, source_key, src, control, max_source_bytes)
    lap("download")
    control.check()
    info = verify_source(src, lim)
    lap("probe")
    control.set("processing", 5, f"source verified: {info.video.display_width}x{info.video.display_height}, "
                                 f"{info.duration:.1f} s, audio {'yes' if info.audio else 'no'}")

    control.set("encoding", 5, f"rendering {preset_name}")
    children_cpu_start = cpu(resource.RUSAGE_CHILDREN)
    meta: dict = {}
    if preset_name == "thumbnail":
        out_path, at = render_thumbnail(info, src, work, control, options)
    else:
        out_path = render_video(preset_name, info, src, work, control, lim, options)
    lap("encode")
    # CPU seconds: ffmpeg's own (children), and this process's (the worker's overhead, all threads)
    timings["encode_cpu"] = round(cpu(resource.RUSAGE_CHILDREN) - children_cpu_start, 3)
    control.check()
    facts = check_output(preset_name, out_path, info)
    lap("verify")

    key = keys.rendition_key(source_key, preset_name, presets.output_extension(preset_name))
    content_type = presets.content_type_for(preset_name)
    control.set("uploading", 92, f"storing {key}")
    store_output(storage, out_path, key, content_type, control)
    lap("upload")
    timings["worker_cpu"] = round(cpu(resource.RUSAGE_SELF) - self_cpu_start, 3)
    try:
        os.unlink(out_path)
    except OSError:
        pass
    output = {"preset": preset_name, "key": key, "contentType": content_type, **facts}
    if preset_name == "thumbnail":
        output["takenAt"] = at
        meta = {"thumbnailKey": key, "thumbnailAvailable": True}
    return {"outputs": [output], "source": info.summary(), "timings": timings}, meta
