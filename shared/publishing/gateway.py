"""The one door every capability (RSS, TMDb, media) uses to publish. Its signature is the contract between
capabilities; what happens behind it belongs to the publishing engine.

This first version is the dry-run publisher: it validates nothing platform-specific and records what would
have been posted in the activity log, so the RSS pipeline can run end to end before the engine lands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

OutcomeStatus = Literal["published", "failed", "unconfirmed", "dry_run", "scheduled", "skipped"]


@dataclass(frozen=True)
class PublishRequest:
    idempotency_key: str  # stable per (content, platform), e.g. "rss:<feed_item_id>:x"
    platform: str  # normalised lower-case name: x, threads, facebook, instagram, instagram_reels, tiktok, ...
    content: dict[str, Any]  # the contract's content fields: text, title, link, imageUrls, videoUrl, ...
    source: str  # rss | tmdb | compose | media
    source_ref: str | None = None


@dataclass
class PublishOutcome:
    status: OutcomeStatus
    platform: str
    platform_post_id: str | None = None
    url: str | None = None
    error: str | None = None
    posted_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


def publish(request: PublishRequest) -> PublishOutcome:
    from shared import activity

    activity.log(request.source, "info", f"dry run: would post to {request.platform}",
                 {"idempotencyKey": request.idempotency_key, "platform": request.platform,
                  "text": (request.content.get("text") or "")[:500], "sourceRef": request.source_ref})
    return PublishOutcome(status="dry_run", platform=request.platform, posted_at=datetime.now(timezone.utc))
