"""Faststart by composition: the file ffmpeg's `-movflags +faststart` would write, assembled without its
second pass, so the bulk of a rendition can be uploaded while it is still being encoded.

ffmpeg's MP4 muxer (without `+faststart`) writes `ftyp`, `free`, `mdat` (samples appended in order, never
rewritten; only the `mdat` header is patched with the final size) and, at the end, `moov`, whose chunk offset
tables (`stco`/`co64`) point into `mdat`. `+faststart` then moves `moov` in front of `free`+`mdat`, adding its size
to every chunk offset, and rewrites the whole file. The same bytes are

    ftyp + moov' + (free + mdat header, as finally written) + samples

where moov' is `moov` with every chunk offset shifted by len(moov) (tests/test_media_faststart.py checks the
composition against ffmpeg's own `+faststart` output byte for byte). The samples are final as soon as they are
on disk, so they can be uploaded as multipart parts during the encode; only the first part (the small header
plus the first samples) waits for the end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


class LayoutError(ValueError):
    """The file is not laid out the way this module composes (fall back to ffmpeg's own faststart)."""


@dataclass(frozen=True)
class Layout:
    ftyp: tuple[int, int]  # (offset, size)
    header: tuple[int, int]  # free + mdat header: everything between ftyp and the first sample
    samples: tuple[int, int]  # the mdat payload
    moov: tuple[int, int]


def _boxes(data: bytes | bytearray, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise LayoutError(f"box {kind!r} at {pos} overruns its parent")
        yield kind, pos, size, head
        pos += size


def read_layout(fh, file_size: int) -> Layout:
    """Top-level layout of an MP4 written without faststart: ftyp, [free], mdat, moov."""
    boxes = []
    pos = 0
    while pos + 8 <= file_size:
        fh.seek(pos)
        head = fh.read(16)
        size, kind = struct.unpack_from(">I4s", head, 0)
        hlen = 8
        if size == 1:
            size, hlen = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = file_size - pos
        if size < hlen:
            raise LayoutError("invalid box size")
        boxes.append((kind, pos, size, hlen))
        pos += size
    kinds = [b[0] for b in boxes]
    if kinds not in ([b"ftyp", b"free", b"mdat", b"moov"], [b"ftyp", b"mdat", b"moov"]):
        raise LayoutError(f"unexpected top-level boxes {kinds!r}")
    ftyp, mdat, moov = boxes[0], boxes[-2], boxes[-1]
    header_start = ftyp[1] + ftyp[2]
    payload_start = mdat[1] + mdat[3]
    return Layout(ftyp=(ftyp[1], ftyp[2]), header=(header_start, payload_start - header_start),
                  samples=(payload_start, mdat[1] + mdat[2] - payload_start), moov=(moov[1], moov[2]))


def shift_chunk_offsets(moov: bytes, shift: int) -> bytes:
    """`moov` with every stco/co64 entry moved by `shift` bytes (in place on a copy; sizes unchanged)."""
    out = bytearray(moov)

    def walk(start: int, end: int) -> None:
        for kind, pos, size, head in _boxes(out, start, end):
            if kind in _CONTAINERS:
                walk(pos + head, pos + size)
            elif kind in (b"stco", b"co64"):
                count = struct.unpack_from(">I", out, pos + head + 4)[0]
                width, fmt = (4, ">I") if kind == b"stco" else (8, ">Q")
                base = pos + head + 8
                if base + count * width > pos + size:
                    raise LayoutError(f"{kind!r} table overruns its box")
                for i in range(count):
                    at = base + i * width
                    value = struct.unpack_from(fmt, out, at)[0] + shift
                    if kind == b"stco" and value >= 1 << 32:
                        raise LayoutError("32-bit chunk offsets would overflow (ffmpeg switches to co64)")
                    struct.pack_into(fmt, out, at, value)

    kind = bytes(out[4:8])
    if kind != b"moov":
        raise LayoutError("not a moov box")
    walk(8, len(out))
    return bytes(out)
