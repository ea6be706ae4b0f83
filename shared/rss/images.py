"""Images for an item: candidates from the feed, the article page, TMDb, Serper; checked by their real header bytes.

Order of candidates (first good ones win): enclosure, media:content, media:thumbnail, itunes:image, the first
<img> of the content, then the article page's og:image / twitter:image, then (optional, the feed's `tmdbEnabled`)
the backdrop and poster of the film the headline names (rss/tmdb_lookup.py), then (optional) Serper image search.
TMDb comes before the feed when the feed's `imageSourcePriority` is `tmdb_first`; Serper comes first when the
feed prefers it and carries no image of its own. TMDb before Serper otherwise: it is free and names the film.
Each candidate is fetched through the same guarded fetcher, reading only the first 64 KB: type and size come
from the header bytes (PNG/JPEG/GIF/WebP), never from the extension. Too small or not an image: skipped with a
reason. Optionally re-hosted to B2 under a content-hash key (same image stored once).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from shared.media.image_header import ImageInfo, sniff_image

MIN_WIDTH = 400
MIN_HEIGHT = 200
HEADER_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 10 * 1024 * 1024


class _ImgAndMeta(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.imgs: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "img":
            src = a.get("src") or a.get("data-src") or ""
            if src and not src.startswith("data:"):
                self.imgs.append(src)
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            if key in ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src") \
                    and a.get("content") and key not in self.meta:
                self.meta[key] = a["content"]


def first_content_image(html: str, base: str) -> str | None:
    p = _ImgAndMeta()
    try:
        p.feed(html or "")
    except Exception:
        return None
    return urljoin(base, p.imgs[0]) if p.imgs else None


def page_images(html: str, base: str) -> list[tuple[str, str]]:
    """og:image then twitter:image of an article page: [(url, source)]."""
    p = _ImgAndMeta()
    try:
        p.feed(html or "")
    except Exception:
        return []
    out: list[tuple[str, str]] = []
    for key, source in (("og:image:secure_url", "og_image"), ("og:image", "og_image"), ("og:image:url", "og_image"),
                        ("twitter:image", "twitter_image"), ("twitter:image:src", "twitter_image")):
        if key in p.meta:
            url = urljoin(base, p.meta[key])
            if all(u != url for u, _ in out):
                out.append((url, source))
    return out


def wanted_count(image_count: str, seed: str) -> int:
    """1, 2, 3, or 'random' (1–3, stable per item so a retry picks the same number)."""
    if image_count in ("1", "2", "3"):
        return int(image_count)
    return random.Random(seed).randint(1, 3)


@dataclass
class SelectedImage:
    url: str
    source: str  # feed | tmdb | serper (the contract's `imageSource`)
    reason: str
    width: int | None = None
    height: int | None = None
    mime: str | None = None
    original_url: str | None = None


@dataclass
class ImageSelection:
    selected: list[SelectedImage] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


_SOURCE_REASON = {
    "enclosure": "feed enclosure", "media_content": "feed media:content", "media_thumbnail": "feed media:thumbnail",
    "itunes_image": "feed itunes:image", "content_img": "first image in the article content",
    "og_image": "article page og:image", "twitter_image": "article page twitter:image",
    "serper": "Serper image search",
}
_CONTRACT_SOURCE = {"serper": "serper", "tmdb": "tmdb"}


async def check_image(client, url: str) -> tuple[ImageInfo | None, str]:
    from shared.net.fetch import FetchError, FetchLimits, fetch

    try:
        r = await fetch(client, url, accept="image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8",
                        limits=FetchLimits(total_timeout=8, read_timeout=5, max_bytes=HEADER_BYTES),
                        allow_truncated=True)
    except FetchError as exc:
        return None, exc.message
    info = sniff_image(r.body)
    if info is None:
        return None, f"not a PNG/JPEG/GIF/WebP image (content-type {r.content_type or 'none'})"
    if info.width < MIN_WIDTH or info.height < MIN_HEIGHT:
        return None, f"too small ({info.width}×{info.height}, minimum {MIN_WIDTH}×{MIN_HEIGHT})"
    return info, ""


async def select_images(client, *, entry, count: int, article_html: str | None = None,
                        fetch_article: bool = True, serper_key: str | None = None, serper_query: str | None = None,
                        serper_first: bool = False, tmdb_key: str | None = None,
                        tmdb_first: bool = False) -> ImageSelection:
    """Walk the candidates in order and keep the first `count` that pass the header checks."""
    from shared.net.fetch import FetchError, FetchLimits, fetch

    sel = ImageSelection()
    seen: set[str] = set()

    async def consider(url: str, source: str, reason: str | None = None) -> None:
        if len(sel.selected) >= count or url in seen:
            return
        seen.add(url)
        info, why = await check_image(client, url)
        if info is None:
            sel.rejected.append({"url": url, "source": source, "reason": why})
            return
        sel.selected.append(SelectedImage(url=url, source=_CONTRACT_SOURCE.get(source, "feed"),
                                          reason=reason or _SOURCE_REASON.get(source, source), width=info.width,
                                          height=info.height, mime=info.mime))

    async def from_tmdb() -> None:
        if tmdb_key and len(sel.selected) < count:
            from shared.rss.tmdb_lookup import tmdb_images

            found, why = await tmdb_images(client, tmdb_key, entry.title, count)
            if why:
                sel.rejected.append({"url": None, "source": "tmdb", "reason": why})
            for url, reason in found:
                await consider(url, "tmdb", reason)

    async def from_serper() -> None:
        if serper_key and serper_query and len(sel.selected) < count:
            from shared.rss.serper import SerperError, search_images

            try:
                results = await search_images(client, serper_key, serper_query)
            except SerperError as exc:
                sel.rejected.append({"url": None, "source": "serper", "reason": str(exc)})
                return
            for r in results:
                if r.width and r.height and (r.width < MIN_WIDTH or r.height < MIN_HEIGHT):
                    continue
                await consider(r.url, "serper")

    if tmdb_first:
        await from_tmdb()
    if serper_first:
        await from_serper()
    for ref in entry.images:
        await consider(ref.url, ref.source)
    if len(sel.selected) < count:
        inline = first_content_image(entry.body_html, entry.body_base)
        if inline:
            await consider(inline, "content_img")
    if len(sel.selected) < count and entry.link and (article_html is not None or fetch_article):
        html = article_html
        if html is None:
            try:
                r = await fetch(client, entry.link, accept="text/html,application/xhtml+xml",
                                limits=FetchLimits(total_timeout=8, max_bytes=512 * 1024), allow_truncated=True)
                html = r.body.decode("utf-8", "replace") if "html" in (r.content_type or "html") else ""
            except FetchError as exc:
                sel.rejected.append({"url": entry.link, "source": "article_page", "reason": exc.message})
                html = ""
        for url, source in page_images(html, entry.link):
            await consider(url, source)
    if not tmdb_first:
        await from_tmdb()
    if not serper_first:
        await from_serper()
    return sel


async def rehost(client, image: SelectedImage) -> SelectedImage:
    """Copy the image to B2 under images/rss/<sha256>.<ext>; a second copy of the same bytes is not uploaded."""
    import asyncio

    from shared.net.fetch import FetchLimits, fetch
    from shared.storage.s3 import get_storage

    r = await fetch(client, image.url, accept="image/*",
                    limits=FetchLimits(total_timeout=20, max_bytes=MAX_IMAGE_BYTES))
    info = sniff_image(r.body[:HEADER_BYTES])
    if info is None:
        raise ValueError("downloaded bytes are not an image")
    digest = hashlib.sha256(r.body).hexdigest()
    ext = info.mime.split("/")[1].replace("jpeg", "jpg")
    key = f"images/rss/{digest}.{ext}"
    storage = get_storage()

    def _put() -> str:
        if storage.head(key) is None:
            storage.put_bytes(key, r.body, info.mime)
        return storage.public_url(key)

    url = await asyncio.to_thread(_put)
    return SelectedImage(url=url, source=image.source, reason=image.reason + " (rehosted)", width=info.width,
                         height=info.height, mime=info.mime, original_url=image.url)
