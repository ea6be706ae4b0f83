"""A local youtube.com for `make dev`: the pages and feeds our code reads, so channels work offline.

Screndly reads three things from YouTube, all without an API key (shared/channels/youtube.py):
- a channel page, `/@handle` or `/channel/UC…`, to resolve the channel id and title;
- the channel's public Atom feed, `/feeds/videos.xml?channel_id=UC…` (the newest 15 uploads, as YouTube serves
  it: `yt:videoId`, `yt:channelId`, `media:group` with title, thumbnail and description);
- links to `/watch?v=…` and `/shorts/…`, and thumbnails on `i.ytimg.com/vi/<id>/hqdefault.jpg`.

This stand-in answers the same paths with the same shapes. Every well-formed handle is a channel (its id is
derived from the handle, so it is stable across restarts), except handles containing "notfound", which answer
404 like a handle nobody owns. Each channel uploads on a fixed rhythm (one video every `upload_every`, default
3 h, counted from a fixed epoch), so a channel added now gets new uploads later and the poller's detection
path runs; the titles mix trailers, teasers, Shorts and non-trailer uploads, like a studio channel's. Thumbnails
are served from here too. `make dev` points YOUTUBE_BASE_URL at it unless you set YOUTUBE_BASE_URL yourself.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import datetime, timedelta, timezone

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

FEED_SIZE = 15  # YouTube's channel feed lists the newest 15 uploads
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
_HANDLE = re.compile(r"^@[0-9A-Za-z._-]{3,100}$")
_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")
_FILMS = ("The Odyssey", "Dune: Part Three", "The Batman Part II", "Avengers: Doomsday", "Spider-Man: Brand New Day",
          "Toy Story 5", "Shrek 5", "Frankenstein", "Project Hail Mary", "Mission: Impossible 9")
_TITLES = ("{film} | Official Trailer", "{film} - Teaser Trailer", "{film} | Behind the Scenes",
           "{film} Official Trailer #shorts", "{film} (UK) Official Trailer", "{film} - Cast Interview",
           "{film} | Final Trailer", "{film} | Hindi Trailer")
# a 480x360 dark JPEG (what hqdefault.jpg measures), made once with the bundled ffmpeg: its header, then
# the flat image's all-zero entropy data
_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAPTGF2YzYzLjEuMTAyAP/bAEMACD4+ST5JVVVVVVVVZF1kaGhoZGRkZGhoaHBwcIODg3BwcGhocHB8"
    "fIODj5OPh4eDh5OTm5uburqystnZ4P/////EAEwAAQEAAAAAAAAAAAAAAAAAAAAHAQEBAAAAAAAAAAAAAAAAAAAAAxABAAAAAAAAAAAAAAAA"
    "AAAAABEBAAAAAAAAAAAAAAAAAAAAAP/AABEIAWgB4AMBIgACEQADEQD/2gAMAwEAAhEDEQA/AJKAqkA=") + bytes(1033) + b'\xff\xd9'


def channel_id_for(handle: str) -> str:
    """A stable UC… id for a handle (22 url-safe characters after "UC", like YouTube's)."""
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]


def _title_for(handle: str) -> str:
    words = re.split(r"[._-]+", handle.lstrip("@"))
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or handle


def video_id(channel_id: str, n: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"{channel_id}:{n}".encode()).digest()).decode()[:11]


def uploads(channel_id: str, now: datetime, every: timedelta) -> list[tuple[str, str, datetime]]:
    """(video id, title, published) of the newest FEED_SIZE uploads at `now`, newest first."""
    latest = int((now - EPOCH) / every)
    seed = int(hashlib.sha256(channel_id.encode()).hexdigest()[:8], 16)
    out = []
    for n in range(latest, max(-1, latest - FEED_SIZE), -1):
        film = _FILMS[(seed + n) % len(_FILMS)]
        title = _TITLES[(seed // 7 + n) % len(_TITLES)].format(film=film)
        out.append((video_id(channel_id, n), title, EPOCH + n * every))
    return out


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


class LocalYouTube:
    def __init__(self, *, upload_every: timedelta = timedelta(hours=3), clock=None):
        self.every = upload_every
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.names: dict[str, tuple[str, str]] = {}  # channel id -> (handle, title) of channels seen by handle
        self.app = Starlette(routes=[
            Route("/feeds/videos.xml", self._feed),
            Route("/channel/{channel_id}", self._channel_page),
            Route("/watch", self._watch),
            Route("/shorts/{vid}", self._watch),
            Route("/vi/{vid}/{name}", self._thumbnail),
            Route("/{handle}", self._handle_page),
        ])
        self.base = ""  # set by the stack once the server has a port: absolute links in pages and feeds
        self.feed_failure: int | None = None  # an HTTP status every feed answers with (an outage), for tests

    def _channel(self, channel_id: str) -> tuple[str | None, str]:
        handle, title = self.names.get(channel_id, (None, f"Channel {channel_id[2:8]}"))
        return handle, title

    def _page(self, channel_id: str, handle: str | None, title: str) -> HTMLResponse:
        base, t = self.base, html.escape(title)
        # what a channel page carries that resolution reads: canonical link, identifier, og:title, the feed link
        body = f"""<!DOCTYPE html><html lang="en"><head><title>{t} - YouTube</title>
<link rel="canonical" href="{base}/channel/{channel_id}">
<meta property="og:title" content="{t}">
<meta property="og:url" content="{base}/channel/{channel_id}">
<link rel="alternate" type="application/rss+xml" title="RSS" href="{base}/feeds/videos.xml?channel_id={channel_id}">
<meta itemprop="identifier" content="{channel_id}"></head>
<body><script>var ytInitialData = {{"metadata":{{"channelMetadataRenderer":{{"title":"{t}","externalId":"{channel_id}",
"vanityChannelUrl":"{base}/{html.escape(handle or '')}"}}}}}};</script>
<h1>{t}</h1><p>Local YouTube stand-in (make dev).</p></body></html>"""
        return HTMLResponse(body)

    async def _handle_page(self, req: Request):
        handle = req.path_params["handle"]
        if not _HANDLE.match(handle) or "notfound" in handle.lower():
            return HTMLResponse("<html><body>404 Not Found</body></html>", status_code=404)
        cid = channel_id_for(handle)
        title = self.names.get(cid, (handle, _title_for(handle)))[1]
        self.names[cid] = (handle, title)
        return self._page(cid, handle, title)

    async def _channel_page(self, req: Request):
        cid = req.path_params["channel_id"]
        if not _CHANNEL_ID.match(cid):
            return HTMLResponse("<html><body>404 Not Found</body></html>", status_code=404)
        handle, title = self._channel(cid)
        return self._page(cid, handle, title)

    async def _feed(self, req: Request):
        cid = req.query_params.get("channel_id", "")
        if self.feed_failure:
            return Response("Service Unavailable", status_code=self.feed_failure)
        if not _CHANNEL_ID.match(cid):
            return Response("Bad Request", status_code=400)
        _handle, title = self._channel(cid)
        base, t = self.base, html.escape(title)
        entries = []
        for vid, vtitle, at in uploads(cid, self.clock(), self.every):
            vt = html.escape(vtitle)
            link = f"{base}/shorts/{vid}" if "#shorts" in vtitle else f"{base}/watch?v={vid}"
            entries.append(f"""
 <entry>
  <id>yt:video:{vid}</id>
  <yt:videoId>{vid}</yt:videoId>
  <yt:channelId>{cid}</yt:channelId>
  <title>{vt}</title>
  <link rel="alternate" href="{link}"/>
  <author>
   <name>{t}</name>
   <uri>{base}/channel/{cid}</uri>
  </author>
  <published>{_iso(at)}</published>
  <updated>{_iso(at + timedelta(minutes=5))}</updated>
  <media:group>
   <media:title>{vt}</media:title>
   <media:content url="{base}/v/{vid}?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="{base}/vi/{vid}/hqdefault.jpg" width="480" height="360"/>
   <media:description>{vt} - watch it on {t}.</media:description>
   <media:community>
    <media:starRating count="0" average="0.00" min="1" max="5"/>
    <media:statistics views="0"/>
   </media:community>
  </media:group>
 </entry>""")
        body = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="{base}/feeds/videos.xml?channel_id={cid}"/>
 <id>yt:channel:{cid[2:]}</id>
 <yt:channelId>{cid[2:]}</yt:channelId>
 <title>{t}</title>
 <link rel="alternate" href="{base}/channel/{cid}"/>
 <author>
  <name>{t}</name>
  <uri>{base}/channel/{cid}</uri>
 </author>
 <published>{_iso(EPOCH)}</published>{''.join(entries)}
</feed>"""
        return Response(body, media_type="application/atom+xml; charset=UTF-8")

    async def _watch(self, req: Request):
        vid = req.query_params.get("v") or req.path_params.get("vid", "")
        return HTMLResponse(f'<!DOCTYPE html><html><head><meta property="og:image" '
                            f'content="{self.base}/vi/{html.escape(vid)}/hqdefault.jpg"></head>'
                            f"<body>Video {html.escape(vid)} (local YouTube stand-in)</body></html>")

    async def _thumbnail(self, req: Request):
        return Response(_JPEG, media_type="image/jpeg")


def start(**kwargs):
    """Serve a LocalYouTube on a free port; returns (server thread, stand-in)."""
    from shared.local.services import ServerThread

    yt = LocalYouTube(**kwargs)
    server = ServerThread(yt.app).start()
    yt.base = server.url
    return server, yt
