"""Run one ffmpeg process under control: progress callbacks, a wall-clock timeout, and stop on request.

- stdout carries `-progress` lines (parsed in a reader thread); stderr goes to a file, never into memory.
- On Linux the child gets PR_SET_PDEATHSIG=SIGKILL: if the worker is killed (-9, OOM) its ffmpeg dies too,
  instead of running on as an orphan that still burns CPU and writes temp files.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from shared.media.ffmpeg.progress import ProgressParser


class FfmpegError(Exception):
    """ffmpeg exited with an error; `reason` is the last meaningful stderr line."""

    def __init__(self, reason: str, returncode: int | None):
        super().__init__(reason)
        self.reason = reason
        self.returncode = returncode


class FfmpegTimeout(FfmpegError):
    pass


class FfmpegStopped(Exception):
    """Stopped on purpose (cancel, shutdown, lost lease); `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def stderr_reason(path: str, limit: int = 4096) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return "ffmpeg failed"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "ffmpeg failed without a message"


def stop_process(proc: subprocess.Popen, grace: float = 3.0) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)  # ffmpeg finishes the current packet and exits
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_ffmpeg(cmd: list[str], *, duration: float | None, timeout: float, stderr_path: str,
               control: Callable[[float, ProgressParser], str | None] | None = None,
               tick: float = 0.25) -> ProgressParser:
    """Run `cmd`; every `tick` call control(percent, parser); a returned string stops ffmpeg with that reason."""
    parser = ProgressParser(duration)
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                preexec_fn=preexec, close_fds=True)
    started = time.monotonic()

    def read_progress() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            parser.feed(raw.decode("ascii", "replace"))

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    try:
        while True:
            try:
                proc.wait(timeout=tick)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - started > timeout:
                stop_process(proc)
                raise FfmpegTimeout(f"processing took longer than the {timeout:.0f} s limit", proc.returncode)
            if control is not None:
                reason = control(parser.percent, parser)
                if reason:
                    stop_process(proc)
                    raise FfmpegStopped(reason)
    finally:
        if proc.poll() is None:
            stop_process(proc)
        reader.join(timeout=2)
        if proc.stdout:
            proc.stdout.close()
    if proc.returncode != 0:
        raise FfmpegError(stderr_reason(stderr_path), proc.returncode)
    return parser


def run_capture(cmd: list[str], timeout: float = 30.0) -> bytes:
    """Short ffmpeg runs whose stdout is small (luma samples)."""
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                          preexec_fn=preexec)
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FfmpegError(tail[-1][:300] if tail else "ffmpeg failed", proc.returncode)
    return proc.stdout


