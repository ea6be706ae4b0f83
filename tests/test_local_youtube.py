"""The local YouTube stand-in (`make dev` without the internet): adding a channel by @handle or id resolves
through the same code as against youtube.com, its Atom feed parses as YouTube's does, and the poller detects the
trailers a channel uploads later."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from rss_helpers import set_settings
from youtube_support import StandInClock, pointed_at

from shared.local import youtube


@pytest.fixture(scope="module")
def standin():
    clock = StandInClock()
    server, yt = youtube.start(clock=clock)
    yield yt, clock
    server.stop()


@pytest.fixture
def youtube_base(standin, monkeypatch):
    with pointed_at(standin[0], monkeypatch):
        yield standin


def test_pages_and_feed_have_youtubes_shapes(standin):
    from shared.channels.youtube import parse_channel_page, video_id
    from shared.rss.parser import parse_feed

    yt, _clock = standin
    page = httpx.get(f"{yt.base}/@WarnerBrosPictures")
    assert page.status_code == 200
    cid, title = parse_channel_page(page.text)
    assert cid == youtube.channel_id_for("@WarnerBrosPictures") and title == "WarnerBrosPictures"
    assert httpx.get(f"{yt.base}/@somebody-notfound").status_code == 404
    feed = httpx.get(f"{yt.base}/feeds/videos.xml", params={"channel_id": cid})
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = parse_feed(feed.content, content_type=feed.headers["content-type"], url=str(feed.url))
    assert parsed.title == "WarnerBrosPictures" and len(parsed.entries) == youtube.FEED_SIZE
    newest = parsed.entries[0]
    assert newest.guid.startswith("yt:video:") and video_id(newest) == newest.guid.split(":")[2]
    assert newest.published_at == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert [i.source for i in newest.images] == ["media_thumbnail"]
    thumb = httpx.get(newest.images[0].url)
    assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"


def test_adding_a_channel_and_detecting_its_next_trailer_offline(client, auth, clean_state, youtube_base):
    from shared.channels.poller import poll_due_channels
    from shared.db import connection

    yt, clock = youtube_base
    set_settings(advancedFilters="trailer, official, teaser", excludeShorts=True, regionFilter="US,UK")
    r = client.post("/api/channels", headers=auth, json={"name": "", "channelId": "@NetflixUS"})
    assert r.status_code == 201, r.text
    ch = r.json()["data"]
    assert ch["channelId"] == youtube.channel_id_for("@NetflixUS") and ch["name"] == "NetflixUS"
    by_url = client.post("/api/channels", headers=auth, json={"channelId": f"https://www.youtube.com/channel/"
                                                                            f"{ch['channelId']}"})
    assert by_url.status_code == 409  # the same channel by its URL
    missing = client.post("/api/channels", headers=auth, json={"channelId": "@channel-notfound"})
    assert missing.status_code == 400 and "no YouTube channel" in missing.json()["error"]["message"]

    first = asyncio.run(poll_due_channels())  # first check: what exists is remembered, not announced
    assert first["checked"] == 1 and first["failed"] == 0
    # a day of uploads later: the new trailers are detected, Shorts and interviews are not
    clock.now += timedelta(days=1)
    with connection() as conn:
        conn.execute("UPDATE yt_channels SET next_run_at = now() - interval '1 second'")
    second = asyncio.run(poll_due_channels())
    from shared.channels.detect import decide, parse_keywords

    new = youtube.uploads(ch["channelId"], clock.now, yt.every)[:8]  # 24 h at one upload every 3 h
    expected = [t for _, t, _ in new if decide(t, None, keywords=parse_keywords(None), exclude_shorts=True,
                                               regions={"US", "UK"}).detected]
    assert second["detections"] == len(expected) and 0 < len(expected) < 8
    titles = {d["title"] for d in client.get("/api/channels/activity", headers=auth).json()["data"]}
    assert titles == set(expected)
