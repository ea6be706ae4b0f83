"""The ffmpeg runner with the real binary: wall-clock timeout, stop on request, progress, and the protocol
whitelist that keeps an uploaded playlist from reaching other files or URLs."""

from __future__ import annotations

import time

import pytest
from media_support import ffmpeg, make_clip

from shared.media.ffmpeg.probe import ProbeError, probe
from shared.media.ffmpeg.process import FfmpegError, FfmpegStopped, FfmpegTimeout, run_ffmpeg


def _endless(dst) -> list[str]:
    return [ffmpeg(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
            "testsrc2=size=64x64:rate=10", "-c:v", "libx264", "-preset", "ultrafast", "-progress", "pipe:1",
            "-nostats", str(dst)]


def test_wall_clock_timeout_kills_ffmpeg(tmp_path):
    started = time.monotonic()
    with pytest.raises(FfmpegTimeout) as exc:
        run_ffmpeg(_endless(tmp_path / "o.mp4"), duration=None, timeout=1.0, stderr_path=str(tmp_path / "e.log"))
    assert time.monotonic() - started < 5 and "longer than the 1 s limit" in str(exc.value)


def test_stop_on_request_reports_progress_first(tmp_path):
    seen = []

    def control(percent, parser):
        seen.append(parser.out_seconds)
        return "cancelled" if parser.out_seconds >= 1.0 else None

    with pytest.raises(FfmpegStopped) as exc:
        run_ffmpeg(_endless(tmp_path / "o.mp4"), duration=100.0, timeout=30, stderr_path=str(tmp_path / "e.log"),
                   control=control, tick=0.1)
    assert exc.value.reason == "cancelled" and max(seen) >= 1.0


def test_progress_reaches_100_and_errors_are_readable(tmp_path):
    src = make_clip(tmp_path / "s.mp4", seconds=1)
    cmd = [ffmpeg(), "-y", "-loglevel", "error", "-protocol_whitelist", "file", "-i", str(src), "-c:v", "libx264",
           "-preset", "ultrafast", "-progress", "pipe:1", "-nostats", str(tmp_path / "o.mp4")]
    parser = run_ffmpeg(cmd, duration=1.0, timeout=30, stderr_path=str(tmp_path / "e.log"))
    assert parser.ended and parser.percent == 100.0
    bad = cmd[:]
    bad[bad.index("libx264")] = "no_such_encoder"
    with pytest.raises(FfmpegError) as exc:
        run_ffmpeg(bad, duration=1.0, timeout=30, stderr_path=str(tmp_path / "e2.log"))
    assert "Encoder not found" in exc.value.reason


@pytest.mark.parametrize("name", ["evil.mp4", "evil.m3u8"])
@pytest.mark.parametrize("segment", ["http://127.0.0.1:9/secret.ts", "LOCAL"])
def test_playlists_cannot_pull_in_other_files_or_urls(tmp_path, segment, name):
    """An HLS playlist uploaded as a video would make ffmpeg open its segments: refused whatever they point
    at (a URL, or a local file the worker can read), whatever the file is called."""
    import subprocess

    local = make_clip(tmp_path / "other.mp4", seconds=1)
    playlist = tmp_path / name
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n"
                        f"{str(local) if segment == 'LOCAL' else segment}\n#EXT-X-ENDLIST\n")
    with pytest.raises(ProbeError) as exc:
        probe(str(playlist))
    assert "not allowed" in str(exc.value) or "does not match its name" in str(exc.value)
    if segment == "LOCAL" and name.endswith(".m3u8"):  # unguarded, ffmpeg reads the other file through it
        unguarded = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(playlist)], capture_output=True, text=True)
        assert "Stream #0" in unguarded.stderr
    assert probe(str(local)).video is not None  # the guard still reads real MP4s


def test_poster_avoids_the_black_opening_and_thumbnail_at_honours_the_time(tmp_path):
    import subprocess

    from media_worker.pipeline import JobControl, render_thumbnail
    from shared.media.ffmpeg import poster

    src = tmp_path / "fade-in.mp4"
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "color=c=black:size=320x180:rate=25:duration=3",
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2",
                    "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(src)], check=True)
    info = probe(str(src))
    work = tmp_path / "work"
    work.mkdir()

    def luma(jpeg):
        cmd = [ffmpeg(), "-loglevel", "error", "-i", str(jpeg), "-vf", "scale=32:18,format=gray", "-f", "rawvideo",
               "pipe:1"]
        return poster.frame_stats(0, subprocess.run(cmd, capture_output=True, check=True).stdout)

    out, at = render_thumbnail(info, src, work, JobControl(), {})
    assert at >= 3.0 and luma(out).usable
    out, at = render_thumbnail(info, src, work, JobControl(), {"thumbnailAt": 1.0})
    assert at == 1.0 and not luma(out).usable  # the owner asked for that moment: it is honoured
