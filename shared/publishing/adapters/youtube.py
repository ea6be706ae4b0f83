"""YouTube Data API v3: resumable upload (session URI from `Location`, chunks with Content-Range, 308 +
`Range` says what the server holds; after an interruption ask with `bytes */total` and resume from there),
then the custom thumbnail and playlist inserts. Privacy defaults to the owner's setting (private).
https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol

The upload's last chunk is what creates the video, so it is the commit; the session URI is checkpointed first,
and asking the session afterwards settles a lost answer exactly (complete -> the video; 308 -> not created).
"""

from __future__ import annotations

import re
import time

import httpx

from shared.config import get_config
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext
from shared.publishing.engine.errors import PublishError, TransientBeforeSend

MB = 1024 * 1024
CHUNK_BYTES = 8 * MB  # a multiple of 256 KiB, as the protocol requires for every chunk but the last
MAX_RESUMES = 5


def _base() -> str:
    return get_config().youtube_api_base.rstrip("/")


def _held(resp: httpx.Response) -> int:
    """Bytes the server holds, from a 308's `Range: bytes=0-N` (none -> 0)."""
    m = re.match(r"bytes=0-(\d+)", resp.headers.get("range", ""))
    return int(m.group(1)) + 1 if m else 0


class YouTubeAdapter:
    family = "youtube"

    def _start_session(self, ctx: PublishContext, size: int, mime: str) -> str:
        c = ctx.content
        privacy = c.privacy or c.options.get("defaultPrivacy") or "private"
        title = c.title or c.text[:100]
        if ctx.target == "youtube_shorts" and "#shorts" not in (title + (c.description or "")).lower():
            title = title if len(title) + 8 > 100 else f"{title} #Shorts"
        meta = {
            "snippet": {"title": title, "description": c.description if c.description is not None else c.text,
                        "tags": list(c.tags), "categoryId": str(c.options.get("defaultCategoryId", "24"))},
            "status": {"privacyStatus": privacy,
                       "selfDeclaredMadeForKids": bool(c.options.get("madeForKids", False))},
        }
        resp = ctx.http.send("POST", f"{_base()}/upload/youtube/v3/videos", phase="prepare",
                             params={"uploadType": "resumable", "part": "snippet,status",
                                     "notifySubscribers": str(bool(c.options.get("notifySubscribers", True))).lower()},
                             json=meta, headers={"X-Upload-Content-Length": str(size),
                                                 "X-Upload-Content-Type": mime})
        session = resp.headers.get("location")
        if not session:
            raise TransientBeforeSend("YouTube did not return an upload session")
        return session

    def _query(self, ctx: PublishContext, session: str, size: int) -> httpx.Response:
        return ctx.http.send("PUT", session, phase="confirm", ok_statuses=(308,), content=b"",
                             headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"})

    def _upload(self, ctx: PublishContext, session: str, src, size: int, mime: str) -> dict:
        offset = int(ctx.progress.get("uploaded_bytes") or 0)
        if offset:
            q = self._query(ctx, session, size)
            if q.status_code in (200, 201):
                return q.json()
            offset = _held(q)
        resumes = 0
        rounds = 0
        while True:
            rounds += 1
            if rounds > 2 * MAX_RESUMES + 2:
                raise TransientBeforeSend("the upload keeps stalling; it will be resumed later")
            try:
                for chunk in src.chunks(CHUNK_BYTES, start=offset):
                    end = offset + len(chunk) - 1
                    last = end + 1 >= size
                    if last:
                        ctx.save(commit_sent=True)
                    resp = ctx.http.send("PUT", session, phase="prepare", ok_statuses=(308,), content=chunk,
                                         attempts=1,
                                         headers={"Content-Type": mime, "Content-Length": str(len(chunk)),
                                                  "Content-Range": f"bytes {offset}-{end}/{size}"})
                    if resp.status_code in (200, 201):
                        return resp.json()
                    offset = _held(resp)
                    ctx.save(uploaded_bytes=offset)
                    if offset <= end:
                        break  # the server kept less than we sent: restart the stream from what it holds
                else:
                    q = self._query(ctx, session, size)
                    if q.status_code in (200, 201):
                        return q.json()
                    offset = _held(q)
                continue
            except TransientBeforeSend:
                # interrupted: ask the session what it holds and resume from there (never from zero)
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise
                ctx.sleep(min(30.0, ctx.http.retry_base * 2 ** resumes))
                q = self._query(ctx, session, size)
                if q.status_code in (200, 201):
                    return q.json()
                offset = _held(q)
                ctx.save(uploaded_bytes=offset)

    def publish(self, ctx: PublishContext) -> PostResult:
        c = ctx.content
        src = ctx.media(c.video_url)
        size, mime = src.size, src.content_type or "video/mp4"
        session = ctx.progress.get("upload_session")
        if not session:
            session = self._start_session(ctx, size, mime)
            ctx.save(upload_session=session, upload_size=size)
        video = self._upload(ctx, session, src, size, mime)
        vid = str(video["id"])
        ctx.save(video_id=vid)
        return self._after_upload(ctx, vid)

    def _after_upload(self, ctx: PublishContext, vid: str) -> PostResult:
        """Thumbnail and playlists: the video exists already, so their failures are warnings, not failures."""
        c, warnings = ctx.content, []
        if c.thumbnail_url and not ctx.progress.get("thumbnail_set"):
            try:
                img = ctx.media(c.thumbnail_url)
                data = img.read_all(limit=2 * MB)
                ctx.http.send("POST", f"{_base()}/upload/youtube/v3/thumbnails/set", phase="confirm",
                              params={"videoId": vid, "uploadType": "media"}, content=data,
                              headers={"Content-Type": img.content_type or "image/jpeg"})
                ctx.save(thumbnail_set=True)
            except PublishError as exc:
                warnings.append(f"thumbnail not set: {exc.message}")
        done = set(ctx.progress.get("playlists_done") or [])
        for pl in c.playlist_ids:
            if pl in done:
                continue
            try:
                ctx.http.send("POST", f"{_base()}/youtube/v3/playlistItems", phase="confirm",
                              params={"part": "snippet"},
                              json={"snippet": {"playlistId": pl,
                                                "resourceId": {"kind": "youtube#video", "videoId": vid}}})
                done.add(pl)
                ctx.save(playlists_done=sorted(done))
            except PublishError as exc:
                warnings.append(f"not added to playlist {pl}: {exc.message}")
        url = f"https://youtube.com/shorts/{vid}" if ctx.target == "youtube_shorts" else \
            f"https://www.youtube.com/watch?v={vid}"
        return PostResult(vid, url, {"warnings": warnings} if warnings else {})

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        """Ask the upload session. Complete -> the video. 308 (incomplete) after the last chunk went out is
        not proof: that chunk may still be arriving, and the session then creates the video, so it is unknown.
        A session that is gone (404/410) within its documented week expired or was cancelled without a video
        (a completed session answers with its video), so nothing can appear from it."""
        if ctx.progress.get("video_id"):
            return self._found(ctx, ctx.progress["video_id"])
        session, size = ctx.progress.get("upload_session"), ctx.progress.get("upload_size")
        if not session or not size:
            return None if ctx.progress.get("commit_sent") else NotPublished("the upload never started")
        try:
            q = self._query(ctx, session, int(size))
        except PublishError as exc:
            if exc.status in (404, 410) and _session_young(ctx.progress):
                return NotPublished(f"the upload session is gone ({exc.status}) and never created a video")
            raise
        if q.status_code in (200, 201):
            return self._found(ctx, str(q.json()["id"]))
        if not ctx.progress.get("commit_sent"):
            return NotPublished(f"the last chunk was never sent ({_held(q)} of {size} bytes): no video exists")
        return None  # the last chunk may still land: the session would then create the video

    def _found(self, ctx: PublishContext, vid: str) -> PostResult:
        """The video exists. Its sender finishes thumbnail and playlists; a checker only reports it."""
        if ctx.may_send:
            ctx.save(video_id=vid)
            return self._after_upload(ctx, vid)
        url = f"https://youtube.com/shorts/{vid}" if ctx.target == "youtube_shorts" else \
            f"https://www.youtube.com/watch?v={vid}"
        pending = bool(ctx.content.thumbnail_url and not ctx.progress.get("thumbnail_set")) or bool(
            set(ctx.content.playlist_ids) - set(ctx.progress.get("playlists_done") or []))
        warnings = [("found by a look-up after the upload was interrupted: thumbnail and playlists were not "
                    "applied")] if pending else []
        return PostResult(vid, url, {"warnings": warnings} if warnings else {})


SESSION_LIFETIME_SECONDS = 7 * 24 * 3600  # "resumable session URIs expire after one week"


def _session_young(progress: dict) -> bool:
    """Every session of this attempt was opened after the attempt started (`started_at`, set at its claim):
    if that was less than a week ago (with a day to spare), a 404 cannot be a completed session aging out."""
    started = progress.get("started_at")
    if not started:
        return False
    return time.time() - float(started) < SESSION_LIFETIME_SECONDS - 24 * 3600


ADAPTER = YouTubeAdapter()
