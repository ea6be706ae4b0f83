"""Turn the contract's content fields (frontend-contract §1.3) into what one target posts (pure).

Fields: text, title, link, imageUrl, imageUrls[], videoUrl, sharedThumbnailUrl, youtubeThumbnailUrl,
xThumbnailUrl, youtubeTitle, youtubeDescription, youtubePlaylistIds[]; plus boardId / description (Pinterest),
youtubePrivacy / tiktokPrivacy, and media facts from the pipeline (videoDurationSeconds, videoWidth,
videoHeight, videoSizeBytes, videoMimeType). `prefs` is this family's entry of the platformSettings setting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.publishing.adapters.base import Content


def _list(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,) if v.strip() else ()
    if isinstance(v, (list, tuple)):
        return tuple(str(x) for x in v if x)
    return ()


def resolve(target: str, raw: dict[str, Any], prefs: dict[str, Any],
            pull: Callable[[str | None], str | None] = lambda u: u) -> Content:
    images = _list(raw.get("imageUrls")) or _list(raw.get("imageUrl"))
    family_yt = target.startswith("youtube")
    title = raw.get("youtubeTitle") if family_yt and raw.get("youtubeTitle") else raw.get("title")
    if target == "pinterest":
        title = raw.get("pinterestTitle") or title
    thumb = None
    if family_yt:
        thumb = raw.get("youtubeThumbnailUrl") or raw.get("sharedThumbnailUrl")
    elif target in ("pinterest", "instagram_reels"):
        thumb = raw.get("sharedThumbnailUrl")
    description = None
    if family_yt:
        description = raw.get("youtubeDescription")
    elif target == "pinterest":
        description = raw.get("pinterestDescription") or raw.get("description")
    privacy = None
    if family_yt:
        privacy = raw.get("youtubePrivacy") or prefs.get("defaultPrivacy")
    elif target == "tiktok":
        privacy = raw.get("tiktokPrivacy") or prefs.get("privacyLevel")
    board = raw.get("boardId") or raw.get("pinterestBoardId") or prefs.get("defaultBoardId") \
        if target == "pinterest" else None
    text = raw.get("text") or ""
    return Content(
        text=str(text), title=str(title) if title else None, link=raw.get("link") or None,
        image_urls=tuple(pull(u) or u for u in images), video_url=pull(raw.get("videoUrl")) or None,
        video_urls=tuple(pull(u) or u for u in _list(raw.get("videoUrls"))) if target in ("instagram",
                                                                                        "instagram_feed") else (),
        video_duration_s=_duration(raw.get("videoDurationSeconds")),
        thumbnail_url=pull(thumb) if thumb else None, description=description,
        playlist_ids=_list(raw.get("youtubePlaylistIds")) if family_yt else (),
        board_id=str(board) if board else None, privacy=privacy,
        tags=_list(raw.get("tags")), options=dict(prefs),
        reply_to=str(raw["replyToId"]) if raw.get("replyToId") else None,  # comment replies (shared/comments)
    )


def _duration(v: Any) -> float | None:
    try:
        return float(v) if v is not None and float(v) > 0 else None
    except (TypeError, ValueError):
        return None


def video_hints(raw: dict[str, Any]) -> dict[str, Any]:
    return {"duration": raw.get("videoDurationSeconds"), "width": raw.get("videoWidth"),
            "height": raw.get("videoHeight"), "size": raw.get("videoSizeBytes"), "mime": raw.get("videoMimeType")}
