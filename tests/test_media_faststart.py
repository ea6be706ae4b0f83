"""Faststart by composition and the streamed upload: the stored rendition is byte for byte what ffmpeg's own
`-movflags +faststart` writes, even when its samples were uploaded while ffmpeg was still writing them."""

from __future__ import annotations

import struct
import subprocess
import time

import pytest
from media_support import clean_bucket, ffmpeg, make_clip  # noqa: F401

from shared.media.ffmpeg.faststart import LayoutError, read_layout, shift_chunk_offsets


def _compose(path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        layout = read_layout(fh, fh.tell())

        def rd(at: tuple[int, int]) -> bytes:
            fh.seek(at[0])
            return fh.read(at[1])

        return rd(layout.ftyp) + shift_chunk_offsets(rd(layout.moov), layout.moov[1]) + rd(layout.header) + \
            rd(layout.samples)


def _remux(src, dst, *extra: str) -> None:
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", *extra, "-i", str(src), "-map", "0", "-c", "copy",
                    "-f", "mp4", str(dst)], check=True)


def test_composition_equals_ffmpegs_faststart(tmp_path):
    src = make_clip(tmp_path / "src.mp4", seconds=2, size="320x180")
    for flags, name in (([], "plain.mp4"), (["-movflags", "+faststart"], "fast.mp4")):
        subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-i", str(src), "-c:v", "libx264", "-preset",
                        "veryfast", "-threads", "1", "-c:a", "aac", "-map_metadata", "-1", *flags, "-f", "mp4",
                        str(tmp_path / name)], check=True)
    assert _compose(tmp_path / "plain.mp4") == (tmp_path / "fast.mp4").read_bytes()
    with pytest.raises(LayoutError):  # an already faststart file is not what the composition expects
        _compose(tmp_path / "fast.mp4")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _table(kind: bytes, offsets: list[int]) -> bytes:
    fmt = ">I" if kind == b"stco" else ">Q"
    return _box(kind, b"\0\0\0\0" + struct.pack(">I", len(offsets)) + b"".join(struct.pack(fmt, o) for o in offsets))


def test_chunk_offsets_shift_in_every_track_and_overflow_is_refused():
    moov = _box(b"moov", _box(b"mvhd", b"\0" * 20) +
                _box(b"trak", _box(b"mdia", _box(b"minf", _box(b"stbl", _table(b"stco", [48, 1000]))))) +
                _box(b"trak", _box(b"mdia", _box(b"minf", _box(b"stbl", _table(b"co64", [5000, 1 << 33]))))))
    out = shift_chunk_offsets(moov, 100)
    assert len(out) == len(moov)
    values = [struct.unpack_from(">I", out, i)[0] for i in (moov.index(b"stco") + 12, moov.index(b"stco") + 16)]
    assert values == [148, 1100]
    at = moov.index(b"co64") + 12
    assert [struct.unpack_from(">Q", out, at + 8 * i)[0] for i in range(2)] == [5100, (1 << 33) + 100]
    with pytest.raises(LayoutError):
        shift_chunk_offsets(moov, (1 << 32) - 500)  # stco cannot hold it (ffmpeg would have used co64)


def test_streamed_upload_stores_the_faststart_bytes(backing, clean_bucket, tmp_path):
    """A ~14 MB rendition written the way ffmpeg writes it (samples in order, the mdat size patched at the end,
    moov last): a part leaves while the file is still growing; the object equals ffmpeg's own faststart file;
    a cancelled upload leaves nothing behind."""
    from media_worker import streaming
    from shared.storage.s3 import get_storage

    storage = get_storage()
    big = make_clip(tmp_path / "noise.mp4", seconds=3, size="480x270", rate=25,
                    vcodec=["-vf", "noise=alls=100:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
                            "-pix_fmt", "yuv420p"])
    _remux(big, tmp_path / "plain.mp4")
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-i", str(big), "-map", "0", "-c", "copy", "-movflags",
                    "+faststart", "-f", "mp4", str(tmp_path / "fast.mp4")], check=True)
    plain = (tmp_path / "plain.mp4").read_bytes()
    with open(tmp_path / "plain.mp4", "rb") as fh:
        layout = read_layout(fh, len(plain))
    assert layout.samples[1] > streaming.FIRST_SAMPLES + streaming.PART

    out = tmp_path / "rendition.mp4"
    up = streaming.RenditionUpload(storage, out, "renditions/t/landscape_720p.mp4", "video/mp4", poll=0.02).start()
    cut = layout.samples[0] + streaming.FIRST_SAMPLES + streaming.PART + 1000
    mdat_size_at = layout.header[0] + 8  # after `free`: the mdat header whose size ffmpeg patches at the end
    with open(out, "wb") as fh:
        fh.write(plain[:mdat_size_at] + b"\0\0\0\0" + plain[mdat_size_at + 4:cut])  # size still unknown
        fh.flush()
        deadline = time.time() + 20
        while not up.etags and time.time() < deadline:
            time.sleep(0.02)
        assert 2 in up.etags  # the first whole part of samples left while the file was incomplete
        fh.write(plain[cut:])
        fh.seek(mdat_size_at)
        fh.write(plain[mdat_size_at:mdat_size_at + 4])
    up.finish_parts()
    up.complete()
    stored = storage.client.get_object(Bucket=storage.bucket, Key="renditions/t/landscape_720p.mp4")["Body"].read()
    assert stored == _compose(out) == (tmp_path / "fast.mp4").read_bytes()

    cancelled = streaming.RenditionUpload(storage, out, "renditions/t/square_1x1.mp4", "video/mp4").start()
    cancelled.abort()
    assert storage.list_multipart_uploads("") == [] and storage.head("renditions/t/square_1x1.mp4") is None
