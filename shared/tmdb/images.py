"""TMDb images: the URL of a poster or backdrop, the image pool the Design Studio browses, and a copy in our own
B2 bucket for platforms that fetch media themselves.

URLs are `<TMDB_IMAGE_BASE>/<size><file_path>` (https://developer.themoviedb.org/docs/image-basics). Posters at
w780 and backdrops at w1280 stay well under X's 5 MB image limit; the pool lists `original`.
Threads, Facebook, Instagram and Pinterest download the image from the URL they are given (frontend-contract §5,
field-notes §7); with `rehostImages` on (the default) or for those platforms, the delivery hands them our B2 copy
(`images/tmdb/<sha256>.<ext>`, uploaded once per image) instead of TMDb's CDN.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

POSTER_SIZE, BACKDROP_SIZE = "w780", "w1280"
PULLING_PLATFORMS = frozenset({"threads", "facebook", "instagram", "pinterest"})


def base() -> str:
    from shared.config import get_config

    return get_config().tmdb_image_base.rstrip("/")


def url(path: str | None, size: str = "original") -> str | None:
    return f"{base()}/{size}{path}" if path else None


def choose(preferred: str, poster_path: str | None, backdrop_path: str | None,
           seed: str = "") -> tuple[str | None, str | None]:
    """(url, 'poster'|'backdrop') per `preferredImage`; falls back to whichever exists. `random` is stable per
    seed (the same title keeps its pick across refreshes)."""
    kind = preferred
    if preferred == "random":
        kind = random.Random(seed).choice(("poster", "backdrop"))
    order = [kind, "backdrop" if kind == "poster" else "poster"]
    for k in order:
        path = poster_path if k == "poster" else backdrop_path
        if path:
            return url(path, POSTER_SIZE if k == "poster" else BACKDROP_SIZE), k
    return None, None


def pool(images: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """movie-images / tv-series-images -> {posters, backdrops, logos}, each [{path, url}]."""
    out: dict[str, list[dict[str, str]]] = {}
    for kind in ("posters", "backdrops", "logos"):
        items = images.get(kind) or []
        out[kind] = [{"path": i["file_path"], "url": url(i["file_path"]) or ""} for i in items if i.get("file_path")]
    return out


def needs_rehost(platform: str, rehost_setting: bool) -> bool:
    return rehost_setting or platform in PULLING_PLATFORMS


def rehost(image_url: str) -> str:
    """Copy an image into our bucket (once per content) and return a URL platforms can fetch."""
    import asyncio

    from shared.media.image_header import sniff_image
    from shared.net.fetch import FetchLimits, fetch, make_client
    from shared.rss.images import HEADER_BYTES, MAX_IMAGE_BYTES
    from shared.storage.s3 import get_storage

    async def _get() -> bytes:
        async with make_client(4) as client:
            r = await fetch(client, image_url, accept="image/*",
                            limits=FetchLimits(total_timeout=20, max_bytes=MAX_IMAGE_BYTES))
            return r.body

    body = asyncio.run(_get())
    info = sniff_image(body[:HEADER_BYTES])
    if info is None:
        raise ValueError(f"{image_url} did not return an image")
    digest = hashlib.sha256(body).hexdigest()
    ext = info.mime.split("/")[1].replace("jpeg", "jpg")
    key = f"images/tmdb/{digest}.{ext}"
    storage = get_storage()
    if storage.head(key) is None:
        storage.put_bytes(key, body, info.mime)
    return storage.public_url(key)
