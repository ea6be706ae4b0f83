"""YouTube channels: resolution of ids and @handles against a local fake of youtube.com, polling of the public
Atom feed within the tick, trailer detection (keywords, Shorts, regions), detections API and notifications."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rss_helpers import set_settings
from youtube_support import pointed_at

from shared.channels.detect import decide, parse_keywords, parse_regions, title_regions
from shared.local.feed_server import FeedServer

UC = "UCabcdefghijklmnopqrstuv"  # 24 chars


def yt_feed(videos, channel_id=UC, name="Trailer Hub"):
    entries = []
    for vid, title, age_min, short in videos:
        t = (datetime.now(timezone.utc) - timedelta(minutes=age_min)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        link = f"https://www.youtube.com/shorts/{vid}" if short else f"https://www.youtube.com/watch?v={vid}"
        entries.append(f"""<entry><id>yt:video:{vid}</id><yt:videoId>{vid}</yt:videoId>
 <yt:channelId>{channel_id}</yt:channelId><title>{title}</title><link rel="alternate" href="{link}"/>
 <author><name>{name}</name><uri>https://www.youtube.com/channel/{channel_id}</uri></author>
 <published>{t}</published><updated>{t}</updated>
 <media:group><media:title>{title}</media:title>
 <media:content url="https://www.youtube.com/v/{vid}?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
 <media:thumbnail url="https://i1.ytimg.com/vi/{vid}/hqdefault.jpg" width="480" height="360"/>
 <media:description>desc</media:description></media:group></entry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/"
 xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={channel_id}"/>
 <id>yt:channel:{channel_id[2:]}</id><yt:channelId>{channel_id}</yt:channelId><title>{name}</title>
 <link rel="alternate" href="https://www.youtube.com/channel/{channel_id}"/>
 <author><name>{name}</name><uri>https://www.youtube.com/channel/{channel_id}</uri></author>
 <published>2015-01-01T00:00:00+00:00</published>{''.join(entries)}</feed>"""


CHANNEL_PAGE = f"""<!DOCTYPE html><html><head><title>Trailer Hub - YouTube</title>
<meta property="og:title" content="Trailer Hub">
<link rel="alternate" type="application/rss+xml" title="RSS" href="https://www.youtube.com/feeds/videos.xml?channel_id={UC}">
<meta itemprop="identifier" content="{UC}"></head><body><script>var ytInitialData = {{"channelId":"{UC}"}};</script></body></html>"""


@pytest.fixture(scope="module")
def yt(backing):
    srv = FeedServer().start()
    srv.route("/@trailerhub", CHANNEL_PAGE, content_type="text/html; charset=utf-8")
    srv.route(f"/channel/{UC}", CHANNEL_PAGE, content_type="text/html; charset=utf-8")
    yield srv
    srv.stop()


@pytest.fixture
def youtube_base(yt, monkeypatch):
    with pointed_at(yt, monkeypatch):
        yield yt


KW = parse_keywords(None)


@pytest.mark.parametrize("title,url,regions,detected,why", [
    ("DUNE: PART THREE | Official Trailer", "https://youtube.com/watch?v=a", set(), True, "trailer"),
    ("The Batman Part II - Teaser", None, set(), True, "teaser"),
    ("Behind the scenes vlog", None, set(), False, "no trailer keyword"),
    ("Trailers are fun compilation", None, set(), False, "no trailer keyword"),  # word boundary
    ("Official Trailer #shorts", None, set(), False, "Short"),
    ("New trailer", "https://www.youtube.com/shorts/abc", set(), False, "Short"),
    ("Pushpa 3 Hindi Trailer", None, {"US", "UK"}, False, "region IN"),
    ("Paddington 3 UK Trailer", None, {"US", "UK"}, True, "trailer"),
    ("Paddington 3 Official Trailer (Australia)", None, {"US", "UK"}, False, "region AU"),
    ("Pushpa 3 Hindi Trailer", None, set(), True, "trailer"),  # no region filter: passes
])
def test_detection_table(title, url, regions, detected, why):
    d = decide(title, url, keywords=KW, regions=regions)
    assert d.detected is detected and why in (d.reason + (d.keyword or ""))


def test_keywords_and_regions_parsing():
    assert parse_keywords("trailer, first look , ,SNEAK PEEK") == ["trailer", "first look", "sneak peek"]
    assert decide("Exclusive First Look at Blade", None, keywords=parse_keywords("first look")).detected
    assert parse_regions("US, uk,australia") == {"US", "UK", "AU"}
    assert title_regions("Film (UK) Official Trailer") == {"UK"}


@given(st.text(max_size=60))
def test_shorts_never_detected(title):
    assert not decide(title + " #shorts", None, keywords=KW).detected
    assert not decide(title, "https://www.youtube.com/shorts/x", keywords=KW).detected


def test_channels_crud_resolution(client, auth, clean_state, youtube_base):
    r = client.post("/api/channels", json={"channelId": "@trailerhub"}, headers=auth)
    assert r.status_code == 201, r.text
    ch = r.json()["data"]
    assert ch["channelId"] == UC and ch["name"] == "Trailer Hub" and ch["status"] == "active"
    assert ch["handle"] == "@trailerhub"
    r = client.post("/api/channels", json={"name": "Again", "channelId": f"https://www.youtube.com/channel/{UC}"},
                    headers=auth)
    assert r.status_code == 409
    r = client.post("/api/channels", json={"channelId": "@nobody-here"}, headers=auth)
    assert r.status_code == 400 and "no YouTube channel" in r.json()["error"]["message"]
    r = client.post("/api/channels", json={"channelId": "not a handle!"}, headers=auth)
    assert r.status_code == 400
    lst = client.get("/api/channels", headers=auth).json()["data"]
    assert [c["channelId"] for c in lst] == [UC]
    r = client.patch(f"/api/channels/{ch['id']}", json={"status": "inactive", "name": "TH"}, headers=auth)
    assert r.json()["data"]["status"] == "inactive" and r.json()["data"]["name"] == "TH"
    assert client.delete(f"/api/channels/{ch['id']}", headers=auth).status_code == 200
    assert client.delete(f"/api/channels/{ch['id']}", headers=auth).status_code == 404
    assert client.get("/api/channels/activity", headers=auth).json()["data"] == []


def test_polling_detects_new_trailers_and_notifies(client, auth, clean_state, youtube_base):
    from shared.channels.poller import poll_due_channels
    from shared.db import connection

    yt = youtube_base
    set_settings(regionFilter="US,UK", advancedFilters="trailer, official, teaser", excludeShorts=True)
    feed_path = f"/feeds/videos.xml?channel_id={UC}"
    yt.route(feed_path, yt_feed([("old00000001", "Old Official Trailer", 600, False),
                                 ("fresh000001", "Brand New Teaser", 2, False)]), content_type="application/atom+xml")
    ch = client.post("/api/channels", json={"channelId": UC}, headers=auth).json()["data"]
    first = asyncio.run(poll_due_channels())
    assert first == {"due": 1, "checked": 1, "failed": 0, "detections": 1}  # only the fresh one on first check
    yt.route(feed_path, yt_feed([
        ("new00000001", "MEGALOPOLIS 2 | Official Trailer", 1, False),
        ("new00000002", "Official Trailer #shorts", 1, True),
        ("new00000003", "Cast interview", 1, False),
        ("new00000004", "Kalki 2 Hindi Trailer", 1, False),
        ("old00000001", "Old Official Trailer", 600, False),
        ("fresh000001", "Brand New Teaser", 2, False)]), content_type="application/atom+xml")
    with connection() as conn:
        conn.execute("UPDATE yt_channels SET next_run_at = now() - interval '1 second'")
    second = asyncio.run(poll_due_channels())
    assert second["detections"] == 1
    det = client.get("/api/channels/activity", headers=auth).json()["data"]
    assert [d["title"] for d in det] == ["MEGALOPOLIS 2 | Official Trailer", "Brand New Teaser"]
    assert det[0]["channel"] == {"id": ch["id"], "name": "Trailer Hub"} and det[0]["publishedAt"]
    with connection() as conn:
        reasons = {r["video_id"]: r["reason"] for r in conn.execute("SELECT video_id, reason FROM yt_videos")}
        notes = [r["title"] for r in conn.execute("SELECT title FROM notifications WHERE source = 'youtube'")]
    assert reasons["new00000002"] == "YouTube Short" and "region IN" in reasons["new00000004"]
    assert reasons["new00000003"] == "no trailer keyword in the title"
    assert sorted(notes) == ["New trailer: Brand New Teaser", "New trailer: MEGALOPOLIS 2 | Official Trailer"]
    assert client.get("/api/channels", headers=auth).json()["data"][0]["videoCount"] == 6
    # not due again until its interval passes; inactive channels are never polled
    assert asyncio.run(poll_due_channels())["due"] == 0
    client.patch(f"/api/channels/{ch['id']}", json={"status": "inactive"}, headers=auth)
    with connection() as conn:
        conn.execute("UPDATE yt_channels SET next_run_at = now() - interval '1 second'")
    assert asyncio.run(poll_due_channels())["due"] == 0


def test_channel_feed_failure_backs_off(client, auth, clean_state, youtube_base):
    from shared.channels.poller import poll_due_channels
    from shared.db import connection

    youtube_base.route(f"/feeds/videos.xml?channel_id={UC}", b"", status=500)
    client.post("/api/channels", json={"channelId": UC}, headers=auth)
    res = asyncio.run(poll_due_channels())
    assert res["failed"] == 1
    ch = client.get("/api/channels", headers=auth).json()["data"][0]
    assert "server error (500)" in ch["errorMessage"]
    with connection() as conn:
        assert conn.execute("SELECT next_run_at - last_checked_at AS d FROM yt_channels").fetchone()["d"] == \
            timedelta(minutes=5)
