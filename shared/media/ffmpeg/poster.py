"""Pick a poster frame that is not black or flat (fades, title cards on black are common in trailers). Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_MEAN_LUMA = 28.0   # 0-255; below this the frame reads as black
MIN_LUMA_STDEV = 10.0  # a frame with no contrast (solid colour, fade) makes a poor poster


@dataclass(frozen=True)
class FrameSample:
    at: float
    mean: float
    stdev: float

    @property
    def usable(self) -> bool:
        return self.mean >= MIN_MEAN_LUMA and self.stdev >= MIN_LUMA_STDEV


def frame_stats(at: float, gray: bytes) -> FrameSample:
    if not gray:
        return FrameSample(at, 0.0, 0.0)
    n = len(gray)
    mean = sum(gray) / n
    var = sum((b - mean) ** 2 for b in gray) / n
    return FrameSample(at, mean, math.sqrt(var))


def candidate_times(duration: float | None, count: int = 6) -> list[float]:
    """Spread over 10%-70% of the clip: trailers open and close on logos and black."""
    if not duration or duration <= 0:
        return [0.0]
    if duration < 1.0:
        return [0.0]
    return [round(duration * (0.1 + 0.6 * i / max(1, count - 1)), 3) for i in range(count)]


def choose_poster(samples: list[FrameSample]) -> FrameSample:
    """The first usable sample; if none is, the brightest one with the most contrast."""
    if not samples:
        raise ValueError("no frame samples")
    for s in samples:
        if s.usable:
            return s
    return max(samples, key=lambda s: (s.mean + s.stdev, -s.at))
