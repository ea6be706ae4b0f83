"""Rendition presets as pure command builders: (preset, probed source, paths, options) -> ffmpeg argv.

Rules every video preset follows, and why:
- never upscale: the box is capped by the source's displayed size (a 720p trailer does not become a blurry
  1080p file twice the size);
- dimensions are even (H.264 4:2:0 needs it; odd sources are scaled or cropped to even sizes);
- frames are auto-rotated by ffmpeg from the display matrix, so planning uses the displayed size;
- constant frame rate in 23-60 fps (VFR phone clips and 15 fps screen captures fail Reels/TikTok checks);
- 8-bit 4:2:0 H.264 High + AAC-LC 48 kHz stereo (10-bit input is converted; sources without audio get a silent
  track so every platform sees the same layout); `+faststart` so players and Instagram can stream it;
- metadata stripped (phone clips carry GPS), only the file protocol is readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.media.ffmpeg.probe import MediaInfo

PresetName = Literal["landscape_1080p", "landscape_720p", "vertical_9x16", "portrait_3x4", "square_1x1",
                     "thumbnail"]


@dataclass(frozen=True)
class VideoPreset:
    name: str
    aspect: tuple[int, int]
    max_height: int
    fit: Literal["pad", "crop", "blur"]
    max_bitrate: str
    platforms: tuple[str, ...]  # compliance targets checked on the output


@dataclass(frozen=True)
class ImagePreset:
    name: str
    max_width: int


PRESETS: dict[str, VideoPreset | ImagePreset] = {
    "landscape_1080p": VideoPreset("landscape_1080p", (16, 9), 1080, "pad", "12M", ("youtube", "x")),
    "landscape_720p": VideoPreset("landscape_720p", (16, 9), 720, "pad", "6M", ("youtube", "x")),
    "vertical_9x16": VideoPreset("vertical_9x16", (9, 16), 1920, "blur", "10M",
                                 ("instagram_reels", "tiktok", "youtube_shorts")),
    "portrait_3x4": VideoPreset("portrait_3x4", (3, 4), 1440, "crop", "10M", ("x", "instagram_reels")),
    "square_1x1": VideoPreset("square_1x1", (1, 1), 1080, "crop", "8M", ("x", "instagram_reels")),
    "thumbnail": ImagePreset("thumbnail", 1280),
}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)

STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0)

# Untrusted input: read only local files, and only with the MP4/MOV and Matroska/WebM demuxers. A playlist
# (HLS, concat) uploaded as "video.mp4" could otherwise pull other local files or URLs into the render.
INPUT_GUARD = ["-protocol_whitelist", "file", "-format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"]


class UnsupportedSource(ValueError):
    """The source cannot be rendered by this preset; the message is readable."""


def output_extension(preset: str) -> str:
    return "jpg" if isinstance(PRESETS[preset], ImagePreset) else "mp4"


def content_type_for(preset: str) -> str:
    return "image/jpeg" if isinstance(PRESETS[preset], ImagePreset) else "video/mp4"


def even(value: float, minimum: int = 2) -> int:
    return max(minimum, int(value) // 2 * 2)


def output_fps(source_fps: float | None) -> float:
    """A standard constant rate in 23-60 fps closest to the source (30 when unknown)."""
    if not source_fps or source_fps <= 0:
        return 30.0
    if source_fps < 23:
        return 24.0
    if source_fps > 60.5:
        return 60.0 if source_fps >= 100 else 30.0
    return min(STANDARD_RATES, key=lambda r: abs(r - source_fps))


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    crop: tuple[int, int] | None = None  # centre crop (w, h) applied before scaling


def plan_geometry(preset: VideoPreset, src_w: int, src_h: int, mode: str | None = None) -> Geometry:
    """Output size (and crop) for a source of displayed size src_w x src_h. Pure; never upscales."""
    if src_w < 2 or src_h < 2:
        raise UnsupportedSource(f"the video is only {src_w}x{src_h} pixels")
    aw, ah = preset.aspect
    target = aw / ah
    fit = mode or preset.fit
    if fit == "pad":
        box_h = min(preset.max_height, even(src_h))
        # a narrow source in a wide box: the box is limited by how wide the scaled source would be at most
        return Geometry(even(box_h * target), even(box_h))
    if fit == "blur":
        max_w = preset.max_height * target
        box_w = min(max_w, even(src_w))
        return Geometry(even(box_w), even(box_w / target))
    # crop: the largest centred region of the target aspect
    if src_w / src_h > target:
        cw, ch = even(src_h * target), even(src_h)
    else:
        cw, ch = even(src_w), even(src_w / target)
    out_h = min(preset.max_height, ch)
    return Geometry(even(out_h * target), even(out_h), crop=(cw, ch))


def video_filter(preset: VideoPreset, geo: Geometry, mode: str | None = None, label: str = "",
                 source: str = "0:v:0") -> tuple[str, bool]:
    """(filter, is_complex). The final format=yuv420p turns 10-bit or 4:4:4 input into 8-bit 4:2:0.
    `label` keeps the pad names of a complex graph unique when several outputs share one command; `source` is
    the pad a complex graph reads (another graph's output when a combined run shares one downscale)."""
    w, h = geo.width, geo.height
    fit = mode or preset.fit
    if fit == "pad":
        return ((f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p"), False)
    if fit == "crop":
        cw, ch = geo.crop or (w, h)
        return (f"crop={cw}:{ch}:(iw-{cw})/2:(ih-{ch})/2,scale={w}:{h},setsar=1,format=yuv420p", False)
    radius = max(1, min(20, min(w, h) // 16))
    n = label
    if min(w, h) >= 128:
        # blurred at a quarter of the size and scaled up: the same soft background (SSIM 0.999 against blurring
        # at full size, tests/test_media_combined.py) for about half of this filter graph's CPU
        bw, bh = even(w / 4), even(h / 4)
        background = (f"scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},"
                      f"boxblur={max(1, radius // 4)}:2,scale={w}:{h}")
    else:
        background = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},boxblur={radius}:2"
    return ((f"[{source}]split=2[bg{n}][fg{n}];"
            f"[bg{n}]{background}[bgb{n}];"
            f"[fg{n}]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2[fgs{n}];"
            f"[bgb{n}][fgs{n}]overlay=(W-w)/2:(H-h)/2,setsar=1,format=yuv420p[v{n}]"), True)


def fit_mode(preset_name: str, options: dict | None) -> str | None:
    """The job's override of the preset's fit (only the vertical preset has one: `verticalMode`)."""
    mode = (options or {}).get("verticalMode")
    return mode if preset_name == "vertical_9x16" and mode in ("crop", "blur") else None


def content_scale(preset: VideoPreset, geo: Geometry, src_w: int, src_h: int, mode: str | None = None) -> float:
    """How much the rendition shrinks the source's pixels (1.0 = full resolution, never more). A blurred
    background is smaller still and does not count."""
    if (mode or preset.fit) == "crop":
        cw, ch = geo.crop or (geo.width, geo.height)
        return max(geo.width / cw, geo.height / ch)
    return min(geo.width / src_w, geo.height / src_h)


def source_input_args(info: MediaInfo, src: str) -> list[str]:
    """The guarded source (input 0) and, for a silent source, a silent stereo track (input 1)."""
    args = [*INPUT_GUARD, "-i", src]
    if info.audio is None:
        # a silent track keeps the output layout identical for every platform
        args += ["-f", "lavfi"]
        if info.duration:
            args += ["-t", f"{info.duration:.3f}"]
        args += ["-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]
    return args


def video_output_args(preset_name: str, info: MediaInfo, dst: str, *, x264_preset: str = "veryfast",
                      max_seconds: float | None = None, options: dict | None = None, label: str = "",
                      encoder_threads: int | None = None, trailer: list[str] | None = None,
                      faststart: bool = True, source: str | None = None,
                      frame_size: tuple[int, int] | None = None) -> list[str]:
    """Everything after the inputs for one rendition: filter, maps, codecs, container, destination.
    `source` + `frame_size`: the filter reads that pad of another graph (frames of that size, already scaled
    down from the source) instead of the decoded source, and is planned on those frames (crops in their pixels);
    combined.shared_frame_size only shares when that plans the same rendition size as the source does.
    `trailer` goes just before `-f mp4 dst` (the single command puts its global progress options there).
    `faststart=False`: moov stays at the end; the worker composes the faststart file itself while uploading
    (shared/media/ffmpeg/faststart.py), which yields the same bytes."""
    preset = PRESETS[preset_name]
    assert isinstance(preset, VideoPreset)
    if info.video is None:
        raise UnsupportedSource("the file has no video stream")
    mode = fit_mode(preset_name, options)
    geo = plan_geometry(preset, *(frame_size or (info.video.display_width, info.video.display_height)), mode)
    fps = output_fps(info.video.fps)
    vf, is_complex = video_filter(preset, geo, mode, label, source or "0:v:0")
    if source and not is_complex:
        vf, is_complex = f"[{source}]{vf}[v{label}]", True

    args: list[str] = []
    if is_complex:
        args += ["-filter_complex", vf, "-map", f"[v{label}]"]
    else:
        args += ["-map", "0:v:0", "-vf", vf]
    args += ["-map", "1:a:0" if info.audio is None else "0:a:0"]
    args += ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn",
             "-c:v", "libx264", "-preset", x264_preset, "-crf", "21", "-profile:v", "high",
             "-pix_fmt", "yuv420p", "-maxrate", preset.max_bitrate,
             "-bufsize", f"{int(preset.max_bitrate[:-1]) * 2}M",
             "-fps_mode", "cfr", "-r", f"{fps:g}", "-g", str(round(fps * 2))]
    if encoder_threads:
        args += ["-threads:v", str(encoder_threads)]
    args += ["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]
    if faststart:
        args += ["-movflags", "+faststart"]
    if info.audio is None:
        args += ["-shortest"]
    if max_seconds:
        args += ["-t", f"{max_seconds:.0f}"]
    args += (trailer or []) + ["-f", "mp4", dst]
    return args


def build_video_command(ffmpeg: str, preset_name: str, info: MediaInfo, src: str, dst: str, *,
                        x264_preset: str = "veryfast", max_seconds: float | None = None,
                        options: dict | None = None, faststart: bool = True) -> list[str]:
    if info.video is None:
        raise UnsupportedSource("the file has no video stream")
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *source_input_args(info, src),
            *video_output_args(preset_name, info, dst, x264_preset=x264_preset, max_seconds=max_seconds,
                               options=options, trailer=["-progress", "pipe:1", "-nostats"], faststart=faststart)]


def build_thumbnail_command(ffmpeg: str, src: str, dst: str, at_seconds: float, max_width: int = 1280) -> list[str]:
    """One JPEG frame at `at_seconds` (fast input seek), at most max_width wide, even height."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-ss", f"{max(0.0, at_seconds):.3f}", *INPUT_GUARD, "-i", src,
            "-map", "0:v:0", "-frames:v", "1", "-update", "1",
            "-vf", f"scale='min({max_width},iw)':-2,setsar=1", "-q:v", "3", "-map_metadata", "-1",
            "-f", "image2", dst]


def build_luma_sample_command(ffmpeg: str, src: str, at_seconds: float) -> list[str]:
    """A 32x18 grayscale frame as raw bytes on stdout: enough to tell a black or flat frame."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-ss", f"{max(0.0, at_seconds):.3f}", *INPUT_GUARD, "-i", src,
            "-map", "0:v:0", "-frames:v", "1", "-vf", "scale=32:18,format=gray", "-f", "rawvideo", "pipe:1"]
