"""What validation looks at: the post to make and the facts known about its media (unknown facts are None)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class MediaFacts:
    kind: Literal["image", "video"]
    url: str
    mime: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None

    @property
    def aspect(self) -> float | None:
        if self.width and self.height:
            return self.width / self.height
        return None


@dataclass(frozen=True)
class PostDraft:
    target: str  # normalised target, e.g. "instagram_reels"
    text: str = ""
    title: str | None = None
    link: str | None = None
    images: tuple[MediaFacts, ...] = ()
    video: MediaFacts | None = None
    extra_videos: tuple[MediaFacts, ...] = ()  # further videos of an Instagram carousel
    board_id: str | None = None  # Pinterest
    playlist_count: int = 0  # YouTube playlists the video goes into
    x_tier: str = "free"  # X access tier decides the video length cap


@dataclass(frozen=True)
class Violation:
    rule: str  # stable id, e.g. "x.text_length"
    message: str
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rule": self.rule, "message": self.message, **({"details": self.details} if self.details else {})}
