"""Turn fetched bytes into feed entries with feedparser (imported lazily: ~50 ms).

feedparser gets the bytes plus the response's Content-Type (charset) and final URL (Content-Location, the base
for relative links), so encoding follows RFC 3023 precedence (HTTP header, then XML prolog/BOM) and xml:base is
honoured. A page that is not a feed (HTML) is reported as `NotAFeed`, with any feed it advertises. Ill-formed
XML (truncated) still yields the entries feedparser could recover.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

from shared.rss.textutil import clean_title, unescape_markup_layers


class NotAFeed(Exception):
    def __init__(self, message: str, discovered: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.discovered = discovered or []


@dataclass
class ImageRef:
    url: str
    source: str  # enclosure | media_content | media_thumbnail | itunes_image | content_img | og_image | ...
    width: int | None = None
    height: int | None = None
    mime: str | None = None


@dataclass
class Entry:
    guid: str | None
    link: str | None
    title: str
    summary_html: str
    content_html: str
    published_at: datetime | None
    images: list[ImageRef] = field(default_factory=list)
    position: int = 0  # index in the document (0 = first)
    summary_base: str = ""  # the xml:base in effect for the summary / content (relative URIs resolve against it)
    content_base: str = ""

    @property
    def body_html(self) -> str:
        """Raw entry HTML: relative URIs NOT resolved, NOT sanitised (fine for text extraction)."""
        return self.content_html or self.summary_html

    @property
    def body_base(self) -> str:
        return (self.content_base if self.content_html else self.summary_base) or self.link or ""

    def safe_html(self) -> str:
        """The entry's HTML with relative URIs resolved against its xml:base and sanitised: what is stored and
        shown. Done per kept entry, not for every entry of every fetch (that was 60% of a tick's parse CPU)."""
        return sanitize_html(resolve_uris(unescape_markup_layers(self.body_html), self.body_base))


@dataclass
class ParsedFeed:
    title: str
    link: str | None
    description: str
    image: str | None
    entries: list[Entry]
    version: str
    bozo: str | None = None  # why the document was ill-formed, when it was
    # set when only the changed entries were parsed (shared/rss/incremental.py): the document's entry count, and
    # the digests to remember once the entries are stored
    document_entries: int | None = None
    memory: tuple[bytes | None, bytes] | None = None


def _dt(struct) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=timezone.utc)
    except (OverflowError, ValueError, TypeError):
        return None


def _int(v: Any) -> int | None:
    try:
        return int(str(v))
    except (TypeError, ValueError):
        return None


def _images(e: Any, base: str) -> list[ImageRef]:
    out: list[ImageRef] = []

    def add(url: str | None, source: str, **kw) -> None:
        if url and isinstance(url, str):
            full = urljoin(base, url.strip())
            if full.startswith(("http://", "https://")) and all(i.url != full for i in out):
                out.append(ImageRef(full, source, **kw))

    for enc in e.get("enclosures") or []:
        mime = enc.get("type") or ""
        if mime.startswith("image/") or (not mime and _looks_like_image(enc.get("href", ""))):
            add(enc.get("href"), "enclosure", mime=mime or None)
    for m in e.get("media_content") or []:
        medium, mime = m.get("medium") or "", m.get("type") or ""
        if medium == "image" or mime.startswith("image/") or (not medium and not mime and _looks_like_image(
                m.get("url", ""))):
            add(m.get("url"), "media_content", width=_int(m.get("width")), height=_int(m.get("height")),
                mime=mime or None)
    for m in e.get("media_thumbnail") or []:
        add(m.get("url"), "media_thumbnail", width=_int(m.get("width")), height=_int(m.get("height")))
    itunes = e.get("image")
    if isinstance(itunes, dict):
        add(itunes.get("href"), "itunes_image")
    return out


def _looks_like_image(url: str) -> bool:
    return url.lower().split("?")[0].endswith((".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"))


def sanitize_html(html: str) -> str:
    """feedparser's own HTML sanitizer (scripts, event handlers, dangerous URLs removed), run only on the entries
    that are kept: sanitising all 50 entries of every fetched feed would cost ~15% of a tick's CPU for items that
    are nearly all known already."""
    if not html:
        return ""
    from feedparser.sanitizer import _sanitize_html  # pinned feedparser==6.0.14; covered by a test

    return _sanitize_html(html, "utf-8", "text/html")


def resolve_uris(html: str, base: str) -> str:
    if not html or not base:
        return html or ""
    from feedparser.urls import resolve_relative_uris  # pinned feedparser==6.0.14; covered by a test

    return resolve_relative_uris(html, base, "utf-8", "text/html")


def parse_feed(body: bytes, *, content_type: str = "", url: str = "", sanitize: bool = False) -> ParsedFeed:
    """Entries with links, enclosures and media URLs resolved (xml:base honoured). Entry HTML is kept raw (no URI
    resolution, no sanitising) unless `sanitize`: use `Entry.safe_html()` before storing or showing it."""
    import feedparser  # lazy: only fetch paths pay for it

    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    d = feedparser.parse(body, response_headers=headers, sanitize_html=sanitize, resolve_relative_uris=sanitize)
    feed = d.get("feed", {}) or {}
    if not d.get("version") and not d.entries:
        discovered = [urljoin(url, link.get("href", "")) for link in feed.get("links", []) or []
                      if link.get("rel") == "alternate" and link.get("type") in (
                          "application/rss+xml", "application/atom+xml", "application/feed+json")]
        reason = "the URL returned an HTML page, not an RSS or Atom feed" if b"<html" in body[:2048].lower() \
            else "the response is not an RSS or Atom feed"
        if discovered:
            reason += f"; the page links to a feed at {discovered[0]}"
        raise NotAFeed(reason, discovered)
    entries: list[Entry] = []
    for i, e in enumerate(d.entries):
        link = e.get("link") or None
        guid = e.get("id") or None
        # the headline as text (tags stripped, references decoded, double escaping undone): stored, filtered,
        # deduped and captioned as such
        title = clean_title(e.get("title"), is_html=(e.get("title_detail") or {}).get("type") != "text/plain")
        summary = e.get("summary") or ""
        content, content_base = "", ""
        for c in e.get("content") or []:
            if not c.get("value"):
                continue
            if c.get("type") == "text/plain" and summary and (e.get("media_content") or e.get("media_thumbnail")):
                # feedparser files a second description as content: here a media:description, the picture's
                # alt text (Mastodon, many news CMSs), which must not replace the article's summary
                continue
            content, content_base = c["value"], c.get("base") or ""
            break
        summary_base = (e.get("summary_detail") or {}).get("base") or ""
        if not title and not link and not summary and not content:
            continue
        entries.append(Entry(
            guid=guid, link=link, title=title, summary_html=summary, content_html=content,
            published_at=_dt(e.get("published_parsed") or e.get("updated_parsed")),
            images=_images(e, link or url), position=i, summary_base=summary_base, content_base=content_base,
        ))
    image = None
    if isinstance(feed.get("image"), dict):
        image = feed["image"].get("href") or feed["image"].get("url")
    bozo = None
    if d.get("bozo"):
        bozo = f"{type(d.get('bozo_exception')).__name__}: {d.get('bozo_exception')}"[:300]
    return ParsedFeed(title=clean_title(feed.get("title"),
                                        is_html=(feed.get("title_detail") or {}).get("type") != "text/plain"),
                      link=feed.get("link"), description=feed.get("subtitle") or feed.get("description") or "",
                      image=image,
                      entries=entries, version=d.get("version") or "", bozo=bozo)
