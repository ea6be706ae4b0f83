"""Which planned publications may be pre-staged (pure).

Only posts published by one request after at most a few short preparation calls: X text/image posts,
Threads text/image posts, Facebook page text/link/photo posts, Pinterest image pins. Video and container flows
(Instagram, Threads and X video, TikTok, YouTube, Facebook stories) poll and checkpoint for minutes: they stay on
the database path, whose claim has a heartbeat in Postgres.

A stage carries the account's access token, so it must outlive the whole window in which the stage may be sent
(slot + grace) with a margin; likewise the presigned media URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TARGETS: tuple[str, ...] = ("x", "threads", "facebook", "facebook_feed", "pinterest")


@dataclass(frozen=True)
class Limits:
    grace_seconds: float
    token_margin_seconds: float
    media_url_ttl_seconds: float


def why_not(target: str, content: dict[str, Any], *, dry_run: bool, now: float, slot: float,
            token_expires_at: float | None, limits: Limits) -> str | None:
    """None when the publication may be staged; else why not (it stays on the database path)."""
    if dry_run:
        return "dry runs stay on the database path"
    if target not in TARGETS:
        return f"{target} publishes through a container or polling flow"
    if content.get("videoUrl") or content.get("videoUrls"):
        return "video posts poll for processing"
    if target == "pinterest" and not (content.get("imageUrl") or content.get("imageUrls")):
        return "a pin without an image"
    if slot <= now:
        return "already due"
    must_last_until = slot + limits.grace_seconds
    if token_expires_at is not None and token_expires_at < must_last_until + limits.token_margin_seconds:
        return "the access token expires before the slot (plus grace and margin)"
    if now + limits.media_url_ttl_seconds < must_last_until:
        return "presigned media URLs would expire before the slot"
    return None
