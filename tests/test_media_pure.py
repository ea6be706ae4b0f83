"""Pure media logic: probe parsing, geometry, progress, compliance, backoff, sniffing, upload plans, keys,
poster choice, MP4 atoms. Table tests plus hypothesis properties."""

from __future__ import annotations

import io
import struct
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.media import keys
from shared.media.ffmpeg import atoms, compliance, limits, poster, presets
from shared.media.ffmpeg.probe import AudioStream, MediaInfo, ProbeError, VideoStream, parse_probe
from shared.media.ffmpeg.progress import ProgressParser
from shared.media.jobs import backoff
from shared.media.uploads import plan, sniff

PHONE = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'IMG_0042.MOV':
  Metadata:
    major_brand     : qt
  Duration: 00:01:02.53, start: 0.000000, bitrate: 18012 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67), 3840x2160, 17800 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)
    Metadata:
      handler_name    : Core Media Video
    Side data:
      Display Matrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 96000 Hz, stereo, fltp, 189 kb/s (default)
  Stream #0:2[0x3](und): Data: none (mebx / 0x7862656D), 0 kb/s (default)
At least one output file must be specified
"""

COVER_ART = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'song.m4a':
  Duration: 00:03:00.00, start: 0.000000, bitrate: 256 kb/s
  Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 256 kb/s (default)
  Stream #0:1[0x0]: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 600x600 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
"""


def test_probe_reads_a_phone_clip():
    info = parse_probe(PHONE)
    assert info.duration == pytest.approx(62.53)
    assert info.bitrate_kbps == 18012
    v = info.video
    assert (v.codec, v.width, v.height, v.fps, v.bit_depth, v.rotation) == ("hevc", 3840, 2160, 29.97, 10, 270)
    assert (v.display_width, v.display_height) == (2160, 3840)
    assert info.audio == AudioStream("aac", 96000, "stereo")


def test_probe_ignores_cover_art_as_video():
    info = parse_probe(COVER_ART)
    assert info.video is None and info.audio.codec == "aac"


@pytest.mark.parametrize("stderr, words", [
    ("[in#0 @ 0x1] moov atom not found\nError opening input files: Invalid data found when processing input",
     "upload was probably interrupted"),
    ("[in#0 @ 0x1] Format mov detected only with low score of 1, misdetection possible!\n[in#0] moov atom not found",
     "not a video or audio file"),
    ("x.mp4: Invalid data found when processing input", "invalid data"),
    ("something else entirely", "something else entirely"),
])
def test_probe_errors_are_readable(stderr, words):
    with pytest.raises(ProbeError) as exc:
        parse_probe(stderr)
    assert words in str(exc.value)


def _info(w=1920, h=1080, fps=30.0, dur=30.0, audio=True, rot=0, codec="h264", rate=48000, container="mov,mp4"):
    return MediaInfo(container, dur, 1000, VideoStream(codec, w, h, fps, "yuv420p", 8, rot),
                     AudioStream("aac", rate, "stereo") if audio else None)


@pytest.mark.parametrize("preset, src, expected", [
    ("landscape_1080p", (1920, 1080), (1920, 1080, None)),
    ("landscape_1080p", (3840, 2160), (1920, 1080, None)),
    ("landscape_720p", (1920, 1080), (1280, 720, None)),
    ("landscape_1080p", (640, 480), (852, 480, None)),         # 4:3 pillarboxed, not upscaled
    ("landscape_1080p", (1080, 1920), (1920, 1080, None)),     # vertical source pillarboxed
    ("vertical_9x16", (1920, 1080), (1080, 1920, None)),       # blurred fill
    ("vertical_9x16", (320, 180), (320, 568, None)),
    ("square_1x1", (1920, 1080), (1080, 1080, (1080, 1080))),
    ("portrait_3x4", (1920, 1080), (810, 1080, (810, 1080))),
    ("portrait_3x4", (321, 181), (134, 180, (134, 180))),      # odd source -> even crop and size
])
def test_geometry_table(preset, src, expected):
    geo = presets.plan_geometry(presets.PRESETS[preset], *src)
    assert (geo.width, geo.height, geo.crop) == expected


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([p for p in presets.PRESET_NAMES if p != "thumbnail"]),
       st.integers(16, 4096), st.integers(16, 4096), st.sampled_from([None, "crop", "blur"]))
def test_geometry_properties(preset, w, h, mode):
    spec = presets.PRESETS[preset]
    mode = mode if preset == "vertical_9x16" else None
    geo = presets.plan_geometry(spec, w, h, mode)
    aw, ah = spec.aspect
    assert geo.width % 2 == 0 and geo.height % 2 == 0 and geo.width >= 2 and geo.height >= 2
    assert geo.height <= spec.max_height
    # the requested aspect, within the rounding of even pixel sizes
    assert abs(geo.width / geo.height - aw / ah) <= 2.5 / min(geo.width, geo.height) + 0.01
    if geo.crop:
        cw, ch = geo.crop
        assert cw <= w and ch <= h and geo.height <= ch  # crops fit, scaling never enlarges
    if (mode or spec.fit) == "pad":
        assert geo.height <= max(2, h)  # never upscaled vertically


@pytest.mark.parametrize("src_fps, out", [(None, 30.0), (0, 30.0), (15, 24.0), (23.976, 23.976), (25, 25.0),
                                          (29.97, 29.97), (30.3, 30.0), (59.94, 59.94), (120, 60.0), (90, 30.0)])
def test_output_fps(src_fps, out):
    assert presets.output_fps(src_fps) == out


def test_video_command_is_safe_and_complete():
    cmd = presets.build_video_command("ffmpeg", "landscape_720p", _info(audio=False, dur=12.5), "/s/in.mp4",
                                      "/s/out.mp4", max_seconds=600)
    joined = " ".join(cmd)
    i = cmd.index("-i")
    assert cmd[i - 4:i] == ["-protocol_whitelist", "file", "-format_whitelist", "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"]
    assert cmd[i + 1] == "/s/in.mp4"
    assert "anullsrc" in joined and "-shortest" in cmd          # silent track for a silent source
    assert "+faststart" in cmd and "format=yuv420p" in joined
    assert cmd[cmd.index("-fps_mode") + 1] == "cfr"
    assert cmd[cmd.index("-progress") + 1] == "pipe:1" and cmd[-1] == "/s/out.mp4"
    assert cmd[cmd.index("-map_metadata") + 1] == "-1"
    with pytest.raises(presets.UnsupportedSource):
        presets.build_video_command("ffmpeg", "square_1x1", MediaInfo("mp4", 3, 1, None, None), "a", "b")


def test_progress_parser_reads_blocks():
    p = ProgressParser(duration=10.0)
    seen = [p.feed(line) for line in
            ["frame=10", "out_time_us=2500000", "speed=2.0x", "progress=continue",
             "out_time_us=N/A", "progress=continue", "out_time_ms=7000000", "progress=continue", "progress=end"]]
    assert [s for s in seen if s is not None] == [25.0, 25.0, 70.0, 100.0]
    assert p.speed == 2.0 and p.ended


@given(st.lists(st.integers(-5, 10**9), max_size=50), st.floats(0.1, 1e5))
def test_progress_is_bounded_and_monotonic(times, duration):
    p = ProgressParser(duration)
    last = 0.0
    for t in times:
        p.feed(f"out_time_us={t}")
        value = p.feed("progress=continue")
        assert 0.0 <= value <= 99.9 and value >= last
        last = value


def test_compliance_reels():
    good = _info(1080, 1920, fps=30, dur=30)
    assert compliance.check("instagram_reels", good, 50 << 20, True).ok
    bad = _info(1080, 1920, fps=15, dur=2, rate=96000)
    problems = compliance.check("instagram_reels", bad, 2 << 30, False).problems
    assert len(problems) == 5
    assert any("faststart" in p for p in problems) and any("48 kHz" in p for p in problems)
    assert any("23-60" in p for p in problems) and any("1 GB" in p for p in problems)


@pytest.mark.parametrize("platform, info, size, ok", [
    ("x", _info(dur=139), 100 << 20, True),
    ("x", _info(dur=141), 100 << 20, False),          # standard tier: 140 s
    ("x", _info(dur=60), 600 << 20, False),           # > 512 MB
    ("x", _info(w=4000, h=1000, dur=60), 1 << 20, False),  # 4:1
    ("tiktok", _info(1080, 1920, dur=60), 1 << 20, True),
    ("tiktok", _info(320, 568, dur=60), 1 << 20, False),   # < 360 px
    ("youtube", _info(dur=16 * 60), 1 << 20, False),
    ("youtube_shorts", _info(1080, 1920, dur=59), 1 << 20, True),
    ("youtube_shorts", _info(1920, 1080, dur=59), 1 << 20, False),
])
def test_compliance_table(platform, info, size, ok):
    assert compliance.check(platform, info, size, True).ok is ok


def test_x_premium_tier_allows_long_video():
    assert compliance.check_x(_info(dur=3600), 100 << 20, True, tier="premium").ok


def test_source_limits():
    assert limits.source_problem(_info(), max_seconds=3600, max_dimension=4096) is None
    assert "audio-only" in limits.source_problem(MediaInfo("mp4", 3, 1, None, AudioStream("aac", 1, "m")),
                                                 max_seconds=3600, max_dimension=4096)
    assert "too short" in limits.source_problem(_info(dur=0.04), max_seconds=3600, max_dimension=4096)
    assert "too long" in limits.source_problem(_info(dur=7200), max_seconds=3600, max_dimension=4096)
    assert "too large" in limits.source_problem(_info(w=8000), max_seconds=3600, max_dimension=4096)


@pytest.mark.parametrize("attempt, max_attempts, transient, retry, delay", [
    (1, 3, True, True, 15.0), (2, 3, True, True, 60.0), (3, 3, True, False, 0.0), (1, 3, False, False, 0.0),
    (1, 1, True, False, 0.0),
])
def test_backoff_table(attempt, max_attempts, transient, retry, delay):
    d = backoff.decide(attempt, max_attempts, transient, base=15.0)
    assert (d.retry, d.delay_seconds) == (retry, delay)


@given(st.integers(1, 50), st.floats(0.1, 100), st.floats(0, 1))
def test_backoff_grows_and_is_capped(attempt, base, jitter):
    a = backoff.retry_delay(attempt, base, jitter=jitter)
    b = backoff.retry_delay(attempt + 1, base, jitter=0)
    assert 0 < a <= backoff.MAX_DELAY_SECONDS
    assert b >= min(backoff.retry_delay(attempt, base, jitter=0), backoff.MAX_DELAY_SECONDS)


@pytest.mark.parametrize("ctype, head, ok", [
    ("video/mp4", b"\x00\x00\x00\x20ftypisom" + b"\x00" * 20, True),
    ("video/webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 20, True),
    ("video/mp4", b"hello, these are notes", False),
    ("video/mp4", b"", False),
    ("video/mp4", b"\xff\xd8\xff\xe0" + b"\x00" * 20, False),   # a JPEG named .mp4
    ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, True),
    ("image/jpeg", b"GIF89a" + b"\x00" * 8, True),             # any real image format is fine for images
    ("image/jpeg", b"%PDF-1.7", False),
    ("audio/mpeg", b"ID3\x04" + b"\x00" * 8, True),
    ("text/vtt", b"WEBVTT", True),                              # not media: not sniffed
])
def test_sniff(ctype, head, ok):
    assert (sniff.sniff_problem(ctype, head) is None) is ok


@pytest.mark.parametrize("size, single_max, part, expected", [
    (10, 64 << 20, 16 << 20, ("single", None, None)),
    (64 << 20, 64 << 20, 16 << 20, ("single", None, None)),
    ((64 << 20) + 1, 64 << 20, 16 << 20, ("multipart", 16 << 20, 5)),
    (1 << 20, 0, 1, ("multipart", 5 << 20, 1)),                        # at least B2's 5 MB part minimum
    (200 << 30, 1, 16 << 20, ("multipart", 21474837, 10000)),          # part size grows for 10,000 parts max
])
def test_upload_plan(size, single_max, part, expected):
    p = plan.plan_upload(size, single_max, part)
    assert (p.strategy, p.part_size, p.part_count) == expected


@given(st.integers(1, 5 * 10**12))
def test_upload_plan_covers_the_file(size):
    p = plan.plan_upload(size, 64 << 20, 16 << 20)
    if p.strategy == "multipart":
        assert p.part_count <= plan.MAX_PARTS and plan.MIN_PART <= p.part_size <= plan.MAX_PART
        assert (p.part_count - 1) * p.part_size < size <= p.part_count * p.part_size


def test_parts_are_complete():
    assert plan.parts_are_complete([2, 1, 3], 3)
    assert not plan.parts_are_complete([1, 1, 3], 3) and not plan.parts_are_complete([1, 2], 3)


def test_keys():
    now = datetime(2026, 11, 28)
    assert keys.object_key("trailers", "Dune: Part Three (Official Trailer) 4K.MP4", "video/mp4", now, "ab12") == \
        "trailers/2026/11/dune-part-three-official-trailer-4k-ab12.mp4"
    assert keys.object_key("images", "../../etc/passwd", "image/png", now, "x") == "images/2026/11/passwd-x.png"
    assert keys.object_key("images", "Amélie.jpeg", "image/jpeg", now, "x") == "images/2026/11/amelie-x.jpg"
    assert keys.object_key("temp", "🎬.mov", "video/quicktime", now, "x") == "temp/2026/11/file-x.mov"
    assert keys.rendition_key("trailers/2026/11/a-b.mp4", "square_1x1", "mp4") == \
        "renditions/trailers/2026/11/a-b/square_1x1.mp4"
    assert keys.is_job_source("trailers/2026/11/a.mp4") and not keys.is_job_source("renditions/x.mp4")
    assert not keys.is_job_source("trailers/../secrets.mp4")


@given(st.text(max_size=200))
def test_sanitized_names_are_safe(name):
    base = keys.sanitize_base(name)
    assert base and len(base) <= 60 and all(c.isascii() and (c.isalnum() or c == "-") for c in base)


def test_poster_skips_black_and_flat_frames():
    black = poster.frame_stats(1.0, bytes([2] * 576))
    flat = poster.frame_stats(2.0, bytes([128] * 576))
    busy = poster.frame_stats(3.0, bytes((i * 37) % 256 for i in range(576)))
    assert not black.usable and not flat.usable and busy.usable
    assert poster.choose_poster([black, flat, busy]).at == 3.0
    assert poster.choose_poster([black, flat]).at == 2.0  # brightest fallback
    assert poster.candidate_times(100.0)[0] == 10.0 and poster.candidate_times(100.0)[-1] == 70.0
    assert poster.candidate_times(0.5) == [0.0]


def _atom(kind: bytes, payload: int) -> bytes:
    return struct.pack(">I4s", 8 + payload, kind) + b"\x00" * payload


def test_atoms_and_faststart():
    fast = _atom(b"ftyp", 16) + _atom(b"moov", 40) + _atom(b"mdat", 100)
    slow = _atom(b"ftyp", 16) + _atom(b"mdat", 100) + _atom(b"moov", 40)
    big = _atom(b"ftyp", 8) + struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + b"\x00" * 4 + _atom(b"moov", 4)
    assert atoms.top_level_atoms(io.BytesIO(fast)) == ["ftyp", "moov", "mdat"]
    assert atoms.is_faststart(atoms.top_level_atoms(io.BytesIO(fast)))
    assert not atoms.is_faststart(atoms.top_level_atoms(io.BytesIO(slow)))
    assert atoms.top_level_atoms(io.BytesIO(big)) == ["ftyp", "mdat", "moov"]
