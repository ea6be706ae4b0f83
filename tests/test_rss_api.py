"""Feeds API and the pipeline behind it, against the local feed server and the real Postgres/Redis."""

import pytest
import rss_samples as S
from rss_fakes import png_bytes
from rss_helpers import article_html, set_settings

from shared.local.feed_server import FeedServer


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    srv.route("/img/hero.png", png_bytes(1280, 720), content_type="image/png")
    srv.route("/img/tiny.png", png_bytes(100, 100), content_type="image/png")
    srv.route("/img/fake.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    srv.route("/article/1", article_html("/img/hero.png"), content_type="text/html")
    yield srv
    srv.stop()


def items(server, entries, title="Movie News"):
    """entries: (guid, title, path-of-link)"""
    return S.rss_items(title, [(g, t, server.url(p)) for g, t, p in entries])


def create(client, auth, url, **extra):
    r = client.post("/api/rss/feeds", json={"url": url, **extra}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def activity(client, auth, limit=100):
    r = client.get(f"/api/rss/activity?limit={limit}", headers=auth)
    assert r.status_code == 200
    return r.json()["data"]


def refresh(client, auth, feed_id, manual=False):
    r = client.post(f"/api/rss/feeds/{feed_id}/refresh", json={"manualRun": manual}, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_create_fills_name_and_favicon_and_seeds_without_posting(client, auth, clean_state, server):
    url = server.route("/news.xml", items(server, [("a1", "Old story one", "/a/1"), ("a2", "Old story two", "/a/2")]))
    feed = create(client, auth, url)
    assert feed["name"] == "Movie News" and feed["favicon"] == "https://example.org/favicon.ico"
    assert feed["status"] == "active" and feed["interval"] == 10 and feed["autoPost"] is False
    assert feed["platformsEnabled"] == {"x": True, "threads": True, "facebook": False, "pinterest": False}
    # existing items are remembered, not posted, not in the activity list
    assert activity(client, auth)["summary"]["total"] == 0
    # a refresh with nothing new adds nothing
    res = refresh(client, auth, feed["id"])
    assert res["itemsAdded"] == 0 and res["feedName"] == "Movie News"


def test_create_rejects_non_feeds_with_clear_400(client, auth, clean_state, server):
    page = server.route("/home.html", S.HTML_PAGE, content_type="text/html")
    r = client.post("/api/rss/feeds", json={"url": page}, headers=auth)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_ERROR" and "HTML page" in err["message"]
    assert err["details"]["discovered"] == [server.url("/feed.xml")]
    r = client.post("/api/rss/feeds", json={"url": server.url("/missing.xml")}, headers=auth)
    assert r.status_code == 400 and "404" in r.json()["error"]["message"]
    r = client.post("/api/rss/feeds", json={"url": "ftp://x"}, headers=auth)
    assert r.status_code == 400
    assert client.get("/api/rss/feeds", headers=auth).json()["data"] == []


def test_list_order_update_reorder_delete(client, auth, clean_state, server):
    u1 = server.route("/f1.xml", S.rss_items("Feed One", [("1", "t", "https://e.com/1")]))
    u2 = server.route("/f2.xml", S.rss_items("Feed Two", [("2", "t", "https://e.com/2")]))
    f1, f2 = create(client, auth, u1), create(client, auth, u2)
    names = [f["name"] for f in client.get("/api/rss/feeds", headers=auth).json()["data"]]
    assert names == ["Feed Two", "Feed One"]  # newest first at equal... new feeds go on top
    r = client.post("/api/rss/feeds/reorder", json={"orderedIds": [f1["id"], f2["id"]]}, headers=auth)
    assert [f["name"] for f in r.json()["data"]] == ["Feed One", "Feed Two"]
    for bad in (0, 61):
        r = client.put(f"/api/rss/feeds/{f1['id']}", json={"interval": bad}, headers=auth)
        assert r.status_code == 400 and "interval" in r.json()["error"]["message"]
    body = {"interval": 1, "status": "paused", "autoPost": True, "imageCount": "random",
            "platformsEnabled": {"x": True, "threads": False, "facebook": True, "pinterest": False},
            "filters": {"scope": "title", "required": [{"text": "trailer", "matchType": "contains",
                                                        "caseSensitive": False, "active": True}], "blocked": []}}
    r = client.put(f"/api/rss/feeds/{f1['id']}", json=body, headers=auth)
    got = r.json()["data"]
    assert got["interval"] == 1 and got["status"] == "paused" and got["autoPost"] and got["imageCount"] == "random"
    assert got["platformsEnabled"]["facebook"] and not got["platformsEnabled"]["threads"]
    assert got["filters"]["required"][0]["text"] == "trailer"
    assert client.put(f"/api/rss/feeds/{f1['id']}", json={"status": "active"}, headers=auth).json()["data"][
        "status"] == "active"
    assert client.delete(f"/api/rss/feeds/{f2['id']}", headers=auth).status_code == 200
    assert client.delete(f"/api/rss/feeds/{f2['id']}", headers=auth).status_code == 404
    assert client.put("/api/rss/feeds/not-a-uuid", json={}, headers=auth).status_code == 404
    assert client.get("/api/rss/feeds").status_code == 401


def test_preview_url(client, auth, clean_state, server):
    url = server.route("/rss2.xml", S.RSS2_CONTENT_MEDIA)
    r = client.post("/api/rss/preview", json={"url": url}, headers=auth)
    d = r.json()["data"]
    assert d["title"] == "Screen News Daily" and d["itemCount"] == 2
    assert d["sampleItems"][0]["imageUrl"] == "https://cdn.screennews.example/dune3-hero.jpg"
    assert d["sampleItems"][0]["pubDate"] == "2026-03-01T10:00:00Z"


def test_new_items_pending_filtered_and_deduped_across_feeds(client, auth, clean_state, server):
    set_settings(rssLogLevel="standard")
    path = "/pipe.xml"
    url = server.route(path, items(server, [("p0", "Seed item", "/article/0")]))
    feed = create(client, auth, url, filters={"scope": "title", "required": [], "blocked": [
        {"text": "rumor", "matchType": "contains", "caseSensitive": False, "active": True}]})
    server.route(path, items(server, [
        ("p3", "Rumor: sequel in talks", "/article/3"),
        ("p2", "Dune Part Three official trailer is here", "/article/1"),
        ("p0", "Seed item", "/article/0"),
    ]))
    res = refresh(client, auth, feed["id"])
    assert res["itemsAdded"] == 2 and res["pendingCount"] == 1 and res["selectionMode"] == "backlog"
    act = activity(client, auth)
    by_title = {i["title"]: i for i in act["items"]}
    rumor = by_title["Rumor: sequel in talks"]
    assert rumor["status"] == "filtered" and 'blocked keyword "rumor"' in rumor["reason"]
    dune = by_title["Dune Part Three official trailer is here"]
    assert dune["status"] == "pending" and "autoPost is off" in dune["reason"]
    assert dune["imageUrl"] == server.url("/img/hero.png") and dune["imageReason"] == "article page og:image"
    assert dune["caption"].startswith("Dune Part Three official trailer is here")
    assert dune["caption"].rstrip().endswith(server.url("/article/1"))
    assert act["summary"] == {"total": 2, "published": 0, "pending": 1, "failed": 0, "filtered": 1, "queued": 0}
    # a second feed carrying the same story (same canonical URL with tracking params) is deduped
    url2 = server.route("/other.xml", items(server, [("o0", "x", "/other/0")], title="Other"))
    feed2 = create(client, auth, url2)
    server.route("/other.xml", items(server, [
        ("o1", "DUNE: Part Three — official trailer is here!", "/totally/different"),
        ("o2", "Another site, same link", "/article/1?utm_source=rss&utm_medium=x"),
        ("o0", "x", "/other/0")], title="Other"))
    refresh(client, auth, feed2["id"])
    act = {i["title"]: i for i in activity(client, auth)["items"]}
    assert act["DUNE: Part Three — official trailer is here!"]["status"] == "filtered"
    assert "near-identical title" in act["DUNE: Part Three — official trailer is here!"]["reason"]
    assert "same article URL" in act["Another site, same link"]["reason"]
    from shared.db import connection  # activity_logs is what GET /api/logs serves

    with connection() as conn:
        msgs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs WHERE service = 'rss'")]
    assert any(m.startswith("filtered: Rumor") for m in msgs)
    assert any(m.startswith("deduped: DUNE") for m in msgs)
    assert any(m.startswith("pending approval: Dune") for m in msgs)
    assert any(m.startswith("fetched Movie News: 2 new item(s)") for m in msgs)


def test_manual_run_latest_item_and_image_checks(client, auth, clean_state, server):
    url = server.route("/latest.xml", S.rss_items("Latest", [
        ("l1", "Newest trailer drop", server.url("/article/1")), ("l0", "Older", server.url("/article/0"))]))
    feed = create(client, auth, url, imageCount="3")
    res = refresh(client, auth, feed["id"], manual=True)
    assert res["selectionMode"] == "latest_item" and res["latestItemTitle"] == "Newest trailer drop"
    item = activity(client, auth)["items"][0]
    assert item["title"] == "Newest trailer drop" and item["status"] == "pending"
    # og:image and twitter:image are the same picture: counted once; 3 wanted, 1 good one available
    assert item["imageUrls"] == [server.url("/img/hero.png")]
    # running it again does not create a second entry for the same item
    refresh(client, auth, feed["id"], manual=True)
    assert activity(client, auth)["summary"]["total"] == 1


def test_feed_preview_dry_run(client, auth, clean_state, server):
    body = S.RSS2_CONTENT_MEDIA.replace("https://cdn.screennews.example/dune3-hero.jpg", server.url("/img/fake.jpg"))
    body = body.replace("https://cdn.screennews.example/dune3-thumb.jpg", server.url("/img/tiny.png"))
    body = body.replace("/images/dune3-inline.jpg", server.url("/img/hero.png"))
    url = server.route("/prev.xml", body)
    feed = create(client, auth, url)
    d = client.get(f"/api/rss/feeds/{feed['id']}/preview", headers=auth).json()["data"]
    assert d["title"] == "Dune: Part Three gets its first official trailer"
    assert d["images"] == [{"url": server.url("/img/hero.png"), "reason": "first image in the article content",
                            "source": "feed", "width": 1280, "height": 720}]
    reasons = {r["url"]: r["reason"] for r in d["rejectedImages"]}
    assert "not a PNG/JPEG/GIF/WebP" in reasons[server.url("/img/fake.jpg")]
    assert "too small (100×100" in reasons[server.url("/img/tiny.png")]
    assert d["captionCharCount"] <= 280 and d["caption"].startswith("Dune: Part Three")
    assert activity(client, auth)["summary"]["total"] == 0  # a dry run stores nothing


def test_failures_backoff_notify_and_auto_pause(client, auth, clean_state, server, monkeypatch):
    from shared.config import get_config
    from shared.db import connection

    path = "/flaky.xml"
    url = server.route(path, S.rss_items("Flaky", [("f1", "t", "https://e.com/1")]))
    feed = create(client, auth, url)
    server.route(path, S.HTML_PAGE, content_type="text/html")
    res = refresh(client, auth, feed["id"])
    assert "HTML page" in res["error"]
    f = client.get("/api/rss/feeds", headers=auth).json()["data"][0]
    assert f["status"] == "error" and "HTML page" in f["errorMessage"] and f["consecutiveFailures"] == 1
    with connection() as conn:
        row = conn.execute("SELECT next_run_at - last_fetched_at AS d FROM rss_feeds").fetchone()
        assert row["d"].total_seconds() == 300
        notes = conn.execute("SELECT type, title FROM notifications").fetchall()
    assert notes == [{"type": "warning", "title": "RSS feed failing: Flaky"}]
    monkeypatch.setenv("RSS_AUTO_PAUSE_FAILURES", "3")
    get_config.cache_clear()
    try:
        server.route(path, b"", status=503)
        refresh(client, auth, feed["id"])
        with connection() as conn:
            row = conn.execute("SELECT next_run_at - last_fetched_at AS d, status FROM rss_feeds").fetchone()
        assert row["d"].total_seconds() == 600 and row["status"] == "error"
        refresh(client, auth, feed["id"])
        f = client.get("/api/rss/feeds", headers=auth).json()["data"][0]
        assert f["status"] == "paused" and "server error (503)" in f["errorMessage"]
        with connection() as conn:
            titles = [r["title"] for r in conn.execute("SELECT title FROM notifications ORDER BY created_at")]
        assert titles == ["RSS feed failing: Flaky", "RSS feed paused: Flaky"]
        # a success after resuming resets the streak and the status
        server.route(path, S.rss_items("Flaky", [("f1", "t", "https://e.com/1")]))
        client.put(f"/api/rss/feeds/{feed['id']}", json={"status": "active"}, headers=auth)
        refresh(client, auth, feed["id"])
        f = client.get("/api/rss/feeds", headers=auth).json()["data"][0]
        assert f["status"] == "active" and f["consecutiveFailures"] == 0 and f["errorMessage"] is None
    finally:
        monkeypatch.delenv("RSS_AUTO_PAUSE_FAILURES")
        get_config.cache_clear()


def test_real_world_feeds_end_in_the_right_state(client, auth, clean_state, server, monkeypatch):
    """301 stored as the new URL, 304 kept quiet, gzip, cp1252, BOM, duplicate and missing guids, truncated XML,
    endless body and a slow server: each ends in the right state, nothing lost, nothing crashes."""
    from shared.db import connection

    server.route("/final.xml", S.DUPLICATE_GUIDS, etag='"dg"')
    server.route("/old-home.xml", redirect_to="/final.xml", status=301)
    feed = create(client, auth, server.url("/old-home.xml"))
    assert feed["url"] == server.url("/final.xml")
    with connection() as conn:
        titles = sorted(r["title"] for r in conn.execute("SELECT title FROM rss_items WHERE feed_id = %s",
                                                          (feed["id"],)))
    assert titles == ["First story", "Second story", "Third story"]  # a shared guid loses neither item
    hits = server.hits.get("/final.xml", 0)
    res = refresh(client, auth, feed["id"])
    assert res["notModified"] is True and server.hits["/final.xml"] == hits + 1

    for path, body, kw, expected in [
        ("/gz2.xml", S.RSS2_CONTENT_MEDIA, {"gzip": True}, 2),
        ("/cp.xml", S.WIN1252, {"content_type": "application/rss+xml"}, 1),
        ("/bom2.xml", S.BOM_UTF8, {}, 1),
        ("/noguid.xml", S.MISSING_GUIDS, {}, 3),
        ("/trunc.xml", S.TRUNCATED, {}, 2),
    ]:
        f = create(client, auth, server.route(path, body, **kw))
        with connection() as conn:
            n = conn.execute("SELECT count(*) AS n FROM rss_items WHERE feed_id = %s", (f["id"],)).fetchone()["n"]
        assert n >= expected, path
    with connection() as conn:
        assert conn.execute("SELECT title FROM rss_items WHERE title LIKE 'Am%%lie%%'").fetchone()["title"] == \
            "Amélie returns – “official” news"

    slow = create(client, auth, server.route("/slowly.xml", S.rss_items("Slow", [("s", "t", "https://e.com/s")])))
    server.route("/slowly.xml", S.rss_items("Slow", []), slow_seconds=1.5)
    from shared.config import get_config

    monkeypatch.setenv("RSS_FETCH_TIMEOUT_SECONDS", "0.5")
    get_config.cache_clear()
    try:
        res = refresh(client, auth, slow["id"])
    finally:
        monkeypatch.delenv("RSS_FETCH_TIMEOUT_SECONDS")
        get_config.cache_clear()
    assert "no complete answer" in res["error"]
    endless = create(client, auth, server.route("/endless2.xml", S.rss_items("E", [("e", "t", "https://e.com/e")])))
    server.route("/endless2.xml", endless=True)
    res = refresh(client, auth, endless["id"])
    assert "cap" in res["error"]
    feeds = {f["name"]: f for f in client.get("/api/rss/feeds", headers=auth).json()["data"]}
    assert feeds["Slow"]["status"] == "error" and feeds["E"]["status"] == "error"
    with connection() as conn:  # failures lost nothing
        assert conn.execute("SELECT count(*) AS n FROM rss_items WHERE feed_id = %s",
                            (slow["id"],)).fetchone()["n"] == 1


def test_stored_html_is_sanitised(client, auth, clean_state, server):
    doc = S.RSS2_CONTENT_MEDIA.replace("<p>More inside.</p>",
                                       '<p onclick="steal()">More <script>alert(1)</script>inside.</p>'
                                       '<a href="javascript:evil()">x</a>')
    url = server.route("/xss.xml", doc)
    feed = create(client, auth, url)
    res = refresh(client, auth, feed["id"], manual=True)
    assert res["selectionMode"] == "latest_item"
    item = activity(client, auth)["items"][0]
    html = item["contentHtml"]
    assert "<strong>finale</strong>" in html and "More" in html
    assert "script" not in html and "onclick" not in html and "javascript:" not in html
    assert item["description"].startswith("Denis Villeneuve")


def test_duplicate_url_url_change_and_interval_change(client, auth, clean_state, server):
    from datetime import datetime, timedelta, timezone

    from shared.db import connection

    url = server.route("/dupe.xml", S.rss_items("Dupe", [("d1", "one", "https://e.com/d1")]))
    feed = create(client, auth, url)
    r = client.post("/api/rss/feeds", json={"url": url}, headers=auth)
    assert r.status_code == 409 and r.json()["error"]["code"] == "CONFLICT"
    # a lower interval brings the next run closer
    client.put(f"/api/rss/feeds/{feed['id']}", json={"interval": 60}, headers=auth)
    f = client.put(f"/api/rss/feeds/{feed['id']}", json={"interval": 2}, headers=auth).json()["data"]
    nxt = datetime.fromisoformat(f["nextRunAt"].replace("Z", "+00:00"))
    assert nxt - datetime.now(timezone.utc) <= timedelta(minutes=2)
    # a new URL must be a feed, and its current items are remembered, not posted
    page = server.route("/notfeed.html", S.HTML_PAGE, content_type="text/html")
    r = client.put(f"/api/rss/feeds/{feed['id']}", json={"url": page}, headers=auth)
    assert r.status_code == 400 and "HTML page" in r.json()["error"]["message"]
    new = server.route("/moved-feed.xml", S.rss_items("Dupe", [("m1", "moved one", "https://e.com/m1"),
                                                               ("m2", "moved two", "https://e.com/m2")]))
    f = client.put(f"/api/rss/feeds/{feed['id']}", json={"url": new}, headers=auth).json()["data"]
    assert f["url"] == new
    assert refresh(client, auth, feed["id"])["itemsAdded"] == 0
    assert activity(client, auth)["summary"]["total"] == 0
    with connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM rss_items WHERE status = 'seen'").fetchone()["n"] == 3


def test_full_log_level_records_quiet_fetches(client, auth, clean_state, server):
    from shared.db import connection

    set_settings(rssLogLevel="full")
    url = server.route("/quiet.xml", S.rss_items("Quiet", [("q1", "one", "https://e.com/q1")]), etag='"q"')
    feed = create(client, auth, url)
    refresh(client, auth, feed["id"])  # the ETag stored at creation makes this a 304
    with connection() as conn:
        msgs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs WHERE service = 'rss'")]
    assert "fetched Quiet: not modified" in msgs


def test_echoing_the_whole_feed_back_changes_only_what_changed(client, auth, clean_state, server):
    url = server.route("/echo.xml", S.rss_items("Echo", [("e1", "one", "https://e.com/e1")]))
    feed = create(client, auth, url)
    server.route("/echo.xml", b"", status=500)
    refresh(client, auth, feed["id"])
    errored = client.get("/api/rss/feeds", headers=auth).json()["data"][0]
    assert errored["status"] == "error"
    body = {**errored, "autoPost": True}  # the UI toggles one switch and sends the object back
    r = client.put(f"/api/rss/feeds/{feed['id']}", json=body, headers=auth)
    assert r.status_code == 200, r.text
    got = r.json()["data"]
    assert got["autoPost"] is True and got["status"] == "error" and got["consecutiveFailures"] == 1
    assert got["nextRunAt"] == errored["nextRunAt"]


def test_partial_platform_update_keeps_the_other_flags(client, auth, clean_state, server):
    url = server.route("/plat.xml", S.rss_items("Plat", [("p1", "one", "https://e.com/p1")]))
    feed = create(client, auth, url, platformsEnabled={"x": False, "threads": True, "facebook": True,
                                                       "pinterest": False})
    got = client.put(f"/api/rss/feeds/{feed['id']}", json={"platformsEnabled": {"pinterest": True}},
                     headers=auth).json()["data"]["platformsEnabled"]
    assert got == {"x": False, "threads": True, "facebook": True, "pinterest": True}
