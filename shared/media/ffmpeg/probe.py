"""What a media file is, read from `ffmpeg -i` stderr (pure parser) plus the one call that runs it.

`ffmpeg -i file` with no output exits 1 ("At least one output file must be specified"); that is normal.
A file ffmpeg cannot open yields a `ProbeError` whose message a user can act on.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import asdict, dataclass, field


class ProbeError(Exception):
    """The file is not media ffmpeg can read. `str(exc)` is the readable reason."""


@dataclass(frozen=True)
class VideoStream:
    codec: str
    width: int          # coded width, before rotation
    height: int
    fps: float | None
    pix_fmt: str
    bit_depth: int
    rotation: int = 0   # degrees clockwise the player applies (0, 90, 180, 270)

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


@dataclass(frozen=True)
class AudioStream:
    codec: str
    sample_rate: int
    channels: str


@dataclass(frozen=True)
class MediaInfo:
    container: str
    duration: float | None
    bitrate_kbps: int | None
    video: VideoStream | None
    audio: AudioStream | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> dict:
        out = asdict(self)
        if self.video:
            out["video"]["display_width"] = self.video.display_width
            out["video"]["display_height"] = self.video.display_height
        out["warnings"] = list(self.warnings)
        return out


_INPUT = re.compile(r"^Input #0, ([\w,]+), from", re.M)
_DURATION = re.compile(r"Duration: (N/A|(\d+):(\d+):(\d+(?:\.\d+)?))")
_BITRATE = re.compile(r"bitrate: (\d+) kb/s")
_STREAM = re.compile(r"^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio|Subtitle|Data|Attachment): (.*)$",
                     re.M)
_DIMS = re.compile(r"\b(\d{1,5})x(\d{1,5})\b")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_PIXFMT = re.compile(r"\b(yuv\w*|yuvj\w*|rgb\w*|bgr\w*|gray\w*|nv\d+\w*|p0\d+\w*|gbrp\w*)")
_HZ = re.compile(r"(\d+) Hz, ([\w.() ]+?)(?:,|$)")
_ROTATION = re.compile(r"(?:rotation of|rotate\s*:)\s*(-?[\d.]+)")

_READABLE = [
    (re.compile(r"not on whitelist"), ("the file is not an MP4, MOV, WebM or MKV video (playlists and other "
                                      "formats that refer to other files or URLs are not allowed)")),
    (re.compile(r"misdetection possible"), ("the file is not a video or audio file (its content does not match "
                                           "its name)")),
    (re.compile(r"moov atom not found"), ("the file is incomplete or not a valid MP4/MOV (no 'moov' index): "
                                          "the upload was probably interrupted")),
    (re.compile(r"Invalid data found when processing input"), ("the file is not a video or audio file ffmpeg "
                                                               "can read (invalid data)")),
    (re.compile(r"No such file or directory"), "the file does not exist"),
]


def _depth(pix_fmt: str) -> int:
    m = re.search(r"(\d{2})(?:le|be)$", pix_fmt) or re.search(r"p(\d{2})", pix_fmt)
    if m:
        return int(m.group(1))
    return 8


def _rate(match: re.Match | None) -> float | None:
    if not match:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    return value if value > 0 else None


def _normalise_rotation(value: float) -> int:
    # ffmpeg prints the display matrix angle counter-clockwise ("rotation of -90.00 degrees" for a phone held
    # upright); what matters here is only whether width and height swap, and by how much the frame turns
    return round(value) % 360


def parse_probe(stderr: str) -> MediaInfo:
    """Turn `ffmpeg -hide_banner -i file` stderr into MediaInfo, or raise ProbeError with a readable reason."""
    header = _INPUT.search(stderr)
    if not header:
        for pattern, reason in _READABLE:
            if pattern.search(stderr):
                raise ProbeError(reason)
        last = next((ln.strip() for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "no output")
        raise ProbeError(f"ffmpeg could not open the file: {last[:200]}")

    container = header.group(1)
    dur = _DURATION.search(stderr)
    duration = None
    if dur and dur.group(1) != "N/A":
        duration = int(dur.group(2)) * 3600 + int(dur.group(3)) * 60 + float(dur.group(4))
    br = _BITRATE.search(stderr)

    video = audio = None
    lines = stderr.splitlines()
    for m in _STREAM.finditer(stderr):
        kind, desc = m.group(1), m.group(2)
        if kind == "Video" and video is None and "(attached pic)" not in desc:
            codec = desc.split(None, 1)[0].rstrip(",")
            dims = _DIMS.search(desc.split("[SAR")[0]) or _DIMS.search(desc)
            pix = _PIXFMT.search(desc)
            pix_fmt = pix.group(1) if pix else "unknown"
            fps = _rate(_FPS.search(desc)) or _rate(_TBR.search(desc))
            # side data (display matrix) follows the stream line, before the next stream
            start = stderr[:m.end()].count("\n") + 1
            rotation = 0
            for ln in lines[start:]:
                if re.match(r"^\s*Stream #", ln) or not ln.startswith("    "):
                    break
                r = _ROTATION.search(ln)
                if r:
                    rotation = _normalise_rotation(float(r.group(1)))
                    break
            if dims:
                video = VideoStream(codec=codec, width=int(dims.group(1)), height=int(dims.group(2)), fps=fps,
                                    pix_fmt=pix_fmt, bit_depth=_depth(pix_fmt), rotation=rotation)
        elif kind == "Audio" and audio is None:
            codec = desc.split(None, 1)[0].rstrip(",")
            hz = _HZ.search(desc)
            audio = AudioStream(codec=codec, sample_rate=int(hz.group(1)) if hz else 0,
                                channels=hz.group(2).strip() if hz else "unknown")
    warnings = tuple(sorted({w for w in ("misdetection possible",) if w in stderr}))
    return MediaInfo(container=container, duration=duration, bitrate_kbps=int(br.group(1)) if br else None,
                     video=video, audio=audio, warnings=warnings)


def probe_command(path: str, own_output: bool = False) -> list[str]:
    """`own_output`: a file we rendered (a JPEG thumbnail needs the image demuxer); sources never are."""
    from shared.media.ffmpeg.binary import ffmpeg_exe
    from shared.media.ffmpeg.presets import INPUT_GUARD

    guard = ["-protocol_whitelist", "file"] if own_output else INPUT_GUARD
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", *guard, "-i", path]


def probe(path: str, timeout: float = 30.0, own_output: bool = False) -> MediaInfo:
    try:
        proc = subprocess.run(probe_command(path, own_output), capture_output=True, text=True, errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError(f"reading the file's header took longer than {timeout:.0f} s") from exc
    return parse_probe(proc.stderr)
