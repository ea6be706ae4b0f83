"""A video's duration from its MP4/MOV header (`moov/mvhd`), read with a few small ranged GETs, never the file.

Used when the pipeline sent no videoDurationSeconds, so a platform cap (TikTok's max_video_post_duration_sec) can
still be held before any upload. Top-level boxes are walked by their headers (ISO/IEC 14496-12 §4.2: 32-bit size +
type, size 1 = 64-bit size follows, size 0 = to the end of the file); `mvhd` holds timescale and duration
(version 0: 32-bit, version 1: 64-bit). Anything unexpected answers None: the platform then judges the length.
"""

from __future__ import annotations

import struct

HEADER = 16
MAX_BOXES = 32
MOOV_READ_CAP = 4 * 1024 * 1024  # a moov box of a short video is KBs; a huge one is not worth reading here


def _read(src, start: int, length: int) -> bytes:
    from shared.publishing.media.fetch import read_capped

    with src.fetcher.stream(src.url, {"Range": f"bytes={start}-{start + length - 1}"}) as r:
        # a server that ignores Range answers 200 from byte 0: only a 206 (or a read from 0) is the wanted bytes
        if r.status_code == 206 or (r.status_code == 200 and start == 0):
            return read_capped(r, length)
        return b""


def mvhd_duration(moov: bytes) -> float | None:
    i = 8
    while i + 8 <= len(moov):
        size, kind = struct.unpack(">I4s", moov[i:i + 8])
        if kind == b"mvhd":
            body = moov[i + 8:i + size]
            if not body:
                return None
            if body[0] == 1 and len(body) >= 32:
                timescale, duration = struct.unpack(">IQ", body[20:32])
            elif len(body) >= 20:
                timescale, duration = struct.unpack(">II", body[12:20])
            else:
                return None
            return duration / timescale if timescale else None
        if size < 8:
            return None
        i += size
    return None


def duration_seconds(src) -> float | None:
    """Seconds of the MP4/MOV at `src` (a MediaSource), or None when it cannot tell."""
    import httpx

    from shared.publishing.engine.errors import PublishError
    from shared.publishing.media.fetch import MediaRefused

    try:
        total, offset = src.size, 0
        for _ in range(MAX_BOXES):
            if offset + 8 > total:
                return None
            head = _read(src, offset, HEADER)
            if len(head) < 8:
                return None
            size, kind = struct.unpack(">I4s", head[:8])
            if size == 1 and len(head) >= 16:
                size = struct.unpack(">Q", head[8:16])[0]
            elif size == 0:
                size = total - offset
            if size < 8:
                return None
            if kind == b"moov":
                if size > MOOV_READ_CAP:
                    return None
                return mvhd_duration(_read(src, offset, size))
            offset += size
    except (httpx.HTTPError, MediaRefused, PublishError, OSError, ValueError, struct.error):
        return None  # a header we cannot read must not stop the post: the platform judges the length
    return None
