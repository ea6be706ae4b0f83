"""One ffmpeg run, one decode, several renditions (pure command builder).

ffmpeg decodes an input stream once and hands every decoded frame to each filter graph that maps it, so N
presets of one source cost one demux + decode instead of N. Each rendition keeps its own filter graph (its own
thread in ffmpeg 7+), its own encoder and its own file, built by the same `presets.video_output_args` as a
single run, so a combined run writes the same renditions as separate runs (tests/test_media_combined.py).

The thumbnail rides along: instead of seeking (a separate process per candidate), one `select` branch per
candidate time keeps the first frame at or after it, written as a JPEG and as a 32x18 grey sample for the
black/flat check; the worker picks the first usable candidate afterwards (`poster.choose_poster`), exactly
as the seek path does.

Shared downscale: from a source larger than every rendition (a UHD trailer -> 1080-class renditions), each
rendition's own scaler would read every full-size frame. The run scales each frame once to the smallest size
that still needs no rendition to upscale (`shared_frame_size`) and every rendition's graph starts from that
(measured on a 2160p source: 15-25 % less CPU for landscape + vertical + square; SSIM >= 0.998 against the
separate runs, tests/test_media_combined.py). From a 1080p source with a 1080-class rendition nothing is
shared: that rendition needs the full frame.

Memory: every encoder holds its own reference and look-ahead frames, so a run's peak grows with the number of
outputs (not with the file's length). `plan_runs` caps the video outputs per run, and combined runs give each
encoder fewer threads (fewer frames in flight) since the encoders already run side by side.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from shared.media.ffmpeg import presets
from shared.media.ffmpeg.probe import MediaInfo


@dataclass(frozen=True)
class VideoOutput:
    preset: str
    dst: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ThumbnailOutput:
    """Candidate times (seconds, ascending) and the folder their JPEG / grey samples go to."""

    times: tuple[float, ...]
    folder: str
    max_width: int = 1280

    def jpeg(self, i: int) -> str:
        return os.path.join(self.folder, f"thumb-{i}.jpg")

    def luma(self, i: int) -> str:
        return os.path.join(self.folder, f"luma-{i}.gray")


def encoder_threads(video_outputs: int, cpus: int | None = None) -> int | None:
    """x264 threads per encoder in a combined run: the encoders already run side by side, so each needs
    only its share of the cores (and holds fewer frames in flight). None = x264's own choice (one output)."""
    if video_outputs <= 1:
        return None
    cpus = cpus or os.cpu_count() or 1
    return max(1, cpus // video_outputs)


# Share a downscale only when it removes at least ~45 % of the pixels each rendition's scaler reads. Not measured
# near 1.0, where one more full-size scale would cost about what the smaller ones save.
SHARED_SCALE_MAX = 0.75


def shared_frame_size(info: MediaInfo, videos: list[VideoOutput]) -> tuple[int, int] | None:
    """The size every rendition of a combined run can be made from (even, never below what any of them needs),
    or None when sharing would not pay (one rendition, or one that needs the source at nearly full size).
    Pure. Every rendition must plan the same size from these frames as from the source's."""
    if info.video is None or len(videos) < 2:
        return None
    src_w, src_h = info.video.display_width, info.video.display_height
    need = 0.0
    for out in videos:
        preset = presets.PRESETS[out.preset]
        assert isinstance(preset, presets.VideoPreset)
        mode = presets.fit_mode(out.preset, out.options)
        geo = presets.plan_geometry(preset, src_w, src_h, mode)
        need = max(need, presets.content_scale(preset, geo, src_w, src_h, mode))
    if need > SHARED_SCALE_MAX:
        return None
    # rounded up to even sizes, so no rendition upscales by the rounding
    w, h = (min(side, 2 * math.ceil(side * need / 2)) for side in (src_w, src_h))
    for out in videos:
        preset = presets.PRESETS[out.preset]
        assert isinstance(preset, presets.VideoPreset)
        mode = presets.fit_mode(out.preset, out.options)
        a, b = presets.plan_geometry(preset, src_w, src_h, mode), presets.plan_geometry(preset, w, h, mode)
        if (a.width, a.height) != (b.width, b.height):
            return None
    return w, h


def plan_runs(presets_wanted: list[str], max_video_per_run: int) -> list[list[str]]:
    """Split the wanted presets into ffmpeg runs: at most `max_video_per_run` video renditions each (the
    memory bound); the thumbnail rides with the first run. Order is kept. Pure."""
    size = max(1, max_video_per_run)
    videos = [p for p in presets_wanted if p != "thumbnail"]
    runs = [videos[i:i + size] for i in range(0, len(videos), size)] or [[]]
    if "thumbnail" in presets_wanted:
        runs[0] = runs[0] + ["thumbnail"]
    return runs


def _select(at: float) -> str:
    # the first frame at or after `at` (what an accurate input seek to `at` returns)
    return (f"select='gte(t,{at:.3f})*(isnan(prev_t)+lt(prev_t,{at:.3f}))'" if at > 0
            else "select='isnan(prev_t)'")


def thumbnail_output_args(thumb: ThumbnailOutput) -> list[str]:
    n = len(thumb.times)
    labels = "".join(f"[tc{i}]" for i in range(n))
    graph = [f"[0:v:0]split={n}{labels}" if n > 1 else "[0:v:0]null[tc0]"]
    for i, at in enumerate(thumb.times):
        graph.append(f"[tc{i}]{_select(at)},split=2[tj{i}][tl{i}]")
        graph.append(f"[tj{i}]scale='min({thumb.max_width},iw)':-2,setsar=1[tjo{i}]")
        graph.append(f"[tl{i}]scale=32:18,format=gray[tlo{i}]")
    args = ["-filter_complex", ";".join(graph)]
    for i in range(n):
        args += ["-map", f"[tjo{i}]", "-frames:v", "1", "-update", "1", "-q:v", "3", "-map_metadata", "-1",
                 "-f", "image2", thumb.jpeg(i),
                 "-map", f"[tlo{i}]", "-frames:v", "1", "-f", "rawvideo", thumb.luma(i)]
    return args


def build_combined_command(ffmpeg: str, info: MediaInfo, src: str, videos: list[VideoOutput],
                           thumbnail: ThumbnailOutput | None = None, *, x264_preset: str = "veryfast",
                           max_seconds: float | None = None, cpus: int | None = None,
                           faststart: bool = True) -> list[str]:
    if info.video is None:
        raise presets.UnsupportedSource("the file has no video stream")
    if not videos and thumbnail is None:
        raise ValueError("nothing to render")
    threads = encoder_threads(len(videos), cpus)
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
           *presets.source_input_args(info, src)]
    shared = shared_frame_size(info, videos)
    if shared is not None:
        pads = "".join(f"[sv{i}]" for i in range(len(videos)))
        # its own graph (own thread); each rendition's graph reads one of its outputs
        cmd += ["-filter_complex", f"[0:v:0]scale={shared[0]}:{shared[1]},setsar=1,split={len(videos)}{pads}"]
    for i, out in enumerate(videos):
        cmd += presets.video_output_args(out.preset, info, out.dst, x264_preset=x264_preset,
                                         max_seconds=max_seconds, options=out.options, label=str(i),
                                         encoder_threads=threads, faststart=faststart,
                                         source=f"sv{i}" if shared else None, frame_size=shared)
    if thumbnail is not None:
        cmd += thumbnail_output_args(thumbnail)
    return cmd
