"""A real YouTube channel feed, captured from youtube.com by another project (tests/fixtures/feeds/README.md), holds
our YouTube stand-in to what YouTube sends: the channel poller reads the real feed's video id, title, link and
time, and the stand-in (shared/local/youtube.py: the dev stack's and the tests' YouTube) serves the same elements
with the same attributes in the same places, so a test passing against the stand-in reads real feeds the same way.

(The stand-in writes the feed-level `yt:channelId` and `id` without the "UC" prefix, as YouTube's feeds have
done since late 2023 (https://github.com/gpodder/gpodder/pull/1587); this 2019 capture still has it. Only element
and attribute names are compared: the poller reads neither value.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import httpx

REAL = (Path(__file__).parent / "fixtures" / "feeds" / "youtube_channel_egucom2014.xml").read_bytes()
CHANNEL = "UC7vv3cBq14FRXajteZt6FEg"


def _shape(xml: bytes) -> set[tuple[str, frozenset[str]]]:
    """(element path, its attribute names) for every element; repeated entries fold into one."""
    out: set[tuple[str, frozenset[str]]] = set()

    def walk(el: ET.Element, path: str) -> None:
        here = f"{path}/{el.tag}"
        out.add((here, frozenset(el.attrib)))
        for child in el:
            walk(child, here)

    walk(ET.fromstring(xml), "")
    return out


def test_the_poller_reads_a_real_channel_feed():
    from shared.channels.detect import decide, parse_keywords
    from shared.channels.youtube import video_id
    from shared.rss.parser import parse_feed

    parsed = parse_feed(REAL, content_type="application/atom+xml; charset=UTF-8",
                        url=f"https://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}")
    [entry] = parsed.entries
    assert video_id(entry) == "palm1QdV8ZI"
    assert entry.title == "[EGU] Erstes Offizielles Intro"
    assert entry.link == "https://www.youtube.com/watch?v=palm1QdV8ZI"
    assert entry.published_at == datetime(2017, 9, 30, 18, 44, 7, tzinfo=timezone.utc)
    assert decide(entry.title, entry.link, keywords=parse_keywords(None)).detected is False  # an intro, not a trailer


def test_the_local_youtube_serves_the_shape_of_a_real_feed():
    from shared.local.youtube import start

    server, _ = start()
    try:
        r = httpx.get(f"{server.url}/feeds/videos.xml", params={"channel_id": CHANNEL}, timeout=10)
    finally:
        server.stop()
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    ours, real = _shape(r.content), _shape(REAL)
    assert ours == real, {"only in the stand-in": sorted(ours - real), "only in YouTube's": sorted(real - ours)}
