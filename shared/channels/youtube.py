"""YouTube without an API key: resolve a channel (UC id or @handle) from its public page, and its Atom feed URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import quote

CHANNEL_ID_RE = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
HANDLE_RE = re.compile(r"^@[0-9A-Za-z._-]{3,100}$")
_PAGE_PATTERNS = (
    re.compile(r'<meta itemprop="(?:channelId|identifier)" content="(UC[0-9A-Za-z_-]{22})"'),
    re.compile(r'feeds/videos\.xml\?channel_id=(UC[0-9A-Za-z_-]{22})'),
    re.compile(r'"externalId":"(UC[0-9A-Za-z_-]{22})"'),
    re.compile(r'"channelId":"(UC[0-9A-Za-z_-]{22})"'),
    re.compile(r'<link rel="canonical" href="[^"]*/channel/(UC[0-9A-Za-z_-]{22})"'),
)
_TITLE_RE = (re.compile(r'<meta property="og:title" content="([^"]+)"'), re.compile(r"<title>([^<]+)</title>"))


class ChannelNotFound(Exception):
    pass


@dataclass(frozen=True)
class ResolvedChannel:
    channel_id: str
    title: str | None
    handle: str | None


def base() -> str:
    from shared.config import get_config

    return get_config().youtube_base_url.rstrip("/")


def feed_url(channel_id: str) -> str:
    return f"{base()}/feeds/videos.xml?channel_id={channel_id}"


def normalise_input(value: str) -> str:
    """Accept UC ids, @handles, and channel URLs (…/channel/UC…, …/@handle)."""
    v = value.strip()
    m = re.search(r"/channel/(UC[0-9A-Za-z_-]{22})", v)
    if m:
        return m.group(1)
    m = re.search(r"/(@[0-9A-Za-z._-]+)", v)
    if m:
        return m.group(1)
    if not v.startswith("@") and not CHANNEL_ID_RE.match(v) and re.match(r"^[0-9A-Za-z._-]{3,100}$", v):
        return "@" + v
    return v


def parse_channel_page(html: str) -> tuple[str | None, str | None]:
    cid = None
    for pat in _PAGE_PATTERNS:
        m = pat.search(html)
        if m:
            cid = m.group(1)
            break
    title = None
    for pat in _TITLE_RE:
        m = pat.search(html)
        if m:
            title = unescape(m.group(1)).removesuffix(" - YouTube").strip()
            break
    return cid, title


async def resolve(client, value: str) -> ResolvedChannel:
    from shared.net.fetch import FetchError, FetchLimits, fetch

    v = normalise_input(value)
    if CHANNEL_ID_RE.match(v):
        page_url, handle = f"{base()}/channel/{v}", None
    elif HANDLE_RE.match(v):
        page_url, handle = f"{base()}/{quote(v, safe='@._-')}", v
    else:
        raise ChannelNotFound("channelId must be a channel id (UC…), an @handle or a channel URL")
    try:
        r = await fetch(client, page_url, accept="text/html", limits=FetchLimits(total_timeout=15,
                                                                                 max_bytes=3 * 1024 * 1024),
                        allow_truncated=True)
    except FetchError as exc:
        if exc.status_code == 404:
            raise ChannelNotFound(f"no YouTube channel at {v}") from exc
        raise
    cid, title = parse_channel_page(r.body.decode("utf-8", "replace"))
    if cid is None:
        if CHANNEL_ID_RE.match(v):
            return ResolvedChannel(v, title, None)
        raise ChannelNotFound(f"could not find the channel id on the page of {v}")
    return ResolvedChannel(cid, title, handle)


def video_id(entry) -> str | None:
    g = entry.guid or ""
    if g.startswith("yt:video:"):
        return g.split(":", 2)[2]
    m = re.search(r"(?:v=|/shorts/|youtu\.be/)([0-9A-Za-z_-]{11})", entry.link or "")
    return m.group(1) if m else None
