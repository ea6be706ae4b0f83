"""One decode for all presets: a combined ffmpeg run writes the same renditions as separate runs (dimensions,
duration within one frame, streams, faststart), and picks the same poster frame as the seek path. Real ffmpeg
on short clips; the pure planning rules too."""

from __future__ import annotations

import subprocess

import pytest
from media_support import ffmpeg, make_clip

from shared.media.ffmpeg import combined, poster, presets
from shared.media.ffmpeg.atoms import file_is_faststart
from shared.media.ffmpeg.probe import MediaInfo, VideoStream, probe

VIDEO_PRESETS = ["landscape_1080p", "vertical_9x16", "square_1x1", "portrait_3x4"]


def _facts(path) -> dict:
    info = probe(str(path), own_output=True)
    return {"size": (info.video.width, info.video.height), "codec": info.video.codec, "pix_fmt": info.video.pix_fmt,
            "fps": info.video.fps, "rotation": info.video.rotation,
            "audio": (info.audio.codec, info.audio.sample_rate, info.audio.channels) if info.audio else None,
            "faststart": file_is_faststart(str(path)), "duration": info.duration}


def _same(separate: dict, together: dict) -> None:
    frame = 1 / (separate["fps"] or 30)
    assert abs(separate.pop("duration") - together.pop("duration")) <= frame + 1e-6
    assert separate == together


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("combined")
    plain = make_clip(d / "plain.mp4", seconds=2, size="320x180", rate=25)
    base = make_clip(d / "base.mp4", seconds=1.5, size="321x181", rate=30, audio=False)
    phone = d / "phone.mp4"  # rotated, odd size, no audio: the shared silent track and auto-rotation
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-display_rotation:v:0", "90", "-i", str(base), "-c",
                    "copy", str(phone)], check=True)
    return {"plain": plain, "phone": phone}


@pytest.mark.parametrize("name", ["plain", "phone"])
def test_combined_run_writes_the_same_renditions_as_separate_runs(clips, tmp_path, name):
    src = clips[name]
    info = probe(str(src))
    exe = ffmpeg()
    for p in VIDEO_PRESETS:
        subprocess.run(presets.build_video_command(exe, p, info, str(src), str(tmp_path / f"alone-{p}.mp4"),
                                                   max_seconds=600), check=True, stdout=subprocess.DEVNULL)
    outs = [combined.VideoOutput(p, str(tmp_path / f"together-{p}.mp4")) for p in VIDEO_PRESETS]
    cmd = combined.build_combined_command(exe, info, str(src), outs, max_seconds=600, cpus=2)
    assert cmd.count("-i") == (1 if info.audio else 2)  # the source is read (and decoded) once
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    for p in VIDEO_PRESETS:
        alone, together = _facts(tmp_path / f"alone-{p}.mp4"), _facts(tmp_path / f"together-{p}.mp4")
        assert together["faststart"] and together["audio"] == ("aac", 48000, "stereo") and together["rotation"] == 0
        _same(alone, together)


def test_combined_thumbnail_picks_the_frame_the_seek_path_picks(tmp_path):
    """A trailer-like clip: black for the first 40 %, then a picture. Both paths skip the black candidates and
    take the same time; with thumbnailAt both take that time."""
    from media_worker.pipeline import JobControl, _pick_thumbnail, render_thumbnail

    src = tmp_path / "fade.mp4"
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=3", "-f", "lavfi", "-i", "sine=duration=3",
                    "-vf", "drawbox=c=black:t=fill:enable='lt(t,1.2)'", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(src)], check=True)
    info = probe(str(src))
    for options in ({}, {"thumbnailAt": 2.0}):
        seek_dir, comb_dir = tmp_path / f"seek{len(options)}", tmp_path / f"comb{len(options)}"
        seek_dir.mkdir(), comb_dir.mkdir()
        seek_path, seek_at = render_thumbnail(info, src, seek_dir, JobControl(), options)
        at = options.get("thumbnailAt")
        times = (at,) if at is not None else tuple(poster.candidate_times(info.duration))
        thumb = combined.ThumbnailOutput(times, str(comb_dir))
        cmd = combined.build_combined_command(ffmpeg(), info, str(src),
                                              [combined.VideoOutput("square_1x1", str(comb_dir / "sq.mp4"))], thumb)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        comb_path, comb_at = _pick_thumbnail(thumb, comb_dir)
        assert comb_at == seek_at and (at is None or comb_at == at)
        assert comb_at >= 1.2  # not one of the black candidates
        a, b = probe(str(seek_path), own_output=True), probe(str(comb_path), own_output=True)
        assert (a.video.codec, a.video.width, a.video.height) == (b.video.codec, b.video.width, b.video.height)
        assert _mean_luma(seek_path) == pytest.approx(_mean_luma(comb_path), abs=2)  # the same picture


def test_quarter_size_blur_looks_like_the_full_size_blur(tmp_path):
    """The vertical preset blurs its background at a quarter of the size (half the filter's CPU): compared with
    blurring at full size, the frames are structurally the same (SSIM, ffmpeg's own filter)."""
    src = make_clip(tmp_path / "wide.mp4", seconds=1, size="640x360", audio=False)
    info = probe(str(src))
    geo = presets.plan_geometry(presets.PRESETS["vertical_9x16"], 640, 360)
    quarter, _ = presets.video_filter(presets.PRESETS["vertical_9x16"], geo)
    radius = max(1, min(20, min(geo.width, geo.height) // 16))
    full = quarter.replace(quarter.split(";[bg]", 1)[1].split("[bgb]")[0],
                           f"scale={geo.width}:{geo.height}:force_original_aspect_ratio=increase,"
                           f"crop={geo.width}:{geo.height},boxblur={radius}:2")
    assert "boxblur" in quarter and quarter != full and info.video.width == 640
    outs = []
    for name, graph in (("quarter", quarter), ("full", full)):
        outs.append(tmp_path / f"{name}.mkv")
        subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-i", str(src), "-filter_complex", graph, "-map",
                        "[v]", "-c:v", "ffv1", str(outs[-1])], check=True)
    ssim = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(outs[0]), "-i", str(outs[1]), "-lavfi",
                           "[0:v][1:v]ssim", "-f", "null", "-"], capture_output=True, text=True).stderr
    assert float(ssim.split("All:")[1].split()[0]) > 0.98, ssim[-300:]


@pytest.mark.parametrize("rotated", [False, True])
def test_shared_downscale_writes_the_same_renditions_as_separate_runs(tmp_path, rotated):
    """From a source larger than every rendition, the combined run scales each frame once (to 1280x720 here)
    and both renditions start from that: same facts as separate runs from the full frame, and the same
    pictures (SSIM against the separate run's file). A phone clip stored 1080x1920 with a 90 degree display
    matrix is rotated before the shared scale, like every other graph's input."""
    src = make_clip(tmp_path / "big.mp4", seconds=0.5, size="1080x1920" if rotated else "1920x1080", rate=24)
    if rotated:
        turned = tmp_path / "turned.mp4"
        subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-display_rotation:v:0", "90", "-i", str(src), "-c",
                        "copy", str(turned)], check=True)
        src = turned
    info = probe(str(src))
    assert (info.video.display_width, info.video.display_height) == (1920, 1080)
    wanted = ["landscape_720p", "vertical_9x16"]
    exe = ffmpeg()
    for p in wanted:
        subprocess.run(presets.build_video_command(exe, p, info, str(src), str(tmp_path / f"alone-{p}.mp4"),
                                                   max_seconds=600), check=True, stdout=subprocess.DEVNULL)
    outs = [combined.VideoOutput(p, str(tmp_path / f"together-{p}.mp4")) for p in wanted]
    cmd = combined.build_combined_command(exe, info, str(src), outs, max_seconds=600, cpus=2)
    assert "[0:v:0]scale=1280:720,setsar=1,split=2[sv0][sv1]" in cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    for p in wanted:
        alone, together = tmp_path / f"alone-{p}.mp4", tmp_path / f"together-{p}.mp4"
        facts = _facts(together)
        assert facts["faststart"] and facts["audio"] == ("aac", 48000, "stereo")
        _same(_facts(alone), facts)
        ssim = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(alone), "-i", str(together), "-lavfi",
                               "[0:v][1:v]ssim", "-f", "null", "-"], capture_output=True, text=True).stderr
        assert float(ssim.split("All:")[1].split()[0]) > 0.98, ssim[-300:]


def test_shared_downscale_run_reports_progress_and_stops_on_request(tmp_path):
    """The worker's control of a combined run (progress from `-progress`, a cancel that stops ffmpeg) works the
    same when the renditions' graphs read a shared downscale."""
    from media_support import ffmpeg_processes_using

    from shared.media.ffmpeg.process import FfmpegStopped, run_ffmpeg

    short = make_clip(tmp_path / "short.mp4", seconds=0.5, size="1920x1080", rate=24)
    src = tmp_path / "long.mp4"  # 10.5 s without encoding it: the same half second, copied 21 times
    subprocess.run([ffmpeg(), "-loglevel", "error", "-y", "-stream_loop", "20", "-i", str(short), "-c", "copy",
                    str(src)], check=True)
    info = probe(str(src))
    outs = [combined.VideoOutput(p, str(tmp_path / f"{p}.mp4")) for p in ("landscape_720p", "vertical_9x16")]
    cmd = combined.build_combined_command(ffmpeg(), info, str(src), outs, max_seconds=600, cpus=2)
    assert combined.shared_frame_size(info, outs) == (1280, 720)
    seen: list[float] = []

    def control(percent, _parser):
        seen.append(percent)
        return "cancelled" if 0 < percent < 100 else None

    with pytest.raises(FfmpegStopped) as stopped:
        run_ffmpeg(cmd, duration=info.duration, timeout=120, stderr_path=str(tmp_path / "err.log"),
                   control=control, tick=0.1)
    assert stopped.value.reason == "cancelled" and 0 < seen[-1] < 100
    assert ffmpeg_processes_using(str(tmp_path)) == []


def _mean_luma(path) -> float:
    gray = subprocess.run([ffmpeg(), "-loglevel", "error", "-i", str(path), "-vf", "scale=32:18,format=gray",
                           "-f", "rawvideo", "pipe:1"], check=True, capture_output=True).stdout
    return sum(gray) / len(gray)


# --- pure rules ------------------------------------------------------------------------------------------

def _info(audio: bool = True) -> MediaInfo:
    from shared.media.ffmpeg.probe import AudioStream

    return MediaInfo("mp4", 10.0, 1000, VideoStream("h264", 1920, 1080, 24.0, "yuv420p", 8),
                     AudioStream("aac", 48000, "stereo") if audio else None)


def test_combined_command_keeps_each_output_apart():
    outs = [combined.VideoOutput("vertical_9x16", "/w/v.mp4"), combined.VideoOutput("vertical_9x16", "/w/v2.mp4",
                                                                                 {"verticalMode": "blur"}),
            combined.VideoOutput("landscape_720p", "/w/l.mp4")]
    cmd = combined.build_combined_command("ffmpeg", _info(), "/w/src.mp4", outs,
                                          combined.ThumbnailOutput((1.0, 2.5), "/w/t"), cpus=2)
    graphs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-filter_complex"]
    # the shared 1280x720 downscale, then one graph per rendition reading its own pad of it
    assert graphs[0] == "[0:v:0]scale=1280:720,setsar=1,split=3[sv0][sv1][sv2]"
    assert [(g[:5], g.rsplit("[", 1)[-1]) for g in graphs[1:4]] == [("[sv0]", "v0]"), ("[sv1]", "v1]"),
                                                                    ("[sv2]", "v2]")]
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "-f" and cmd[i + 2].endswith(".mp4")] == ["mp4"] * 3
    assert cmd.count("-threads:v") == 3 and cmd[cmd.index("-threads:v") + 1] == "1"  # 2 cores, 3 encoders
    assert cmd.count("-progress") == 1 and cmd.index("-progress") < cmd.index("-i")
    assert "gte(t,2.500)" in graphs[4] and cmd.count("-frames:v") == 4  # 2 candidates: JPEG + grey sample each
    with pytest.raises(ValueError):
        combined.build_combined_command("ffmpeg", _info(), "/w/src.mp4", [])


def _sized(w: int, h: int, rotation: int = 0) -> MediaInfo:
    return MediaInfo("mp4", 10.0, 1000, VideoStream("h264", w, h, 24.0, "yuv420p", 8, rotation), None)


@pytest.mark.parametrize("size, wanted, options, shared", [
    ((3840, 2160), ["landscape_1080p", "vertical_9x16", "square_1x1"], {}, (1920, 1080)),
    ((3840, 2160), ["landscape_720p", "vertical_9x16"], {}, (1280, 720)),  # blur: its foreground is small
    ((3840, 2160), ["landscape_720p", "vertical_9x16"], {"verticalMode": "crop"}, None),  # 1920 of 2160 rows
    ((3840, 2160), ["landscape_1080p", "portrait_3x4"], {}, (2560, 1440)),  # 3:4 keeps 1440 of 2160 rows
    ((2160, 3840, 90), ["landscape_1080p", "square_1x1"], {}, (1920, 1080)),  # planned on the displayed size
    ((1920, 1080), ["landscape_1080p", "vertical_9x16", "square_1x1"], {}, None),  # 1080p needs full frames
    ((1920, 1080), ["landscape_720p", "vertical_9x16"], {}, (1280, 720)),
    ((1920, 1080), ["landscape_720p", "square_1x1"], {}, None),
    ((3840, 2160), ["landscape_1080p"], {}, None),                      # one rendition: nothing to share
    ((1000, 3000), ["landscape_720p", "vertical_9x16"], {}, None),      # the blur box follows the frame's width
])
def test_shared_downscale_only_when_every_rendition_plans_the_same(size, wanted, options, shared):
    outs = [combined.VideoOutput(p, f"/w/{p}.mp4", options) for p in wanted]
    assert combined.shared_frame_size(_sized(*size), outs) == shared


@pytest.mark.parametrize("wanted, cap, runs", [
    (["landscape_1080p"], 3, [["landscape_1080p"]]),
    (["thumbnail"], 3, [["thumbnail"]]),
    (["landscape_1080p", "vertical_9x16", "square_1x1", "thumbnail"], 3,
     [["landscape_1080p", "vertical_9x16", "square_1x1", "thumbnail"]]),
    (["landscape_1080p", "landscape_720p", "vertical_9x16", "portrait_3x4", "square_1x1", "thumbnail"], 3,
     [["landscape_1080p", "landscape_720p", "vertical_9x16", "thumbnail"], ["portrait_3x4", "square_1x1"]]),
    (["thumbnail", "square_1x1", "landscape_720p"], 1, [["square_1x1", "thumbnail"], ["landscape_720p"]]),
])
def test_plan_runs_bounds_outputs_per_decode(wanted, cap, runs):
    assert combined.plan_runs(wanted, cap) == runs


@pytest.mark.parametrize("outputs, cpus, threads", [(1, 2, None), (2, 2, 1), (3, 2, 1), (2, 8, 4), (3, 8, 2)])
def test_encoder_threads_share_the_cores(outputs, cpus, threads):
    assert combined.encoder_threads(outputs, cpus) == threads


@pytest.mark.parametrize("done, left, decision", [(0.1, 2, "restart"), (0.49, 1, "restart"), (0.5, 1, "continue"),
                                                  (0.9, 3, "continue"), (0.2, 0, "stop"), (0.9, 0, "stop")])
def test_cancel_in_a_shared_run(done, left, decision):
    from media_worker.pipeline import cancel_decision

    assert cancel_decision(done, left) == decision
