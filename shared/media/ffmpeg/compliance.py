"""Per-platform upload rules checked against a probed file (pure). Each problem is a readable sentence.

Sources (2025-2026 platform docs): Instagram Reels via the Graph API (MP4/MOV, H.264/HEVC, moov first, AAC
<= 48 kHz, 23-60 fps, 3 s - 15 min, <= 1 GB, width <= 1920); X media upload (MP4 H.264 + AAC, <= 512 MB,
<= 140 s unless the account's tier allows long video, <= 60 fps, 1:3 to 3:1 aspect, <= 1920x1200 for the
standard tier); TikTok Content Posting API (MP4/WebM/MOV, H.264/H.265/VP8/VP9, 23-60 fps, 360-4096 px,
<= 10 min, <= 4 GB); YouTube (<= 256 GB; > 15 min needs a verified channel; Shorts <= 3 min, vertical or
square).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.media.ffmpeg.probe import MediaInfo

MB = 1024 * 1024
GB = 1024 * MB

X_TIER_MAX_SECONDS = {"standard": 140.0, "premium": 4 * 3600.0}


@dataclass(frozen=True)
class Report:
    platform: str
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"platform": self.platform, "ok": self.ok, "problems": list(self.problems)}


def _common(info: MediaInfo) -> list[str]:
    if info.video is None:
        return ["has no video stream"]
    return []


def _container_is_mp4(info: MediaInfo) -> bool:
    return "mp4" in info.container or "mov" in info.container


def check_instagram_reels(info: MediaInfo, size: int, faststart: bool) -> Report:
    p = _common(info)
    v, a, d = info.video, info.audio, info.duration or 0.0
    if v:
        if not _container_is_mp4(info):
            p.append(f"container {info.container} is not MP4/MOV")
        if v.codec not in ("h264", "hevc"):
            p.append(f"video codec {v.codec} is not H.264 or HEVC")
        if v.fps is None or not 23 <= v.fps <= 60:
            p.append(f"frame rate {v.fps} fps is outside 23-60 fps")
        if v.display_width > 1920:
            p.append(f"width {v.display_width} px exceeds 1920 px")
    if not faststart:
        p.append("the moov atom is not at the front (needs +faststart)")
    if a is not None:
        if a.codec != "aac":
            p.append(f"audio codec {a.codec} is not AAC")
        if a.sample_rate > 48000:
            p.append(f"audio sample rate {a.sample_rate} Hz exceeds 48 kHz")
    if not 3.0 <= d <= 15 * 60:
        p.append(f"duration {d:.1f} s is outside 3 s - 15 min")
    if size > 1 * GB:
        p.append(f"size {size / MB:.0f} MB exceeds 1 GB")
    return Report("instagram_reels", tuple(p))


def check_x(info: MediaInfo, size: int, faststart: bool, tier: str = "standard") -> Report:
    p = _common(info)
    v, a, d = info.video, info.audio, info.duration or 0.0
    if v:
        if v.codec != "h264":
            p.append(f"video codec {v.codec} is not H.264")
        if v.fps is not None and v.fps > 60:
            p.append(f"frame rate {v.fps} fps exceeds 60 fps")
        ratio = v.display_width / v.display_height
        if not 1 / 3 <= ratio <= 3:
            p.append(f"aspect ratio {ratio:.2f} is outside 1:3 to 3:1")
        if tier == "standard" and (max(v.display_width, v.display_height) > 1920
                                   or min(v.display_width, v.display_height) > 1200):
            p.append(f"{v.display_width}x{v.display_height} exceeds 1920x1200")
    if a is not None and a.codec != "aac":
        p.append(f"audio codec {a.codec} is not AAC")
    limit = X_TIER_MAX_SECONDS.get(tier, X_TIER_MAX_SECONDS["standard"])
    if not 0.5 <= d <= limit:
        p.append(f"duration {d:.1f} s is outside 0.5 s - {limit:.0f} s ({tier} tier)")
    if size > 512 * MB:
        p.append(f"size {size / MB:.0f} MB exceeds 512 MB")
    return Report("x", tuple(p))


def check_tiktok(info: MediaInfo, size: int, faststart: bool, max_seconds: float = 600.0) -> Report:
    p = _common(info)
    v, d = info.video, info.duration or 0.0
    if v:
        if v.codec not in ("h264", "hevc", "vp8", "vp9"):
            p.append(f"video codec {v.codec} is not H.264/H.265/VP8/VP9")
        if v.fps is None or not 23 <= v.fps <= 60:
            p.append(f"frame rate {v.fps} fps is outside 23-60 fps")
        lo, hi = min(v.display_width, v.display_height), max(v.display_width, v.display_height)
        if lo < 360:
            p.append(f"smallest side {lo} px is below 360 px")
        if hi > 4096:
            p.append(f"largest side {hi} px exceeds 4096 px")
    if not 1.0 <= d <= max_seconds:
        p.append(f"duration {d:.1f} s is outside 1 s - {max_seconds:.0f} s")
    if size > 4 * GB:
        p.append(f"size {size / MB:.0f} MB exceeds 4 GB")
    return Report("tiktok", tuple(p))


def check_youtube(info: MediaInfo, size: int, faststart: bool, verified: bool = False) -> Report:
    p = _common(info)
    d = info.duration or 0.0
    limit = 12 * 3600.0 if verified else 15 * 60.0
    if d > limit:
        p.append(f"duration {d:.0f} s exceeds {limit:.0f} s" + ("" if verified else " (unverified channel)"))
    if size > 256 * GB:
        p.append("size exceeds 256 GB")
    return Report("youtube", tuple(p))


def check_youtube_shorts(info: MediaInfo, size: int, faststart: bool) -> Report:
    p = list(check_youtube(info, size, faststart).problems)
    v, d = info.video, info.duration or 0.0
    if v and v.display_width > v.display_height:
        p.append("Shorts must be vertical or square")
    if d > 180:
        p.append(f"duration {d:.0f} s exceeds 3 min")
    return Report("youtube_shorts", tuple(p))


CHECKS = {
    "instagram_reels": check_instagram_reels,
    "x": check_x,
    "tiktok": check_tiktok,
    "youtube": check_youtube,
    "youtube_shorts": check_youtube_shorts,
}


def check(platform: str, info: MediaInfo, size: int, faststart: bool) -> Report:
    return CHECKS[platform](info, size, faststart)
