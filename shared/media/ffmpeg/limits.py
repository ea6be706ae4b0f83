"""Is a probed source acceptable input for the pipeline? (pure; a readable reason when it is not)"""

from __future__ import annotations

from shared.media.ffmpeg.probe import MediaInfo

MIN_SECONDS = 1.0


def source_problem(info: MediaInfo, *, max_seconds: float, max_dimension: int) -> str | None:
    if info.video is None:
        what = "an audio-only file" if info.audio is not None else "a file without streams"
        return f"the file has no video stream ({what})"
    if info.duration is None:
        return "the video's duration cannot be read; the file may be damaged"
    if info.duration < MIN_SECONDS:
        return (f"the video is too short ({info.duration:.2f} s, a single frame?); at least "
                f"{MIN_SECONDS:.0f} s is needed")
    if info.duration > max_seconds:
        return f"the video is too long ({info.duration / 60:.0f} min); the limit is {max_seconds / 60:.0f} min"
    w, h = info.video.width, info.video.height
    if max(w, h) > max_dimension:
        return f"the video is too large ({w}x{h}); the limit is {max_dimension} px on either side"
    if min(w, h) < 16:
        return f"the video is too small ({w}x{h})"
    return None


def min_expected_output_seconds(source_seconds: float) -> float:
    """An output much shorter than its source means the source could not be decoded to the end."""
    return max(0.0, source_seconds * 0.9 - 0.5)
