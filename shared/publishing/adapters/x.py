"""X (API v2): media by the chunked upload `POST /2/media/upload/initialize` (JSON) -> `POST
/2/media/upload/{id}/append` (multipart, ordered segments) -> `POST /2/media/upload/{id}/finalize` -> status
(`GET /2/media/upload?media_id=`), then the post.

https://docs.x.com/x-api/media/quickstart/media-upload-chunked , X API v2 OpenAPI 2.167 (operations
initializeMediaUpload, appendMediaUpload, finalizeMediaUpload, getMediaUploadStatus, createPosts). The old form
(`POST /2/media/upload` with command=INIT|APPEND|FINALIZE) is not in the description: that endpoint is the
one-shot upload and requires `media` + `media_category`. Images use the same chunked flow (category
tweet_image) so there is one upload path. APPEND segments are at most 5 MB and indexed from 0.
A lost answer to POST /2/tweets is settled by reading the account's latest posts (a duplicate-content 403 on a
blind retry would say nothing useful: field-notes §7).
"""

from __future__ import annotations

from datetime import datetime, timezone

from shared.config import get_config
from shared.publishing.adapters.base import NotPublished, PostResult, PublishContext, post_text, text_key, window
from shared.publishing.engine.errors import BadContent

SEGMENT_BYTES = 4 * 1024 * 1024  # under the 5 MB APPEND limit
LOOKUP_PAGES = 5  # 500 posts around the commit time: more than a single creator posts in the window


def _base() -> str:
    return get_config().x_api_base.rstrip("/")


def _media_id(body: dict) -> str:
    data = body.get("data") or body
    return str(data.get("id") or data.get("media_id_string") or data.get("media_id"))


def _processing(body: dict) -> dict | None:
    data = body.get("data") or body
    return data.get("processing_info")


class XAdapter:
    family = "x"

    def upload(self, ctx: PublishContext, url: str, category: str) -> str:
        src = ctx.media(url)
        total, mime = src.size, src.content_type or ("video/mp4" if "video" in category else "image/jpeg")
        endpoint = f"{_base()}/2/media/upload"
        init = ctx.http.json("POST", f"{endpoint}/initialize", phase="prepare", json={
            "total_bytes": total, "media_type": mime, "media_category": category})
        media_id = _media_id(init)
        for index, chunk in enumerate(src.chunks(SEGMENT_BYTES)):
            ctx.http.send("POST", f"{endpoint}/{media_id}/append", phase="prepare",
                          data={"segment_index": str(index)},
                          files={"media": ("blob", chunk, "application/octet-stream")})
        fin = ctx.http.json("POST", f"{endpoint}/{media_id}/finalize", phase="prepare")
        if _processing(fin):
            # saved before polling: a run that outlives its budget resumes here instead of uploading again
            ctx.save(processing_media_id=media_id)
            self.wait_processed(ctx, media_id)
        return media_id

    def wait_processed(self, ctx: PublishContext, media_id: str) -> None:
        endpoint = f"{_base()}/2/media/upload"

        def check():
            st = ctx.http.json("GET", endpoint, phase="prepare", params={"media_id": media_id})
            pi = _processing(st) or {"state": "succeeded"}
            if pi.get("state") == "failed":
                err = pi.get("error") or {}
                raise BadContent(f"X could not process the media: {err.get('message') or err.get('name') or 'failed'}")
            return True if pi.get("state") == "succeeded" else None
        ctx.poll(check, "X media processing")

    def publish(self, ctx: PublishContext) -> PostResult:
        c = ctx.content
        media_ids = list(ctx.progress.get("media_ids") or [])
        if not media_ids and c.video_url and ctx.progress.get("processing_media_id"):
            self.wait_processed(ctx, ctx.progress["processing_media_id"])
            media_ids = [ctx.progress["processing_media_id"]]
            ctx.save(media_ids=media_ids)
        if not media_ids:
            if c.video_url:
                media_ids = [self.upload(ctx, c.video_url, "amplify_video")]
            else:
                media_ids = [self.upload(ctx, u, "tweet_image") for u in c.image_urls]
            if media_ids:
                ctx.save(media_ids=media_ids)
        text = post_text(ctx.target, c)
        body: dict = {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        ctx.save(commit_sent=True, text_key=text_key(text))
        res = ctx.http.json("POST", f"{_base()}/2/tweets", phase="commit", json=body)
        post_id = str(res["data"]["id"])
        return PostResult(post_id, self.post_url(ctx, post_id))

    def post_url(self, ctx: PublishContext, post_id: str) -> str:
        user = ctx.account.username or "i/web"
        return f"https://x.com/{user}/status/{post_id}"

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the post request was never sent")
        params = {"max_results": "100", "tweet.fields": "created_at"}
        w = window(ctx.progress)
        if w:
            iso = lambda t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
            params["start_time"] = iso(w[0])
            if w[1] < datetime.now(timezone.utc).timestamp() - 10:  # X wants end_time >= 10 s in the past
                params["end_time"] = iso(w[1])
        want = ctx.progress.get("text_key")
        for _ in range(LOOKUP_PAGES):
            res = ctx.http.json("GET", f"{_base()}/2/users/{ctx.account.account_id}/tweets", phase="confirm",
                                params=params)
            for tweet in res.get("data") or []:
                if want and text_key(tweet.get("text")) == want:
                    return PostResult(str(tweet["id"]), self.post_url(ctx, str(tweet["id"])),
                                      {"settledBy": "lookup"})
            token = (res.get("meta") or {}).get("next_token")
            if not token:
                break
            params["pagination_token"] = token
        return None


ADAPTER = XAdapter()
