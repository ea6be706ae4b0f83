"""Threads: create a container (TEXT / IMAGE / VIDEO, or CAROUSEL of item containers), wait for video
containers to be FINISHED, then threads_publish. https://developers.facebook.com/documentation/threads/posts

Media is pulled by Threads from a public URL, so `image_urls` / `video_url` must be long-lived presigned URLs.
A container publishes at most once, and its status tells whether it was published: that settles lost answers.
"""

from __future__ import annotations

from shared.config import get_config
from shared.publishing.adapters.base import (
    NotPublished,
    PostResult,
    PublishContext,
    container_lookup,
    graph_permalink,
    post_text,
    text_key,
    wait_for_container,
    window,
)


def _base() -> str:
    return get_config().threads_api_base.rstrip("/") + "/v1.0"


class ThreadsAdapter:
    family = "threads"

    def _container(self, ctx: PublishContext, params: dict) -> str:
        uid = ctx.account.account_id
        return str(ctx.http.json("POST", f"{_base()}/{uid}/threads", phase="prepare", params=params)["id"])

    def _wait(self, ctx: PublishContext, cid: str) -> None:
        wait_for_container(ctx, base=_base(), container_id=cid, status_field="status", detail_field="error_message",
                           label="Threads")

    def publish(self, ctx: PublishContext) -> PostResult:
        c = ctx.content
        text = post_text(ctx.target, c)
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
        return PostResult(post_id, graph_permalink(ctx, _base(), post_id))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        w = window(ctx.progress)
        return container_lookup(ctx, base=_base(), status_field="status",
                                listing_url=f"{_base()}/{ctx.account.account_id}/threads",
                                listing_params={"fields": "id,text,permalink", "limit": "50",
                                                **({"since": str(int(w[0])), "until": str(int(w[1]))} if w else {})},
                                text_field="text")


ADAPTER = ThreadsAdapter()
