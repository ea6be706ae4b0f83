"""Instagram (Graph API, business account): read content_publishing_limit, create a container from a public
media URL (image, REELS or STORIES; or a CAROUSEL: one item container per image or video with
is_carousel_item=true, then the carousel container with `children`), poll its status_code until FINISHED, then
media_publish. https://developers.facebook.com/docs/instagram-platform/content-publishing/ (#carousel-posts)
"""

from __future__ import annotations

import time

from shared.publishing.adapters.base import (
    NotPublished,
    PostResult,
    PublishContext,
    container_lookup,
    graph_permalink,
    post_text,
    text_key,
    wait_for_container,
)
from shared.publishing.engine.errors import RateLimitedError


def _base() -> str:
    from shared.publishing.connections.graph_version import graph_url

    return graph_url()


def carousel_items(target: str, c) -> list[tuple[str, str]]:
    """(kind, url) of a feed post's carousel: 2 to 10 images and/or videos (one item is a single post)."""
    if target not in ("instagram", "instagram_feed"):
        return []
    items = [("image", u) for u in c.image_urls] + [("video", u) for u in ((c.video_url,) if c.video_url else ())
                                                     + tuple(c.video_urls)]
    return items if len(items) >= 2 else []


class InstagramAdapter:
    family = "instagram"

    def _check_quota(self, ctx: PublishContext) -> None:
        uid = ctx.account.account_id
        res = ctx.http.json("GET", f"{_base()}/{uid}/content_publishing_limit", phase="prepare",
                            params={"fields": "config,quota_usage"})
        data = (res.get("data") or [{}])[0]
        used = data.get("quota_usage")
        total = (data.get("config") or {}).get("quota_total")
        if used is not None and total is not None and used >= total:
            # the window is a rolling 24 h; check again in an hour rather than guessing the exact reset
            raise RateLimitedError(f"Instagram publishing limit reached ({used}/{total} in 24 h)",
                                   reset_at=time.time() + 3600, scope="account")

    def publish(self, ctx: PublishContext) -> PostResult:
        c, uid = ctx.content, ctx.account.account_id
        caption = post_text(ctx.target, c)
        self._check_quota(ctx)
        cid = ctx.progress.get("container_id")
        items = carousel_items(ctx.target, c)
        if not cid and items:
            cid = self._carousel(ctx, items, caption)
        if not cid:
            params: dict = {}
            if ctx.target == "instagram_stories":
                params["media_type"] = "STORIES"
                params["video_url" if c.video_url else "image_url"] = c.video_url or c.image_urls[0]
            elif c.video_url:
                params.update(media_type="REELS", video_url=c.video_url, caption=caption,
                              share_to_feed=str(bool(c.options.get("shareReelsToFeed", True))).lower())
                if c.thumbnail_url:
                    params["cover_url"] = c.thumbnail_url
            else:
                params.update(image_url=c.image_urls[0], caption=caption)
            cid = str(ctx.http.json("POST", f"{_base()}/{uid}/media", phase="prepare", params=params)["id"])
            ctx.save(container_id=cid)

        wait_for_container(ctx, base=_base(), container_id=cid, status_field="status_code", detail_field="status",
                           label="Instagram")
        ctx.save(commit_sent=True, text_key=text_key(caption))
        res = ctx.http.json("POST", f"{_base()}/{uid}/media_publish", phase="commit", params={"creation_id": cid})
        post_id = str(res["id"])
        return PostResult(post_id, graph_permalink(ctx, _base(), post_id))

    def _carousel(self, ctx: PublishContext, items: list[tuple[str, str]], caption: str) -> str:
        """Item containers (kept in the checkpoint, so a later run does not create them again), then the carousel
        container. Video items must finish processing before the carousel can be published."""
        uid = ctx.account.account_id
        children = list(ctx.progress.get("carousel_children") or [])
        for kind, url in items[len(children):]:
            params = {"is_carousel_item": "true",
                      **({"media_type": "VIDEO", "video_url": url} if kind == "video" else {"image_url": url})}
            children.append(str(ctx.http.json("POST", f"{_base()}/{uid}/media", phase="prepare",
                                              params=params)["id"]))
            ctx.save(carousel_children=children)
        for child, (kind, _) in zip(children, items):
            if kind == "video":
                wait_for_container(ctx, base=_base(), container_id=child, status_field="status_code",
                                   detail_field="status", label="Instagram")
        cid = str(ctx.http.json("POST", f"{_base()}/{uid}/media", phase="prepare",
                                params={"media_type": "CAROUSEL", "children": ",".join(children),
                                        "caption": caption})["id"])
        ctx.save(container_id=cid)
        return cid

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        return container_lookup(ctx, base=_base(), status_field="status_code",
                                listing_url=f"{_base()}/{ctx.account.account_id}/media",
                                listing_params={"fields": "id,caption,permalink", "limit": "50"},
                                text_field="caption")


ADAPTER = InstagramAdapter()
