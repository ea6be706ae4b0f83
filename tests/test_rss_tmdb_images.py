"""A feed's `tmdbEnabled` image source: the film a headline names, found on TMDb (the validating local TMDb fake
on a real port), gives the item its backdrop and poster; only an exact title match is used; the feed's
`imageSourcePriority` decides whether TMDb comes before the feed's own image."""

from datetime import date

import pytest
import rss_samples as S
from rss_fakes import png_bytes
from rss_helpers import set_settings
from tmdb_support import fake_world

from shared.local.feed_server import FeedServer


def test_headline_subjects_quoted_first_then_before_a_marker_word():
    from shared.rss.tmdb_lookup import subject_queries

    assert subject_queries("'Dune: Part Three' Gets Its First Trailer") == ["Dune: Part Three"]
    assert subject_queries("\u2018Sinners\u2019 Box Office Climbs Again") == ["Sinners"]
    assert subject_queries('Marvel\'s "Blade" Reboot Finds a Director') == ["Blade"]
    assert subject_queries("Dune: Part Three Trailer Reveals Paul's Fate") == ["Dune: Part Three"]
    assert subject_queries("Severance Season 3 Gets a Date - Variety") == ["Severance"]
    assert subject_queries("Back to the Future Official Trailer") == ["Back to the Future"]
    # two titles quoted: both, in order; the marker prefix repeats one of them and is not added twice
    assert subject_queries("'Wicked' and 'Gladiator II' Trailers") == ["Wicked", "Gladiator II"]
    assert subject_queries("Studios report a quiet weekend") == []
    # labels, studios and verbs before the marker are not titles (some are also real films' titles)
    for headline in ("Weekend Box Office: Moana 2 Tops Again", "Film Review: Anora", "Exclusive Clip: Nosferatu",
                     "Netflix Drops Trailer for Stranger Things 5", "Sony Reveals Its Summer Slate",
                     "Apple Lands F1 Sequel", "Dune Gets Third Film Release Date"):
        assert subject_queries(headline) == [], headline
    assert subject_queries("Exclusive: The Batman Part II First Look") == ["The Batman Part II"]
    assert subject_queries("") == []


def test_only_an_exact_title_match_is_used_and_the_most_popular_wins():
    from shared.rss.tmdb_lookup import normalize, pick

    assert normalize("Dune: Part Three") == normalize("dune part three")
    assert normalize("Fast & Furious") == normalize("Fast and Furious")
    assert normalize("Amélie") == normalize("Amelie")
    results = [
        {"media_type": "movie", "id": 1, "title": "Dune: Part Three Making Of", "popularity": 99,
         "backdrop_path": "/a.png"},
        {"media_type": "person", "id": 2, "name": "Dune", "popularity": 99, "profile_path": "/p.png"},
        {"media_type": "movie", "id": 3, "title": "Dune: Part Three", "popularity": 50, "poster_path": "/b.png"},
        {"media_type": "tv", "id": 4, "name": "Dune: Part Three", "popularity": 70, "backdrop_path": "/c.png"},
        {"media_type": "movie", "id": 5, "title": "Dune: Part Three", "popularity": 900},  # no image at all
    ]
    m = pick(results, "dune part three")
    assert (m.media_type, m.tmdb_id, m.backdrop_path) == ("tv", 4, "/c.png")
    assert pick(results, "Dune") is None  # a person's name and partial titles never match
    assert pick([], "anything") is None


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    srv.route("/img/feed.png", png_bytes(1200, 800), content_type="image/png")
    srv.route("/plain/1", "<html><head><title>no images</title></head><body>x</body></html>",
              content_type="text/html")
    yield srv
    srv.stop()


def _feed_with_enclosure(server, title: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed</title>'
            '<link>https://example.org/</link><description>d</description>'
            f'<item><title>{title}</title><link>{server.url("/story/" + str(abs(hash(title))))}</link>'
            f'<guid>g-{abs(hash(title))}</guid>'
            '<pubDate>Sun, 01 Mar 2026 10:00:00 +0000</pubDate>'
            f'<enclosure url="{server.url("/img/feed.png")}" type="image/png" length="1"/>'
            '<description>About it.</description></item></channel></rss>')


def _new_item(client, auth, server, feed_body: dict, first: str, then_xml: str) -> dict:
    path = f"/tmdb-{abs(hash(first)) % 10**8}.xml"
    url = server.route(path, S.rss_items("Seed", [("s0", first, server.url("/plain/1"))]))
    feed = client.post("/api/rss/feeds", json={"url": url, **feed_body}, headers=auth).json()["data"]
    server.route(path, then_xml)
    r = client.post(f"/api/rss/feeds/{feed['id']}/refresh", json={}, headers=auth)
    assert r.status_code == 200, r.text
    items = client.get("/api/rss/activity", headers=auth).json()["data"]["items"]
    return next(i for i in items if i["feedId"] == feed["id"] and i["title"] != first)


def test_a_headline_naming_a_tmdb_film_gets_its_backdrop_then_its_poster(client, auth, clean_state, server):
    from shared.local.tmdb_fake import FAKE_KEY

    with fake_world(date.today()) as (fake, tmdb):
        set_settings(tmdbKey=FAKE_KEY)
        title = "'Skyline Protocol' Gets a Final Trailer"
        item = _new_item(client, auth, server, {"tmdbEnabled": True, "serperEnabled": False, "imageCount": "2"},
                         "Seed one", S.rss_items("Feed", [("t1", title, server.url("/plain/1"))]))
        assert item["imageSource"] == "tmdb"
        urls = item["imageUrls"]
        assert len(urls) == 2 and urls[0].startswith(tmdb.url + "/t/p/w1280/b") \
            and urls[1].startswith(tmdb.url + "/t/p/w780/p")
        assert [s["reason"] for s in item["selectedImages"]] == [
            "TMDb backdrop of 'Skyline Protocol' (movie)", "TMDb poster of 'Skyline Protocol' (movie)"]
        assert {s["source"] for s in item["selectedImages"]} == {"tmdb"}
        assert fake.count("search-multi") >= 1


def test_tmdb_first_puts_tmdb_before_the_feeds_own_image_and_is_not_asked_when_the_feed_suffices(
        client, auth, clean_state, server):
    from shared.local.tmdb_fake import FAKE_KEY

    with fake_world(date.today()) as (fake, tmdb):
        set_settings(tmdbKey=FAKE_KEY)
        first = _new_item(client, auth, server, {"tmdbEnabled": True, "serperEnabled": False, "imageCount": "1",
                                                 "imageSourcePriority": "tmdb_first"},
                          "Seed two", _feed_with_enclosure(server, "'Midnight Harbor' Trailer"))
        assert first["imageSource"] == "tmdb" and first["imageUrl"].startswith(tmdb.url + "/t/p/w1280/")
        asked = fake.count("search-multi")
        second = _new_item(client, auth, server, {"tmdbEnabled": True, "serperEnabled": False, "imageCount": "1"},
                           "Seed three", _feed_with_enclosure(server, "'Harborline' Season 2 Trailer"))
        assert second["imageSource"] == "feed" and second["imageUrl"] == server.url("/img/feed.png")
        assert fake.count("search-multi") == asked  # the feed's image was enough: no TMDb call


def test_no_exact_match_falls_back_and_says_why(client, auth, clean_state, server):
    from shared.local.tmdb_fake import FAKE_KEY

    with fake_world(date.today()) as (fake, _server):
        set_settings(tmdbKey=FAKE_KEY)
        # "Skyline" alone is a partial title: TMDb's search finds Skyline Protocol, the exact-match rule refuses it
        url = server.route("/tmdb-miss.xml", _feed_with_enclosure(server, "'Skyline' Teaser Trailer"))
        feed = client.post("/api/rss/feeds", json={"url": url, "tmdbEnabled": True, "serperEnabled": False,
                                                   "imageCount": "2"}, headers=auth).json()["data"]
        preview = client.get(f"/api/rss/feeds/{feed['id']}/preview", headers=auth).json()["data"]
        assert [i["source"] for i in preview["images"]] == ["feed"]
        assert {"url": None, "source": "tmdb", "reason": "no TMDb movie or series is titled 'Skyline'"} \
            in preview["rejectedImages"]
        assert fake.count("search-multi") >= 1
