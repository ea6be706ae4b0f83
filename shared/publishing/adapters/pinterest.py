"""Pinterest API v5: a pin on a board, with title, description and link, from an image URL, or from a video
registered with POST /v5/media, uploaded to the returned URL with its form parameters, and polled until
`succeeded`. https://developers.pinterest.com/docs/api/v5/pins-create , .../media-create
"""

from __future__ import annotations

from shared.config import get_config
from shared.publishing.adapters.base import Content, NotPublished, PostResult, PublishContext, text_key
from shared.publishing.engine.errors import BadContent


def _base() -> str:
    return get_config().pinterest_api_base.rstrip("/")


def _url(pin_id: str) -> str:
    return f"https://www.pinterest.com/pin/{pin_id}/"


def default_board(ctx: PublishContext) -> str | None:
    """No board chosen: the one remembered on the connection, else the account's first board (remembered)."""
    board = ctx.account.metadata.get("defaultBoardId")
    if board:
        return str(board)
    res = ctx.http.json("GET", f"{_base()}/v5/boards", phase="prepare", params={"page_size": "1"})
    items = res.get("items") or []
    if not items:
        return None
    from shared.publishing.connections import store

    store.merge_metadata("pinterest", {"defaultBoardId": items[0]["id"]})
    return str(items[0]["id"])


class PinterestAdapter:
    family = "pinterest"

    def _upload_video(self, ctx: PublishContext, url: str) -> str:
        media_id = ctx.progress.get("media_id")
        if not media_id:
            reg = ctx.http.json("POST", f"{_base()}/v5/media", phase="prepare", json={"media_type": "video"})
            media_id = str(reg["media_id"])
            src = ctx.media(url)
            ctx.http.send("POST", reg["upload_url"], phase="prepare", auth=False,
                          data=reg.get("upload_parameters") or {},
                          files={"file": ("video.mp4", src.as_file(), src.content_type or "video/mp4")})
            ctx.save(media_id=media_id)

        def check():
            st = ctx.http.json("GET", f"{_base()}/v5/media/{media_id}", phase="prepare")
            if st.get("status") == "failed":
                raise BadContent("Pinterest could not process the video")
            return True if st.get("status") == "succeeded" else None
        ctx.poll(check, "Pinterest video")
        return media_id

    def publish(self, ctx: PublishContext) -> PostResult:
        c = ctx.content
        body: dict = {"board_id": c.board_id, "title": (c.title or "")[:100] or None,
                      "description": (c.description if c.description is not None else c.text)[:800]}
        if c.link:
            body["link"] = c.link
        if c.video_url:
            media_id = self._upload_video(ctx, c.video_url)
            cover = c.thumbnail_url or (c.image_urls[0] if c.image_urls else None)
            body["media_source"] = {"source_type": "video_id", "media_id": media_id,
                                    **({"cover_image_url": cover} if cover else {})}
        else:
            body["media_source"] = {"source_type": "image_url", "url": c.image_urls[0]}
        body = {k: v for k, v in body.items() if v is not None}
        ctx.save(commit_sent=True, text_key=text_key(pin_text(c)))
        res = ctx.http.json("POST", f"{_base()}/v5/pins", phase="commit", json=body)
        return PostResult(str(res["id"]), _url(str(res["id"])))

    def lookup(self, ctx: PublishContext) -> PostResult | NotPublished | None:
        if not ctx.progress.get("commit_sent"):
            return NotPublished("the pin request was never sent")
        board = ctx.content.board_id
        if not board:
            return None
        res = ctx.http.json("GET", f"{_base()}/v5/boards/{board}/pins", phase="confirm", params={"page_size": "100"})
        for pin in res.get("items") or []:
            if text_key(pin.get("title") or pin.get("description")) == ctx.progress.get("text_key"):
                return PostResult(str(pin["id"]), _url(str(pin["id"])), {"settledBy": "lookup"})
        return None


def pin_text(c: Content) -> str:
    """The text a pin is found by in a look-up: its title as sent, else its description as sent."""
    return (c.title or "")[:100] or (c.description if c.description is not None else c.text)[:800]


ADAPTER = PinterestAdapter()
