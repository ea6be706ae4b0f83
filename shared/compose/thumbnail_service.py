"""`POST /api/ai/generate/compose-thumbnail`: which title, which picture, then render (thumbnail.py) and store.

The title: the YouTube title the owner has, else the title the pasted metadata names (content.detect_title), else
the page's `titleHint` (the SPA falls back to "Untitled post" or the caption's first 42 characters: those are no
title), else the metadata's first line. The picture: with a TMDb key, the backdrop (landscape) or poster (shared)
of the TMDb movie or series titled exactly so (rss/tmdb_lookup.pick: a near match would put another film's poster
on the post), fetched through the SSRF-guarded, size-capped fetcher; else, or when TMDb has none or fails, a drawn
title card (the peer answers 422 there: the owner gets nothing). The JPEG goes to the general bucket under
`thumbnails/` exactly as an uploaded thumbnail does (media/uploads/service.store_asset), so the page stores
`storageUrl` in the post and publishing reads it like any other compose thumbnail. No model is called: a title is
already at hand in every case the page allows (it sends `metadataText`, which must not be empty).
"""

from __future__ import annotations

import asyncio
from typing import Any

from shared.compose import content, thumbnail

MAX_PICTURE_BYTES = 20 * 1024 * 1024  # TMDb's w1280 backdrops and w780 posters are well under this


def resolve_title(req: dict[str, Any]) -> str:
    hint = " ".join(str(req.get("titleHint") or "").split())
    caption = " ".join(str(req.get("sharedCaption") or "").split())
    hint_is_title = hint and hint.lower() not in content.PLACEHOLDER_TITLES and not (
        caption and caption.startswith(hint))
    for candidate in (str(req.get("youtubeTitle") or ""), content.detect_title(req["metadataText"]),
                      hint if hint_is_title else "", content.normalized(req["metadataText"]).split("\n")[0]):
        candidate = " ".join(candidate.split())[:200]
        if candidate:
            return candidate
    return "Untitled"


async def _tmdb_picture(kind: str, headline: str, key: str) -> tuple[bytes | None, str, str]:
    """(image bytes, strategy, why-none) for the title; never raises: a missing picture is a title card."""
    from shared.net.fetch import FetchError, FetchLimits, fetch, make_client
    from shared.rss.tmdb_lookup import pick
    from shared.tmdb import images
    from shared.tmdb.client import TMDbClient, TMDbError

    if not key:
        return None, "title_card", "no TMDb key: a title card instead of the film's picture"
    async with make_client(4) as http:
        tmdb = TMDbClient(key, http=http)
        try:
            answer = await tmdb.get(TMDbClient.search(headline[:80]))
            match = pick(list((answer or {}).get("results") or []), headline)
            if match is None:
                return None, "title_card", f"no TMDb movie or series is titled '{headline}'"
            want = ("poster", "backdrop") if kind == "shared" else ("backdrop", "poster")
            for which in want:
                path = match.poster_path if which == "poster" else match.backdrop_path
                if not path:
                    continue
                url = images.url(path, images.POSTER_SIZE if which == "poster" else images.BACKDROP_SIZE) or ""
                got = await fetch(http, url, accept="image/*",
                                  limits=FetchLimits(total_timeout=20, max_bytes=MAX_PICTURE_BYTES))
                return got.body, f"tmdb_{which}", ""
            return None, "title_card", f"TMDb has no picture of '{match.title}'"
        except (TMDbError, FetchError) as exc:
            return None, "title_card", f"TMDb picture unavailable: {str(exc)[:200]}"
        finally:
            await tmdb.aclose()


def generate_thumbnail(req: dict[str, Any]) -> dict[str, Any]:
    from shared.errors import ValidationFailed
    from shared.media import keys
    from shared.media.uploads.service import store_asset
    from shared.settings.store import read_settings
    from shared.tmdb.client import credential

    kind = req["thumbnailType"]
    if not content.normalized(req.get("metadataText") or ""):
        raise ValidationFailed("metadataText is empty: paste the trailer's metadata first",
                               details={"field": "metadataText"})
    setting = {"youtube": "thumbnailConfig_youtube", "x": "thumbnailConfig_x"}.get(kind)
    saved = read_settings(["tmdbKey", *([setting] if setting else [])])
    config: Any = None
    if setting:  # the page sends the saved config; a partial one in the request is laid over the saved one
        stored, sent = saved.get(setting), req.get("thumbnailConfig")
        stored = thumbnail.layout_source(stored)
        sent = thumbnail.layout_source(sent)
        config = {**(stored or {}), **(sent or {})}
    title = resolve_title(req)
    headline, kicker = thumbnail.split_title(title)
    headline = headline or title
    if not kicker:  # "Dune: Part Three" from the hint, "... | Official Trailer" on the metadata's first line
        kicker = thumbnail.split_title(content.normalized(req["metadataText"]).split("\n")[0])[1]
    picture, strategy, why = asyncio.run(_tmdb_picture(kind, headline, credential(saved)))
    from PIL.Image import DecompressionBombError

    try:
        jpeg = thumbnail.render(kind, headline, kicker, thumbnail.layout(kind, config), picture)
    except (OSError, DecompressionBombError):  # Pillow could not (or would not) read what TMDb sent: the title
        # card still makes a thumbnail
        picture, strategy, why = None, "title_card", "TMDb's picture could not be read"
        jpeg = thumbnail.render(kind, headline, kicker, thumbnail.layout(kind, config), None)
    name = f"{thumbnail.file_stem(title)}-{kind}.jpg"
    stored_asset = store_asset(keys.ASSET_FOLDERS["thumbnails"], name, "image/jpeg", jpeg)
    width, height = thumbnail.FRAMES[kind]
    out = {"fileName": name, "mimeType": "image/jpeg", "size": len(jpeg), "previewUrl": stored_asset["previewUrl"],
           "storageUrl": stored_asset["url"], "uploadStatus": "uploaded", "strategy": strategy,
           "resolvedTitle": title, "width": width, "height": height}
    return {**out, "note": why} if why else out
