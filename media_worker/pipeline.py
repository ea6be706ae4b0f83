"""One job, start to finish: download the source, verify it, render, check the output, store it.

The steps report through `JobControl` (stage, progress, cancel/shutdown/lease checks); they never touch the
queue tables themselves, so every outcome is decided in one place (`media_worker.worker`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_worker.streaming import RenditionUpload, abort_stale_uploads
from shared.media import keys
from shared.media.ffmpeg import combined, compliance, limits, poster, presets
from shared.media.ffmpeg.atoms import file_is_faststart
from shared.media.ffmpeg.binary import ffmpeg_exe
from shared.media.ffmpeg.probe import MediaInfo, ProbeError, probe
from shared.media.ffmpeg.process import FfmpegError, FfmpegStopped, FfmpegTimeout, run_capture, run_ffmpeg

logger = logging.getLogger("screndly.media_worker")


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
    """One job's state, shared between the thread running it and the heartbeat thread."""

    stage: str = "processing"
    progress: int = 0
    messages: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    lease_lost: bool = False
    shutdown: Callable[[], bool] = lambda: False
    shutdown_grace: float = 20.0
    finishing: bool = False  # shutdown was requested, but the rest of the job fits in the grace period
    done: bool = False  # its outcome is being (or has been) written: no more heartbeats, flags ignored
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


class GroupControl:
    """The jobs of one source that share a download, a probe and (when combined) one ffmpeg run.

    `report(job, outcome)` hands each job's outcome to the worker as soon as it is known (a cancel, a failed
    or finished output), so one job's cancel or failure is recorded at once while the others carry on.
    Outcomes: ("succeeded", (result, meta)), ("failed", PermanentError), ("transient", Exception),
    ("interrupted", reason)."""

    def __init__(self, jobs: list[dict], controls: list[JobControl], report: Callable[[dict, tuple], None],
                 beat: Callable[[], None] = lambda: None):
        self.jobs = jobs
        self.controls = controls
        self.report = report
        self.beat = beat
        self._report_lock = threading.Lock()

    def pairs(self) -> list[tuple[dict, JobControl]]:
        return list(zip(self.jobs, self.controls))

    def live(self) -> list[tuple[dict, JobControl]]:
        return [(j, c) for j, c in self.pairs() if not c.done]

    def settle(self, job: dict, control: JobControl, outcome: tuple) -> None:
        with self._report_lock:
            if control.done:
                return
            control.done = True
        self.report(job, outcome)

    def sweep(self) -> None:
        """Report jobs cancelled by the user or lost to another worker; the rest carry on."""
        for job, c in self.live():
            reason = "lease_lost" if c.lease_lost else "cancelled" if c.cancelled else None
            if reason:
                self.settle(job, c, ("interrupted", reason))

    def set(self, stage: str, progress: int, message: str | None = None, now: bool = True,
            only: list[JobControl] | None = None) -> None:
        for _, c in self.live():
            if only is None or c in only:
                c.set(stage, progress, message, now=False)
        if now:
            self.beat()

    def check(self) -> None:
        """Between steps shared by every job: drop cancelled jobs; stop when none is left or on shutdown."""
        self.sweep()
        live = self.live()
        if not live:
            raise Interrupted("cancelled")
        reason = live[0][1].interruption()
        if reason:
            raise Interrupted(reason)


@dataclass(frozen=True)
class Limits:
    max_seconds: float
    max_dimension: int
    ffmpeg_timeout: float
    x264_preset: str
    max_video_per_run: int = 3  # renditions sharing one decode; bounds ffmpeg's memory (docs/architecture/media.md)


def _transfer_guard(control: JobControl, allow_shutdown: bool):
    def callback(_bytes: int) -> None:
        reason = control.interruption()
        if reason and (reason != "shutdown" or not allow_shutdown):
            raise Interrupted(reason)
    return callback


def download_source(storage, key: str, dest: Path, control: JobControl | GroupControl, max_bytes: int) -> int:
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
        raise OSError(f"source download stopped at {written} of {size} bytes")
    return size


def verify_source(path: Path, lim: Limits) -> MediaInfo:
    try:
        info = probe(str(path))
    except ProbeError as exc:
        raise PermanentError(f"the uploaded file cannot be used: {exc}", "INVALID_MEDIA", invalid_source=True) from exc
    problem = limits.source_problem(info, max_seconds=lim.max_seconds, max_dimension=lim.max_dimension)
    if problem:
        raise PermanentError(f"the uploaded file cannot be used: {problem}", "INVALID_MEDIA",
                             invalid_source=True)
    return info


def _ffmpeg_control(control: JobControl, start: int, span: int, grace: float):
    def tick(percent: float, parser) -> str | None:
        reason = control.interruption()
        # on shutdown, finish if the rest of the encode fits in the grace period, else hand the job back
        if reason == "shutdown" and parser.speed and parser.duration:
            remaining = (parser.duration - parser.out_seconds) / max(parser.speed, 0.01)
            if remaining <= grace:
                control.finishing = True  # decided once: verification and upload follow
                reason = None
        with control.lock:
            control.progress = start + int(span * percent / 100)
        return reason
    return tick


def render_video(preset_name: str, info: MediaInfo, src: Path, work: Path, control: JobControl,
                 lim: Limits, options: dict, faststart: bool = True) -> Path:
    dst = work / f"{preset_name}.mp4"
    try:
        cmd = presets.build_video_command(ffmpeg_exe(), preset_name, info, str(src), str(dst),
                                          x264_preset=lim.x264_preset, max_seconds=lim.max_seconds,
                                          options=options, faststart=faststart)
    except presets.UnsupportedSource as exc:
        raise PermanentError(f"the uploaded file cannot be used: {exc}", "INVALID_MEDIA", invalid_source=True) from exc
    timeout = min(lim.ffmpeg_timeout, max(120.0, (info.duration or 60) * 10))
    try:
        run_ffmpeg(cmd, duration=info.duration, timeout=timeout, stderr_path=str(work / "ffmpeg.log"),
                   control=_ffmpeg_control(control, 5, 85, control.shutdown_grace))
    except FfmpegStopped as exc:
        raise Interrupted(exc.reason) from exc
    except FfmpegTimeout as exc:
        raise PermanentError(str(exc), "TIMEOUT") from exc
    except FfmpegError as exc:
        raise PermanentError(f"ffmpeg could not render {preset_name}: {exc.reason}", "FFMPEG_FAILED") from exc
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
        raise PermanentError(f"ffmpeg could not extract a thumbnail: {exc.reason}", "FFMPEG_FAILED") from exc
    if not dst.exists() or dst.stat().st_size == 0:
        raise PermanentError("no frame could be decoded for a thumbnail", "INVALID_MEDIA", invalid_source=True)
    control.set("encoding", 90, f"thumbnail taken at {chosen:.2f} s")
    return dst, chosen


def check_output(preset_name: str, path: Path, source: MediaInfo, stored_faststart: bool | None = None) -> dict:
    """Probe our own rendition. `stored_faststart`: the stored object's layout when it differs from the local
    file's (a streamed upload composes the faststart file from a local file written without it)."""
    try:
        out = probe(str(path), own_output=True)
    except ProbeError as exc:
        raise PermanentError(f"the rendered file is unreadable: {exc}", "FFMPEG_FAILED") from exc
    size = path.stat().st_size
    spec = presets.PRESETS[preset_name]
    facts: dict[str, Any] = {"size": size, "width": out.video.display_width if out.video else None,
             "height": out.video.display_height if out.video else None}
    if isinstance(spec, presets.ImagePreset):
        return facts
    expected = min(source.duration or 0.0, float("inf"))
    if (out.duration or 0.0) < limits.min_expected_output_seconds(expected):
        raise PermanentError(
            f"the uploaded file cannot be used: only {out.duration or 0:.1f} s of {expected:.1f} s could be decoded "
            "(the file is truncated or damaged)", "INVALID_MEDIA", invalid_source=True)
    faststart = file_is_faststart(str(path)) if stored_faststart is None else stored_faststart
    facts.update({
        "duration": out.duration, "fps": out.video.fps if out.video else None,
        "videoCodec": out.video.codec if out.video else None, "audioCodec": out.audio.codec if out.audio else None,
        "faststart": faststart,
        "compliance": [compliance.check(p, out, size, faststart).as_dict() for p in spec.platforms],
    })
    return facts


def store_output(storage, path: Path, key: str, content_type: str, control: JobControl) -> None:
    abort_stale_uploads(storage, key)
    from boto3.s3.transfer import TransferConfig

    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)
    try:
        storage.client.upload_file(str(path), storage.bucket, key, ExtraArgs={"ContentType": content_type},
                                   Config=cfg, Callback=_transfer_guard(control, allow_shutdown=True))
    except Exception as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, Interrupted):
                for upload in storage.list_multipart_uploads(prefix=key):
                    if upload.get("Key") == key:
                        storage.abort_multipart_upload(key, upload["UploadId"])
                raise cause from (None if cause is exc else exc)  # never its own cause
            cause = cause.__cause__ or cause.__context__
        raise


# --- a group of jobs for one source ----------------------------------------------------------------

# A job cancelled inside a combined run: while less than this share of the run is done, the run restarts without
# its output (re-doing the others' elapsed part costs less than finishing it); later it runs on and the file is
# discarded. Either way the job is recorded as cancelled at once.
RESTART_BEFORE = 0.5


def cancel_decision(fraction_done: float, outputs_left: int) -> str:
    """'stop' (nothing left to render), 'restart' (without the cancelled output) or 'continue'. Pure."""
    if outputs_left <= 0:
        return "stop"
    return "restart" if fraction_done < RESTART_BEFORE else "continue"


def _cpu(who: int) -> float:
    import resource

    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _output_path(work: Path, preset_name: str) -> Path:
    return work / f"{preset_name}.{presets.output_extension(preset_name)}"


def _thumbnail_times(info: MediaInfo, options: dict) -> tuple[float, ...]:
    at = options.get("thumbnailAt")
    if isinstance(at, (int, float)) and at >= 0:
        return (min(float(at), max(0.0, (info.duration or 0) - 0.1)),)
    return tuple(poster.candidate_times(info.duration))


def _pick_thumbnail(thumb: combined.ThumbnailOutput, work: Path) -> tuple[Path, float] | None:
    """The poster among the candidates a combined run wrote, chosen exactly as the seek path chooses."""
    samples, files = [], {}
    for i, at in enumerate(thumb.times):
        gray, jpeg = Path(thumb.luma(i)), Path(thumb.jpeg(i))
        if not (gray.exists() and jpeg.exists() and jpeg.stat().st_size > 0 and gray.stat().st_size > 0):
            continue
        samples.append(poster.frame_stats(at, gray.read_bytes()))
        files[at] = jpeg
        if samples[-1].usable:
            break
    if not samples:
        return None
    chosen = poster.choose_poster(samples).at
    dst = work / "thumbnail.jpg"
    os.replace(files[chosen], dst)
    return dst, chosen


def _combined_control(run: list[tuple[dict, JobControl]], gc: GroupControl, grace: float, ups: dict):
    """Per tick: record cancels at once, decide restart/continue/stop, honour shutdown, write progress."""
    def tick(percent: float, parser) -> str | None:
        before = [c for _, c in run if not c.done]
        gc.sweep()
        left = [c for _, c in run if not c.done]
        if len(left) < len(before) or not left:
            decision = cancel_decision(percent / 100, len(left))
            if decision == "stop":
                return "cancelled"
            if decision == "restart":
                return "restart"
            # the run goes on; the dropped outputs' uploads stop now (off this thread: a part may be in flight)
            dropped = [ups.pop(str(j["id"]), None) for j, c in run if c.done and str(j["id"]) in ups]
            threading.Thread(target=_abort_all, args=(dropped,), daemon=True).start()
        head = left[0]
        if head.shutdown() and not head.finishing:
            if parser.speed and parser.duration:
                remaining = (parser.duration - parser.out_seconds) / max(parser.speed, 0.01)
                if remaining <= grace:
                    for c in left:
                        c.finishing = True  # decided once: verification and upload follow
            if not head.finishing:
                return "shutdown"
        for c in left:
            with c.lock:
                c.progress = 5 + int(85 * percent / 100)
        return None
    return tick


Produced = dict[str, tuple[Path, "float | None", "RenditionUpload | None"]]
Uploads = Callable[[dict, Path], RenditionUpload] | None  # starts the streamed upload of a job's MP4


def _abort_all(ups) -> None:
    for up in ups:
        if up is not None:
            up.abort()


def _render_separately(run: list[tuple[dict, JobControl]], info: MediaInfo, src: Path, work: Path, gc: GroupControl,
                       lim: Limits, note: str = "", uploads: Uploads = None) -> Produced:
    """One ffmpeg run per output (a lone output, a retry after a lost worker, or a failed combined run): each
    job gets its own error."""
    produced: Produced = {}
    for job, c in run:
        if c.done:
            continue
        preset_name, options = job["preset"], job.get("options") or {}
        up = None
        try:
            c.set("encoding", 5, f"rendering {preset_name}{note}", now=False)
            if preset_name == "thumbnail":
                produced[str(job["id"])] = (*render_thumbnail(info, src, work, c, options), None)
            else:
                dst = _output_path(work, preset_name)
                dst.unlink(missing_ok=True)
                up = uploads(job, dst) if uploads else None
                produced[str(job["id"])] = (render_video(preset_name, info, src, work, c, lim, options,
                                                         faststart=up is None), None, up)
                up = None  # handed over with the file
        except Interrupted as exc:
            _abort_all([up])
            if exc.reason == "shutdown":
                raise
            gc.sweep()  # this job was cancelled or lost; the others carry on
        except PermanentError as exc:
            _abort_all([up])
            if exc.invalid_source:
                raise
            gc.settle(job, c, ("failed", exc))
        except BaseException:
            _abort_all([up])
            raise
    return produced


def render_combined(run: list[tuple[dict, JobControl]], info: MediaInfo, src: Path, work: Path, gc: GroupControl,
                    lim: Limits, uploads: Uploads = None) -> Produced:
    """Every output of `run` from one decode. Returns job id -> (file, thumbnail time, streamed upload)."""
    exe = ffmpeg_exe()
    restarts = 0
    while True:
        active = [(j, c) for j, c in run if not c.done]
        if not active:
            return {}
        videos = [combined.VideoOutput(j["preset"], str(_output_path(work, j["preset"])), j.get("options") or {})
                  for j, _ in active if j["preset"] != "thumbnail"]
        thumb_job = next(((j, c) for j, c in active if j["preset"] == "thumbnail"), None)
        restarted = " (restarted without the cancelled output)" if restarts else ""
        if len(active) == 1 or not videos:
            return _render_separately(active, info, src, work, gc, lim, restarted, uploads)
        thumb = None
        if thumb_job is not None:
            folder = work / "thumbnail-candidates"
            folder.mkdir(exist_ok=True)
            thumb = combined.ThumbnailOutput(_thumbnail_times(info, thumb_job[0].get("options") or {}), str(folder))
        try:
            cmd = combined.build_combined_command(exe, info, str(src), videos, thumb, x264_preset=lim.x264_preset,
                                                  max_seconds=lim.max_seconds, faststart=uploads is None)
        except presets.UnsupportedSource as exc:
            raise PermanentError(f"the uploaded file cannot be used: {exc}", "INVALID_MEDIA",
                                 invalid_source=True) from exc
        for out in videos:
            Path(out.dst).unlink(missing_ok=True)
        ups = {str(j["id"]): uploads(j, _output_path(work, j["preset"])) if uploads else None
               for j, _ in active if j["preset"] != "thumbnail"}
        names = ", ".join(j["preset"] for j, _ in active)
        gc.set("encoding", 5, f"rendering {names} from one decode{restarted}", only=[c for _, c in active])
        # a combined run does the work of several: its wall-clock limit grows with the number of outputs
        timeout = min(lim.ffmpeg_timeout, max(120.0, (info.duration or 60) * 10)) * len(videos)
        try:
            try:
                run_ffmpeg(cmd, duration=info.duration, timeout=timeout, stderr_path=str(work / "ffmpeg.log"),
                           control=_combined_control(active, gc, active[0][1].shutdown_grace, ups))
            except BaseException:
                _abort_all(ups.values())
                raise
        except FfmpegStopped as exc:
            for out in videos:
                Path(out.dst).unlink(missing_ok=True)
            if exc.reason == "restart":
                restarts += 1
                continue
            if exc.reason == "cancelled":
                return {}
            raise Interrupted(exc.reason) from exc
        except FfmpegTimeout as exc:
            for job, c in active:
                gc.settle(job, c, ("failed", PermanentError(str(exc), "TIMEOUT")))
            return {}
        except FfmpegError as exc:
            # which output failed is not knowable from one exit code: render each on its own, so each job
            # gets its own error (and the ones that can be rendered still are)
            gc.set("encoding", 5, f"one decode for all failed ({exc.reason}); rendering each output separately",
                   only=[c for _, c in active])
            return _render_separately(active, info, src, work, gc, lim, uploads=uploads)
        produced: Produced = {}
        for job, c in active:
            up = ups.get(str(job["id"]))
            if c.done:  # cancelled after the last restart point: its file is discarded
                _abort_all([up])
                _output_path(work, job["preset"]).unlink(missing_ok=True)
                continue
            if job["preset"] == "thumbnail":
                picked = _pick_thumbnail(thumb, work) if thumb else None
                if picked is None:  # no candidate frame came out of the shared decode: take the seek path
                    produced.update(_render_separately([(job, c)], info, src, work, gc, lim))
                else:
                    produced[str(job["id"])] = (*picked, None)
            else:
                produced[str(job["id"])] = (_output_path(work, job["preset"]), None, up)
        return produced


def _remux_faststart(path: Path) -> Path:
    """A faststart copy of a rendition written without it (the fallback when streaming it failed)."""
    dst = path.with_name(path.stem + "-faststart.mp4")
    run_capture([ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-protocol_whitelist", "file",
                 "-i", str(path), "-map", "0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", str(dst)],
                timeout=600)
    path.unlink(missing_ok=True)
    return dst


def _store_streamed(up: RenditionUpload, preset_name: str, path: Path, info: MediaInfo, storage, key: str,
                    content_type: str, control: JobControl) -> dict:
    """The rest of a streamed upload goes up while the rendition is checked; completed only if it passes."""
    failed: list[BaseException] = []

    def rest() -> None:
        try:
            up.finish_parts()
        except BaseException as exc:
            failed.append(exc)

    sender = threading.Thread(target=rest, name="upload-rest", daemon=True)
    sender.start()
    try:
        facts = check_output(preset_name, path, info, stored_faststart=True)
    except BaseException:
        sender.join()
        up.abort()
        raise
    sender.join()
    reason = control.interruption()
    if reason and reason != "shutdown":
        up.abort()
        raise Interrupted(reason)
    if failed:
        up.abort()
        logger.warning("streamed upload of %s failed (%s: %s); uploading a faststart copy instead", key,
                       type(failed[0]).__name__, str(failed[0])[:200])
        copy = _remux_faststart(path)
        store_output(storage, copy, key, content_type, control)
        copy.unlink(missing_ok=True)
        return facts
    up.complete()
    return facts


def finish_output(job: dict, control: JobControl, path: Path, taken_at: float | None, upload: RenditionUpload | None,
                  info: MediaInfo, storage, timings: dict, self_cpu_start: float) -> tuple[dict, dict]:
    """Verify one rendition, store it (or complete its streamed upload), and build the job's result. Raises
    PermanentError, Interrupted or anything transient (storage)."""
    preset_name, source_key = job["preset"], job["source_key"]
    key = keys.rendition_key(source_key, preset_name, presets.output_extension(preset_name))
    content_type = presets.content_type_for(preset_name)
    control.set("uploading", 92, f"storing {key}")
    mark = time.monotonic()
    if upload is not None:
        facts = _store_streamed(upload, preset_name, path, info, storage, key, content_type, control)
        timings = {**timings, "verify": 0.0, "upload": round(time.monotonic() - mark, 3)}
    else:
        facts = check_output(preset_name, path, info)
        timings = {**timings, "verify": round(time.monotonic() - mark, 3)}
        mark = time.monotonic()
        store_output(storage, path, key, content_type, control)
        timings["upload"] = round(time.monotonic() - mark, 3)
    timings["worker_cpu"] = round(_cpu_self() - self_cpu_start, 3)
    path.unlink(missing_ok=True)
    output = {"preset": preset_name, "key": key, "contentType": content_type, **facts}
    meta: dict = {}
    if preset_name == "thumbnail":
        output["takenAt"] = taken_at
        meta = {"thumbnailKey": key, "thumbnailAvailable": True}
    return {"outputs": [output], "source": info.summary(), "timings": timings}, meta


def _cpu_self() -> float:
    import resource

    return _cpu(resource.RUSAGE_SELF)


def run_group(gc: GroupControl, storage, work: Path, lim: Limits, max_source_bytes: int, *,
              combine: bool = True, stream: bool = True) -> None:
    """Download and verify the source once, render the jobs' outputs (one decode per run of up to
    `lim.max_video_per_run` renditions when `combine`), then verify and store each output; every job's outcome
    goes through `gc.settle` as soon as it is known. Raises (PermanentError, Interrupted, or anything
    transient) only for what concerns every job still live: the source itself, a shutdown. `stream`: MP4
    renditions are uploaded while they are encoded (media_worker/streaming.py)."""
    import resource
    from concurrent.futures import ThreadPoolExecutor

    first = gc.jobs[0]
    source_key = first["source_key"]
    src = work / ("source." + (source_key.rsplit(".", 1)[-1][:8] if "." in source_key else "bin"))
    self_cpu_start = _cpu_self()
    timings: dict[str, float] = {}
    mark = time.monotonic()

    gc.set("processing", 1, "downloading the source")
    download_source(storage, source_key, src, gc, max_source_bytes)
    timings["download"] = round(time.monotonic() - mark, 3)
    gc.check()
    mark = time.monotonic()
    info = verify_source(src, lim)
    timings["probe"] = round(time.monotonic() - mark, 3)
    size = f"{info.video.display_width}x{info.video.display_height}" if info.video else "no video"
    gc.set("processing", 5, f"source verified: {size}, "
                            f"{info.duration:.1f} s, audio {'yes' if info.audio else 'no'}")

    by_preset = {j["preset"]: (j, c) for j, c in gc.live()}
    plan = combined.plan_runs(list(by_preset), lim.max_video_per_run if combine else 1)
    if not combine:
        plan = [[p] for run in plan for p in run]
    invalid: list[PermanentError] = []

    def finish(job: dict, c: JobControl, path: Path, taken_at: float | None, up: RenditionUpload | None,
               run_timings: dict) -> None:
        try:
            gc.settle(job, c, ("succeeded", finish_output(job, c, path, taken_at, up, info, storage, run_timings,
                                                          self_cpu_start)))
        except Interrupted as exc:
            gc.settle(job, c, ("interrupted", exc.reason))
        except PermanentError as exc:
            if exc.invalid_source:
                invalid.append(exc)  # the source is bad: decided for every job below
            else:
                gc.settle(job, c, ("failed", exc))
        except Exception as exc:  # storage blip: this job retries, the others are unaffected
            gc.settle(job, c, ("transient", exc))

    def uploads(job: dict, path: Path) -> RenditionUpload:
        key = keys.rendition_key(source_key, job["preset"], presets.output_extension(job["preset"]))
        return RenditionUpload(storage, path, key, presets.content_type_for(job["preset"])).start()

    # outputs are verified and stored on two threads while the next run encodes
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="store") as finishers:
        for names in plan:
            run = [by_preset[n] for n in names if not by_preset[n][1].done]
            if not run or invalid:
                continue
            gc.sweep()
            head = next((c for _, c in run if not c.done), None)
            if head is None:
                continue
            if head.shutdown() and not head.finishing:
                raise Interrupted("shutdown")
            mark = time.monotonic()
            children = _cpu(resource.RUSAGE_CHILDREN)
            produced = render_combined(run, info, src, work, gc, lim, uploads=uploads if stream else None)
            run_timings = {**timings, "encode": round(time.monotonic() - mark, 3),
                           "encode_cpu": round(_cpu(resource.RUSAGE_CHILDREN) - children, 3),
                           "outputsPerDecode": len(run)}
            for job, c in run:
                item = produced.get(str(job["id"]))
                if item is not None and not c.done:
                    finishers.submit(finish, job, c, *item, run_timings)
                elif item is not None and item[2] is not None:
                    item[2].abort()
    if invalid:
        raise invalid[0]


