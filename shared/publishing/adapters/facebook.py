"""Facebook Page (Graph API, Page access token): text and link posts on /feed, one photo on /photos, several
photos (2-10) uploaded unpublished then attached to one /feed post (`attached_media`), image stories, and video
by the documented path: the Resumable Upload API (`POST /{app-id}/uploads` -> `POST upload:<id>` with
`file_offset`, user token) gives a file handle, published with `POST graph-video.facebook.com/{page}/videos`
`fbuploader_video_file_chunk=<handle>`.
https://developers.facebook.com/docs/pages-api/posts ,
https://developers.facebook.com/docs/video-api/guides/publishing ,
https://developers.facebook.com/docs/graph-api/guides/upload

The video is streamed from its source into the upload (one chunk in memory); an interrupted upload resumes from
the `file_offset` the session reports. The upload publishes nothing: only the /videos call is the commit.
"""

from __future__ import annotations

import json

from shared.config import get_config
from shared.publishing.adapters.base import (
    NotPublished,
    PostResult,
    PublishContext,
    graph_pages,
    post_text,
    text_key,
    window,
)
from shared.publishing.engine.errors import AuthFailed

UPLOAD_CHUNK = 4 * 1024 * 1024  # what the stream reads at a time; the upload itself is one request per resume


def _base() -> str:
    from shared.publishing.connections.graph_version import graph_url

    return graph_url()


def _video_base() -> str:
    from shared.publishing.connections.graph_version import graph_video_url

    return graph_video_url()


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
            handle = ctx.progress.get("video_handle") or self._upload_video(ctx, c.video_url)
            ctx.save(commit_sent=True, kind="video", text_key=text_key(message))
            res = ctx.http.json("POST", f"{_video_base()}/{page}/videos", phase="commit",
                                data={"fbuploader_video_file_chunk": handle, "description": message,
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

    def _upload_video(self, ctx: PublishContext, url: str) -> str:
        """Resumable Upload API: a session for the app, the bytes streamed from `file_offset`, a file handle."""
        user_token = (ctx.account.extra or {}).get("user_token")
        if not user_token:
            raise AuthFailed("Facebook video uploads need the user token of the connection: connect Facebook again")
        src = ctx.media(url)
        session = ctx.progress.get("upload_session")
        if not session:
            res = ctx.http.json("POST", f"{_base()}/{get_config().meta_client_id}/uploads", phase="prepare",
                                params={"file_name": "video.mp4", "file_length": str(src.size),
                                        "file_type": src.content_type or "video/mp4"},
                                headers={"Authorization": f"Bearer {user_token}"})
            session = str(res["id"])
            ctx.save(upload_session=session)
        auth = {"Authorization": f"OAuth {user_token}"}
        offset = 0
        if ctx.progress.get("upload_started"):
            # a run cut off mid-upload: ask the session how far it got and send only the rest
            st = ctx.http.json("GET", f"{_base()}/{session}", phase="prepare", headers=auth)
            if st.get("h"):
                return str(st["h"])
            offset = int(st.get("file_offset") or 0)
        ctx.save(upload_started=True)
        # one attempt: a stream cannot be replayed; an interrupted upload resumes from the session's offset
        res = ctx.http.json("POST", f"{_base()}/{session}", phase="prepare", attempts=1,
                            content=src.chunks(UPLOAD_CHUNK, start=offset),
                            headers={**auth, "file_offset": str(offset),
                                     "Content-Length": str(src.size - offset),
                                     "Content-Type": "application/octet-stream"})
        handle = str(res["h"])
        ctx.save(video_handle=handle)
        return handle

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
