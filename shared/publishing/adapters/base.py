"""The interface every platform adapter implements, and the context the engine hands it.

An adapter follows its platform's documented request sequence and marks each request's phase:
`prepare` (uploads, containers: publishes nothing, safe to retry), `commit` (the one request that makes the
post public) and `confirm` (status polls after it). Before a commit it calls `ctx.checkpoint(commit_sent=True,
...)` with whatever id lets `lookup` find the post later, so a crash or a lost answer can be settled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.publishing.adapters.http import PlatformHttp
from shared.publishing.media.source import MediaSource


@dataclass(frozen=True)
class Account:
    platform: str
    account_id: str
    access_token: str
    username: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # decrypted extra secrets (page token ...)


@dataclass(frozen=True)
class Content:
    """The contract's content fields, resolved: media URLs are ones the platform (or we) can read."""

    text: str = ""
    title: str | None = None
    link: str | None = None
    image_urls: tuple[str, ...] = ()
    video_url: str | None = None
    video_urls: tuple[str, ...] = ()  # further videos of an Instagram carousel (videoUrls)
    video_duration_s: float | None = None  # videoDurationSeconds, when the pipeline knows it
    thumbnail_url: str | None = None  # youtubeThumbnailUrl / xThumbnailUrl / sharedThumbnailUrl
    description: str | None = None  # youtubeDescription or Pinterest description
    playlist_ids: tuple[str, ...] = ()
    board_id: str | None = None
    privacy: str | None = None  # YouTube privacyStatus / TikTok privacy_level
    tags: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # per-platform preferences (platformSettings)
    reply_to: str | None = None  # comment replies (shared/comments): the platform's id of the comment answered


@dataclass(frozen=True)
class PostResult:
    post_id: str
    url: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class PublishContext:
    target: str
    account: Account
    content: Content
    http: PlatformHttp
    progress: dict[str, Any]
    checkpoint: Callable[..., int | None]  # rows saved; 0 = our claim is gone
    poll_interval: float = 5.0
    poll_budget: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    # False for a checker (a take-over or a re-check): `lookup` must only read, never send or finish a post
    may_send: bool = True

    def media(self, url: str | None) -> MediaSource:
        if not url:  # validation refuses such a post first; an adapter must still not send a request without it
            from shared.publishing.engine.errors import BadContent

            raise BadContent("this post has no media file to upload")
        return MediaSource(url)

    def save(self, **values: Any) -> None:
        """Checkpoint progress. Before the post is sent, a save that finds our claim gone raises ClaimLost:
        the adapter must not send what another worker now owns. After it, the post is out and we go on to
        settle it (a true answer wins whoever holds the claim)."""
        if values.get("commit_sent") and "commit_at" not in values:
            values["commit_at"] = time.time()  # lets a look-up search a narrow time window
        already_sent = bool(self.progress.get("commit_sent"))
        saved = self.checkpoint(**values)
        if saved == 0 and not already_sent:
            from shared.publishing.engine.errors import ClaimLost

            raise ClaimLost("the claim on this publication was taken over; not sending")
        self.progress.update(values)

    def poll(self, check: Callable[[], Any | None], what: str) -> Any:
        """Call `check` until it returns a value; past the budget raise StillProcessing (settled later)."""
        from shared.publishing.engine.errors import StillProcessing

        deadline = time.monotonic() + self.poll_budget
        while True:
            value = check()
            if value is not None:
                return value
            if time.monotonic() >= deadline:
                raise StillProcessing(f"{what} is still processing; it will be checked again")
            self.sleep(self.poll_interval)


@dataclass(frozen=True)
class NotPublished:
    """Proof that no post can appear from this attempt: the platform's own final state says so (TikTok FAILED,
    a container in ERROR or EXPIRED, an upload session that is gone), or the publishing request was never sent.
    Never "not found (yet)": a post still processing, or a request of ours possibly still in flight, is unknown."""

    reason: str


Lookup = "PostResult | NotPublished | None"


def window(progress: dict[str, Any], before: float = 120, after: float = 900) -> tuple[float, float] | None:
    """The time range a post sent at `commit_at` can carry on the platform. `commit_by`, when known instead of
    the moment itself (a pre-staged post whose record was lost: sent at most by its slot's grace), widens it."""
    at = progress.get("commit_at")
    if not at:
        return None
    until = max(float(at), float(progress.get("commit_by") or at))
    return float(at) - before, until + after


def graph_pages(ctx: PublishContext, url: str, params: dict[str, str], pages: int = 5):
    """Items of a Graph-style listing (Meta, Threads), following `paging.cursors.after`."""
    params = dict(params)
    for _ in range(pages):
        res = ctx.http.json("GET", url, phase="confirm", params=params)
        yield from res.get("data") or []
        after = ((res.get("paging") or {}).get("cursors") or {}).get("after")
        if not after or not (res.get("paging") or {}).get("next"):
            return
        params["after"] = after


_LINK_IN_TEXT = ("x", "threads", "instagram", "instagram_feed", "instagram_reels")


def post_text(target: str, content) -> str:
    """The text a platform receives, built once for the adapter that sends it and the validation that checks it.

    Where a post has no separate link field (X, Threads, Instagram, Facebook photo posts) the link is appended to
    the text unless it is already there; YouTube and Pinterest carry a description of their own when given."""
    text, link = content.text, content.link
    if (target.startswith("youtube") or target == "pinterest") and content.description is not None:
        return content.description
    carries_link = target in _LINK_IN_TEXT or (target in ("facebook", "facebook_feed") and content.image_urls)
    if link and carries_link and link not in text:
        return f"{text}\n{link}".strip()
    return text


def graph_permalink(ctx: PublishContext, base: str, post_id: str) -> str | None:
    try:
        return ctx.http.json("GET", f"{base}/{post_id}", phase="confirm",
                             params={"fields": "permalink"}).get("permalink")
    except Exception:  # the post exists; a missing permalink must not turn it into a failure
        return None


def wait_for_container(ctx: PublishContext, *, base: str, container_id: str, status_field: str,
                       detail_field: str, label: str) -> None:
    """Poll a Meta-style media container (Instagram, Threads) until the platform has processed its media."""
    from shared.publishing.engine.errors import BadContent

    def check():
        st = ctx.http.json("GET", f"{base}/{container_id}", phase="prepare",
                           params={"fields": f"{status_field},{detail_field}"})
        status = st.get(status_field)
        if status in ("ERROR", "EXPIRED"):
            raise BadContent(f"{label} could not process the media: {st.get(detail_field) or status}")
        return True if status in ("FINISHED", "PUBLISHED") else None

    ctx.poll(check, f"{label} media container")


def container_lookup(ctx: PublishContext, *, base: str, status_field: str, listing_url: str,
                     listing_params: dict[str, str], text_field: str) -> PostResult | NotPublished | None:
    """Settle a Meta-style container publish (Instagram, Threads) whose answer was lost.

    ERROR or EXPIRED: the container can no longer be published, so nothing was posted. PUBLISHED: find the post
    in the account's listing by its text. FINISHED is ambiguous once the publish call was sent (the platform may
    not have flipped it yet), so it is left unsettled rather than declared safe to post again."""
    cid = ctx.progress.get("container_id")
    if not ctx.progress.get("commit_sent"):
        return NotPublished("the publish request was never sent")
    if not cid:
        return None  # nothing to ask about; only the listing could tell, and a miss there proves nothing
    status = ctx.http.json("GET", f"{base}/{cid}", phase="confirm", params={"fields": status_field}).get(status_field)
    if status in ("ERROR", "EXPIRED"):
        return NotPublished(f"the container was not published (status {status})")
    if status != "PUBLISHED":
        return None
    for post in graph_pages(ctx, listing_url, listing_params):
        if text_key(post.get(text_field)) == ctx.progress.get("text_key"):
            return PostResult(str(post["id"]), post.get("permalink"), {"settledBy": "lookup"})
    return None


def text_key(text: str | None) -> str:
    """Text compared when looking a post up: platforms rewrite links (t.co) and trim whitespace."""
    import re

    t = re.sub(r"https?://\S+", "", text or "")
    return " ".join(t.split())[:120].lower()


class Adapter(Protocol):
    family: str

    def publish(self, ctx: PublishContext) -> PostResult: ...

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        """Settle a publication whose outcome is unknown, from `ctx.progress`. Three answers: the post
        (found), NotPublished (proven absent: see its rule), None (unknown: re-checked later). May raise
        StillProcessing (the platform is working on it) or a PublishError (unknown). Sends confirm-phase
        requests only, and finishes nothing unless `ctx.may_send`."""
        ...
