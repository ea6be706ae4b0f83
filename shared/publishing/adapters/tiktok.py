"""TikTok Content Posting API, direct post: creator_info first, then video/init with FILE_UPLOAD (ordered chunks
with Content-Range, streamed from the source) or PULL_FROM_URL, then status/fetch until PUBLISH_COMPLETE or FAILED.
https://developers.tiktok.com/doc/content-posting-api-reference-direct-post ,
https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide ,
https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info

creator_info, read before every post, decides: the privacy level (one of `privacy_level_options`; an app TikTok has
not audited may only post SELF_ONLY, so until TIKTOK_APP_AUDITED is set every post is SELF_ONLY and the result
says why), the longest video allowed (`max_video_post_duration_sec`: a longer video is refused before any byte is
uploaded) and the comment/duet/stitch switches the creator turned off in the app.

Source: FILE_UPLOAD by default. PULL_FROM_URL only works from a domain or URL prefix verified in TikTok's
developer portal (else `url_ownership_unverified`), so it is used only for media under TIKTOK_VERIFIED_MEDIA_DOMAIN.
Chunks: at least 5 MB and at most 64 MB each, the remainder folded into the last chunk (up to 128 MB); a file
under 5 MB is one chunk; at most 1,000 chunks; uploaded sequentially. Each chunk is streamed from the source as it
is sent: memory holds one read piece, never a chunk or the file.
"""

from __future__ import annotations

import math
from typing import Any

from shared.config import get_config
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext
from shared.publishing.engine.errors import BadContent, StillProcessing

MB = 1024 * 1024
PIECE = 1 * MB  # what one read of the source holds
UNAUDITED_NOTE = ("TikTok has not audited this app yet, so TikTok only accepts private posts: it was posted as "
                  "SELF_ONLY (only you can see it). Set TIKTOK_APP_AUDITED=true once TikTok has audited the app.")
CHUNK_BYTES = 10 * MB
MIN_CHUNK, MAX_CHUNK = 5 * MB, 64 * MB


def _base() -> str:
    return get_config().tiktok_api_base.rstrip("/")


def chunk_plan(size: int, preferred: int | None = None) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) as TikTok's media transfer guide requires (pure)."""
    preferred = preferred or CHUNK_BYTES
    if size < MIN_CHUNK:
        return size, 1
    chunk = max(MIN_CHUNK, min(MAX_CHUNK, preferred))
    count = size // chunk
    if count <= 1:
        return size, 1  # one chunk is the whole file (TikTok wants chunk_size == video_size then)
    if count > 1000:
        chunk = math.ceil(size / 1000)
        count = size // chunk
    return chunk, count


def _window(src, start: int, length: int):
    """`length` bytes of the source from `start`, read piece by piece as the request body is sent."""
    sent = 0
    for piece in src.chunks(PIECE, start=start):
        piece = piece[:length - sent]
        sent += len(piece)
        yield piece
        if sent >= length:
            return


def verified_for_pull(url: str | None) -> bool:
    """PULL_FROM_URL only for media under the domain / URL prefix verified in TikTok's developer portal."""
    from urllib.parse import urlparse

    verified = get_config().tiktok_verified_media_domain.strip()
    if not verified or not url:
        return False
    u = urlparse(url)
    if u.scheme != "https":
        return False
    if "://" in verified:
        return url.startswith(verified.rstrip("/") + "/")
    host = verified.lower().strip("/")
    return (u.hostname or "").lower() in (host,) or (u.hostname or "").lower().endswith("." + host)


class TikTokAdapter:
    family = "tiktok"

    def _creator_info(self, ctx: PublishContext) -> dict:
        return ctx.http.json("POST", f"{_base()}/v2/post/publish/creator_info/query/", phase="prepare",
                             json={})["data"]

    def _privacy(self, ctx: PublishContext, info: dict) -> tuple[str, list[str]]:
        c = ctx.content
        options = info.get("privacy_level_options") or []
        if not get_config().tiktok_app_audited:
            if options and "SELF_ONLY" not in options:
                raise BadContent("TikTok offers this account no private (SELF_ONLY) option, and an app TikTok has "
                                 "not audited may only post privately")
            wanted = c.privacy or c.options.get("privacyLevel")
            return "SELF_ONLY", ([UNAUDITED_NOTE] if wanted != "SELF_ONLY" else [])
        wanted = c.privacy or c.options.get("privacyLevel") or "PUBLIC_TO_EVERYONE"
        if options and wanted not in options:
            raise BadContent(f"TikTok does not allow privacy {wanted} for this account (allowed: "
                             f"{', '.join(options)})")
        return wanted, []

    def _check_duration(self, ctx: PublishContext, info: dict) -> None:
        cap, length = info.get("max_video_post_duration_sec"), ctx.content.video_duration_s
        if cap and not length:
            from shared.publishing.media.mp4 import duration_seconds

            length = duration_seconds(ctx.media(ctx.content.video_url))  # the file's own header, a few KB read
        if cap and length and length > float(cap):
            raise BadContent(f"the video is {length:.0f} s long; this TikTok account can post videos of at most "
                             f"{int(cap)} s (creator_info max_video_post_duration_sec). Trim it and post again.")

    def publish(self, ctx: PublishContext) -> PostResult:
        c = ctx.content
        publish_id = ctx.progress.get("publish_id")
        warnings = list(ctx.progress.get("warnings") or [])
        if not publish_id:
            info = self._creator_info(ctx)
            privacy, warnings = self._privacy(ctx, info)
            self._check_duration(ctx, info)
            post_info = {
                "title": (c.text or c.title or "")[:2200],
                "privacy_level": privacy,
                "disable_comment": bool(c.options.get("disableComments") or info.get("comment_disabled")),
                "disable_duet": bool(c.options.get("disableDuet") or info.get("duet_disabled")),
                "disable_stitch": bool(c.options.get("disableStitch") or info.get("stitch_disabled")),
            }
            pull = verified_for_pull(c.video_url)
            if pull:
                source: dict[str, Any] = {"source": "PULL_FROM_URL", "video_url": c.video_url}
                src = None
            else:
                src = ctx.media(c.video_url)
                chunk, count = chunk_plan(src.size)
                source = {"source": "FILE_UPLOAD", "video_size": src.size, "chunk_size": chunk,
                          "total_chunk_count": count}
            # with PULL_FROM_URL the init is what publishes; with FILE_UPLOAD it is the last chunk
            if pull:
                ctx.save(commit_sent=True, warnings=warnings)
            res = ctx.http.json("POST", f"{_base()}/v2/post/publish/video/init/",
                                phase="commit" if pull else "prepare",
                                json={"post_info": post_info, "source_info": source})["data"]
            publish_id = res["publish_id"]
            # a FILE_UPLOAD publish id is only worth resuming once every chunk is in; before that a new run
            # starts a new upload (the half-uploaded one publishes nothing and expires)
            ctx.save(upload_publish_id=publish_id, warnings=warnings)
            if src is not None:
                self._upload(ctx, src, res["upload_url"], chunk, count)
            ctx.save(publish_id=publish_id)
        result = self._settle(ctx, publish_id, wait=True)
        if warnings:
            return PostResult(result.post_id, result.url, {**result.details, "warnings": warnings,
                                                            "privacyLevel": "SELF_ONLY"})
        return result

    def _upload(self, ctx: PublishContext, src, upload_url: str, chunk: int, count: int) -> None:
        total = src.size
        for index in range(count):
            start = index * chunk
            length = chunk if index < count - 1 else total - start  # the last chunk takes the remainder
            end = start + length - 1
            last = index == count - 1
            if last:
                ctx.save(commit_sent=True)
            # streamed: a body cannot be replayed, so one attempt (a failed upload is started again later)
            ctx.http.send("PUT", upload_url, phase="commit" if last else "prepare", auth=False, attempts=1,
                          content=_window(src, start, length),
                          headers={"Content-Type": src.content_type or "video/mp4",
                                   "Content-Range": f"bytes {start}-{end}/{total}",
                                   "Content-Length": str(length)})

    def _status(self, ctx: PublishContext, publish_id: str) -> dict:
        return ctx.http.json("POST", f"{_base()}/v2/post/publish/status/fetch/", phase="confirm",
                             json={"publish_id": publish_id})["data"]

    def _result(self, ctx: PublishContext, publish_id: str, st: dict) -> PostResult:
        ids = st.get("publicaly_available_post_id") or st.get("publicly_available_post_id") or []
        post_id = str(ids[0]) if ids else publish_id
        user = ctx.account.username
        url = f"https://www.tiktok.com/@{user}/video/{ids[0]}" if ids and user else None
        return PostResult(post_id, url, {"publishId": publish_id})

    def _settle(self, ctx: PublishContext, publish_id: str, wait: bool) -> PostResult:
        def check():
            st = self._status(ctx, publish_id)
            if st.get("status") == "FAILED":
                raise BadContent(f"TikTok rejected the video: {st.get('fail_reason') or 'failed'}")
            if st.get("status") in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
                return self._result(ctx, publish_id, st)
            return None
        if wait:
            return ctx.poll(check, "TikTok post")
        value = check()
        if value is None:
            raise StillProcessing("TikTok is still processing the video")
        return value

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        """Only TikTok's FAILED proves nothing was posted. PROCESSING_UPLOAD after our last chunk went out is
        not proof: the chunk may still be arriving (a slow accept, a timed-out answer), and TikTok then
        publishes it; so it is "still processing", checked again later."""
        publish_id = ctx.progress.get("publish_id") or ctx.progress.get("upload_publish_id")
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the last chunk (or the pull request) was never sent, so TikTok has nothing to "
                                "publish")
        if not publish_id:
            return None  # a pull request whose answer was lost: no publish id to ask about
        try:
            return self._settle(ctx, publish_id, wait=False)
        except BadContent as exc:  # status FAILED: TikTok will not publish this upload
            return NotPublished(exc.message)


ADAPTER = TikTokAdapter()
