"""Threads: create a container (TEXT / IMAGE / VIDEO, or CAROUSEL of item containers), wait for video
containers to be FINISHED, then threads_publish. https://developers.facebook.com/documentation/threads/posts

Media is pulled by Threads from a public URL, so `image_urls` / `video_url` must be long-lived presigned URLs.
A container publishes at most once, and its status tells whether it was published: that settles lost answers.
"""

from __future__ import annotations

from shared.config import get_config
from shared.publishing.adapters.base import (
    NotPublished, PostResult, PublishContext, graph_pages, text_key, window,
)
from shared.publishing.engine.errors import BadContent


def _base() -> str:
    return get_config().threads_api_base.rstrip("/") + "/v1.0"


class ThreadsAdapter:
    family = "threads"

    def _container(self, ctx: PublishContext, params: dict) -> str:
        uid = ctx.account.account_id
        return str(ctx.http.json("POST", f"{_base()}/{uid}/threads", phase="prepare", params=params)["id"])

    def _wait(self, ctx: PublishContext, cid: str) -> None:
        def check():
            st = ctx.http.json("GET", f"{_base()}/{cid}", phase="prepare", params={"fields": "status,error_message"})
            status = st.get("status")
            if status in ("ERROR", "EXPIRED"):
                raise BadContent(f"Threads could not process the media: {st.get('error_message') or status}")
            return True if status in ("FINISHED", "PUBLISHED") else None
        ctx.poll(check, "Threads media container")

    def publish(self, ctx: PublishContext) -> PostResult:
        c = ctx.content
        text = c.text if not c.link or c.link in c.text else f"{c.text}\n{c.link}".strip()
        cid = ctx.progress.get("container_id")
        if not cid:
            if c.video_url:
                cid = self._container(ctx, {"media_type": "VIDEO", "video_url": c.video_url, "text": text})
            elif len(c.image_urls) > 1:
                children = [self._container(ctx, {"media_type": "IMAGE", "image_url": u, "is_carousel_item": "true"})
                            for u in c.image_urls]
                cid = self._container(ctx, {"media_type": "CAROUSEL", "children": ",".join(children), "text": text})
            elif c.image_urls:
                cid = self._container(ctx, {"media_type": "IMAGE", "image_url": c.image_urls[0], "text": text})
            else:
                cid = self._container(ctx, {"media_type": "TEXT", "text": text})
            # saved before waiting: a run that outlives its poll budget resumes with this container
            ctx.save(container_id=cid)
        if c.video_url or c.image_urls:
            self._wait(ctx, cid)
        ctx.save(commit_sent=True, text_key=text_key(text))
        res = ctx.http.json("POST", f"{_base()}/{ctx.account.account_id}/threads_publish", phase="commit",
                            params={"creation_id": cid})
        post_id = str(res["id"])
        return PostResult(post_id, self._permalink(ctx, post_id))

    def _permalink(self, ctx: PublishContext, post_id: str) -> str | None:
        try:
            return ctx.http.json("GET", f"{_base()}/{post_id}", phase="confirm",
                                 params={"fields": "permalink"}).get("permalink")
        except Exception:  # the post exists; a missing permalink must not turn it into a failure
            return None

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        cid = ctx.progress.get("container_id")
        if not ctx.progress.get("commit_sent") or not cid:
            return NotPublished("the publish request was never sent")
        st = ctx.http.json("GET", f"{_base()}/{cid}", phase="confirm", params={"fields": "status"})
        if st.get("status") in ("FINISHED", "ERROR", "EXPIRED"):
            return NotPublished(f"the container was not published (status {st.get('status')})")
        if st.get("status") != "PUBLISHED":
            return None
        w = window(ctx.progress)
        for post in graph_pages(ctx, f"{_base()}/{ctx.account.account_id}/threads",
                                {"fields": "id,text,permalink", "limit": "50",
                                 **({"since": str(int(w[0])), "until": str(int(w[1]))} if w else {})}):
            if text_key(post.get("text")) == ctx.progress.get("text_key"):
                return PostResult(str(post["id"]), post.get("permalink"), {"settledBy": "lookup"})
        return None


ADAPTER = ThreadsAdapter()
