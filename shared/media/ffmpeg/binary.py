"""Where the ffmpeg binary is. IMAGEIO_FFMPEG_EXE overrides the bundled one."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
