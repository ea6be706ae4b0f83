"""Parse ffmpeg's `-progress pipe:1` stream (key=value lines, a block ending in `progress=continue|end`).

`out_time_us` is the position written so far; with the source duration it gives a percentage. (ffmpeg's
`out_time_ms` is also microseconds, a long-standing naming bug, so it is only a fallback.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProgressParser:
    duration: float | None
    out_seconds: float = 0.0
    speed: float | None = None
    ended: bool = False

    def feed(self, line: str) -> float | None:
        """Consume one line; return the percentage (0-100) when a block completes, else None."""
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        value = value.strip()
        if key in ("out_time_us", "out_time_ms"):
            try:
                micro = int(value)
            except ValueError:
                return None
            if micro >= 0:
                self.out_seconds = max(self.out_seconds, micro / 1_000_000)
        elif key == "speed":
            try:
                self.speed = float(value.rstrip("x"))
            except ValueError:
                self.speed = None
        elif key == "progress":
            if value == "end":
                self.ended = True
                return 100.0
            return self.percent
        return None

    @property
    def percent(self) -> float:
        if self.ended:
            return 100.0
        if not self.duration or self.duration <= 0:
            return 0.0
        return max(0.0, min(99.9, 100.0 * self.out_seconds / self.duration))
