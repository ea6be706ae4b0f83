"""Facebook Page (Graph API, Page access token): text and link posts on /feed, one photo on /photos, several
photos uploaded unpublished then attached to one /feed post, video on /videos by file_url, image stories.
https://developers.facebook.com/docs/pages-api/posts , https://developers.facebook.com/docs/video-api/guides/publishing
"""

from __future__ import annotations

import json

from shared.config import get_config
from shared.publishing.adapters.base import (
    NotPublished, PostResult, PublishContext, graph_pages, post_text, text_key, window,
)


def _base() -> str:
    return get_config().meta_graph_base.rstrip("/")


def _url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


class FacebookAdapter:
    family = "facebook"

    def publish(self, ctx: PublishContext) -> PostResult:
        c, page = ctx.content, ctx.account.account_id
        message = post_text(ctx.target, c)  # photo posts have no link field: the caption carries it
        if ctx.target == "facebook_stories":
            photo = ctx.progress.get("photo_id") or str(ctx.http.json(
                "POST", f"{_base()}/{page}/photos", phase="prepare",
                data={"url": c.image_urls[0], "published": "false"})["id"])
            ctx.save(photo_id=photo, commit_sent=True, kind="story")
            res = ctx.http.json("POST", f"{_base()}/{page}/photo_stories", phase="commit", data={"photo_id": photo})
            post_id = str(res.get("post_id") or res.get("id"))
            return PostResult(post_id, _url(post_id))
        if c.video_url:
            ctx.save(commit_sent=True, kind="video", text_key=text_key(message))
            res = ctx.http.json("POST", f"{_base()}/{page}/videos", phase="commit",
                                data={"file_url": c.video_url, "description": message,
                                      **({"title": c.title} if c.title else {})})
            vid = str(res["id"])
            return PostResult(vid, f"https://www.facebook.com/{page}/videos/{vid}")
        if len(c.image_urls) == 1:
            ctx.save(commit_sent=True, kind="photo", text_key=text_key(message))
            res = ctx.http.json("POST", f"{_base()}/{page}/photos", phase="commit",
                                data={"url": c.image_urls[0], "caption": message})
            post_id = str(res.get("post_id") or res["id"])
            return PostResult(post_id, _url(post_id))
        data: dict = {"message": message}
        if c.image_urls:
            ids = list(ctx.progress.get("photo_ids") or [])
            if not ids:
                ids = [str(ctx.http.json("POST", f"{_base()}/{page}/photos", phase="prepare",
                                         data={"url": u, "published": "false"})["id"]) for u in c.image_urls]
                ctx.save(photo_ids=ids)
            for i, pid in enumerate(ids):
                data[f"attached_media[{i}]"] = json.dumps({"media_fbid": pid})
        elif c.link:
            data["link"] = c.link
        ctx.save(commit_sent=True, kind="feed", text_key=text_key(message))
        res = ctx.http.json("POST", f"{_base()}/{page}/feed", phase="commit", data=data)
        post_id = str(res["id"])
        return PostResult(post_id, _url(post_id))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the post request was never sent")
        page, kind, want = ctx.account.account_id, ctx.progress.get("kind"), ctx.progress.get("text_key")
        w = window(ctx.progress)
        since = {"since": str(int(w[0])), "until": str(int(w[1]))} if w else {}
        if kind == "story" or not want:
            return None
        if kind == "video":
            for v in graph_pages(ctx, f"{_base()}/{page}/videos",
                                 {"fields": "id,description", "limit": "50", **since}):
                if text_key(v.get("description")) == want:
                    return PostResult(str(v["id"]), f"https://www.facebook.com/{page}/videos/{v['id']}",
                                      {"settledBy": "lookup"})
            return None
        for p in graph_pages(ctx, f"{_base()}/{page}/published_posts",
                             {"fields": "id,message,created_time", "limit": "50", **since}):
            if text_key(p.get("message")) == want:
                return PostResult(str(p["id"]), _url(str(p["id"])), {"settledBy": "lookup"})
        return None


ADAPTER = FacebookAdapter()
