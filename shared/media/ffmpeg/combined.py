"""One ffmpeg run, one decode, several renditions (pure command builder).

ffmpeg decodes an input stream once and hands every decoded frame to each filter graph that maps it, so N
presets of one source cost one demux + decode instead of N. Each rendition keeps its own filter graph (its own
thread in ffmpeg 7+), its own encoder and its own file, built by the same `presets.video_output_args` as a
single run, so a combined run writes the same renditions as separate runs (tests/test_media_combined.py).

The thumbnail rides along: instead of seeking (a separate process per candidate), one `select` branch per
candidate time keeps the first frame at or after it, written as a JPEG and as a 32x18 grey sample for the
black/flat check; the worker picks the first usable candidate afterwards (`poster.choose_poster`), exactly
as the seek path does.

Memory: every encoder holds its own reference and look-ahead frames, so a run's peak grows with the number of
outputs (not with the file's length). `plan_runs` caps the video outputs per run, and combined runs give each
encoder fewer threads (fewer frames in flight) since the encoders already run side by side.
"""

from __future__ import annotations

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
    for i, out in enumerate(videos):
        cmd += presets.video_output_args(out.preset, info, out.dst, x264_preset=x264_preset,
                                         max_seconds=max_seconds, options=out.options, label=str(i),
                                         encoder_threads=threads, faststart=faststart)
    if thumbnail is not None:
        cmd += thumbnail_output_args(thumbnail)
    return cmd
