"""The polling tick: due selection, Redis locks against overlapping ticks, fan-out when over budget, costs;
and the activity actions (approve, retry, delete)."""

import asyncio
import threading
from datetime import timedelta

import pytest
import rss_samples as S
from rss_helpers import set_settings, wait_for

from shared.local.feed_server import FeedServer


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    yield srv
    srv.stop()


def make_feeds(client, auth, server, n, prefix, **extra):
    ids = []
    for i in range(n):
        url = server.route(f"/{prefix}{i}.xml", S.rss_items(f"{prefix} {i}", [(f"{prefix}{i}-0", "seed",
                                                                               f"https://e.com/{prefix}{i}/0")]))
        r = client.post("/api/rss/feeds", json={"url": url, **extra}, headers=auth)
        assert r.status_code == 201, r.text
        ids.append(r.json()["data"]["id"])
    return ids


def make_due(ids=None):
    from shared.db import connection

    with connection() as conn:
        conn.execute("UPDATE rss_feeds SET next_run_at = now() - interval '1 second'")


def test_overlapping_ticks_never_fetch_a_feed_twice(client, auth, clean_state, server, backing):
    from shared.rss import poller

    make_feeds(client, auth, server, 5, "ov")
    for i in range(5):
        server.route(f"/ov{i}.xml", S.rss_items(f"ov {i}", [(f"ov{i}-0", "seed", f"https://e.com/ov{i}/0")]),
                     slow_seconds=0.4)
    make_due()
    before = {f"/ov{i}.xml": server.hits.get(f"/ov{i}.xml", 0) for i in range(5)}
    backing.redis_counter.reset()
    reports = [None, None]

    def run(k):
        reports[k] = asyncio.run(poller.tick(with_channels=False))
    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for path, n in before.items():
        assert server.hits[path] == n + 1, path
    assert sorted(r.locked for r in reports) in ([0, 5], [1, 4], [2, 3]) and sum(r.locked for r in reports) == 5
    assert sum(r.processed for r in reports) == 5
    # the whole cost in Redis: one lock script and one release script per tick
    assert set(backing.redis_counter.by_command) == {"EVAL"} and backing.redis_counter.total <= 4
    # next tick: nothing due
    again = asyncio.run(poller.tick(with_channels=False))
    assert again.due == 0 and again.processed == 0
    # each feed's next run follows its own interval
    from shared.db import connection

    with connection() as conn:
        gaps = [r["g"] for r in conn.execute("SELECT next_run_at - last_fetched_at AS g FROM rss_feeds")]
    assert set(gaps) == {timedelta(minutes=10)}


def test_all_not_modified_tick_is_one_write(client, auth, clean_state, server):
    from shared.rss import poller

    make_feeds(client, auth, server, 3, "nm")
    for i in range(3):
        server.route(f"/nm{i}.xml", S.rss_items(f"nm {i}", [(f"nm{i}-0", "seed", f"https://e.com/nm{i}/0")]),
                     etag=f'"nm{i}"')
    make_due()
    first = asyncio.run(poller.tick(with_channels=False))  # stores the ETags
    assert first.processed == 3 and first.not_modified == 0
    make_due()
    second = asyncio.run(poller.tick(with_channels=False))
    assert second.processed == 3 and second.not_modified == 3 and second.messages == 0


def test_fan_out_when_due_work_exceeds_the_budget(client, auth, clean_state, server, backing, live_api,
                                                  monkeypatch):
    from shared.config import get_config
    from shared.rss import poller

    make_feeds(client, auth, server, 5, "fo")
    make_due()
    monkeypatch.setenv("RSS_FETCH_CONCURRENCY", "1")
    monkeypatch.setenv("RSS_TICK_BUDGET_SECONDS", "4")  # capacity = 1 × 4 / 2 = 2 feeds per invocation
    get_config.cache_clear()
    try:
        before = {f"/fo{i}.xml": server.hits.get(f"/fo{i}.xml", 0) for i in range(5)}
        def chunks():  # the dispatcher's own wake-ups may run meanwhile: count the fetch chunks only
            return sum(1 for m in backing.emulator.state.messages.values() if m.url.endswith(poller.FETCH_PATH))
        published = chunks()
        report = asyncio.run(poller.tick(with_channels=False))
        assert report.due == 5 and report.processed == 2 and report.fanned_out == 3 and report.messages == 2
        assert chunks() - published == 2
        wait_for(lambda: all(server.hits.get(p, 0) == n + 1 for p, n in before.items()), timeout=30)
        # and nothing more: every feed fetched exactly once
        import time
        time.sleep(0.3)
        assert all(server.hits.get(p, 0) == n + 1 for p, n in before.items())
    finally:
        monkeypatch.delenv("RSS_FETCH_CONCURRENCY")
        monkeypatch.delenv("RSS_TICK_BUDGET_SECONDS")
        get_config.cache_clear()


def test_paused_and_disabled_feeds_are_not_polled(client, auth, clean_state, server):
    from shared.rss import poller

    ids = make_feeds(client, auth, server, 2, "pz")
    client.put(f"/api/rss/feeds/{ids[0]}", json={"status": "paused"}, headers=auth)
    client.put(f"/api/rss/feeds/{ids[1]}", json={"enabled": False}, headers=auth)
    make_due()
    assert asyncio.run(poller.tick(with_channels=False)).due == 0


def test_refresh_all(client, auth, clean_state, server):
    make_feeds(client, auth, server, 2, "ra")
    server.route("/ra1.xml", b"", status=500)
    d = client.post("/api/rss/refresh", headers=auth).json()["data"]
    assert d == {"total": 2, "success": 1, "failed": 1, "skipped": 0}


def test_approve_retry_and_delete_activity(client, auth, clean_state, server, backing, live_api):
    from shared.db import connection

    set_settings(quietHoursEnabled=False, rssPostingInterval="0", publishMode="dry_run")
    [fid] = make_feeds(client, auth, server, 1, "ac", platformsEnabled={"x": True, "threads": False})
    server.route("/ac0.xml", S.rss_items("ac 0", [("ac0-2", "Second story", "https://e.com/ac/2"),
                                                  ("ac0-1", "First story", "https://e.com/ac/1"),
                                                  ("ac0-0", "seed", "https://e.com/ac0/0")]))
    client.post(f"/api/rss/feeds/{fid}/refresh", json={}, headers=auth)
    items = {i["title"]: i for i in client.get("/api/rss/activity", headers=auth).json()["data"]["items"]}
    first, second = items["First story"], items["Second story"]
    assert first["status"] == "pending" and second["status"] == "pending"
    # retry is only for failed items
    r = client.post(f"/api/rss/activity/{first['id']}/retry", headers=auth)
    assert r.status_code == 400 and "only failed items" in r.json()["error"]["message"]
    # approve plans the post and it is delivered
    d = client.post(f"/api/rss/activity/{first['id']}/approve", headers=auth).json()["data"]
    assert d["plannedPosts"][0]["platform"] == "x"
    wait_for(lambda: client.get("/api/rss/activity", headers=auth).json()["data"]["summary"]["published"] == 1)
    # a failed post can be retried: it gets a new version and a new message, and goes through
    with connection() as conn:
        conn.execute("UPDATE rss_planned_posts SET status = 'failed', error = 'x: boom' WHERE item_id = %s",
                     (first["id"],))
        conn.execute("UPDATE rss_items SET status = 'failed', error = 'x: boom' WHERE id = %s", (first["id"],))
    d = client.post(f"/api/rss/activity/{first['id']}/retry", headers=auth).json()["data"]
    assert d["status"] == "pending" and d["plannedPosts"][0]["version"] == 2
    wait_for(lambda: client.get("/api/rss/activity", headers=auth).json()["data"]["summary"] ==
             {"total": 2, "published": 1, "pending": 1, "failed": 0, "filtered": 0, "queued": 0})
    # delete hides the entry but keeps it for dedupe: a refresh does not bring it back
    assert client.delete(f"/api/rss/activity/{second['id']}", headers=auth).status_code == 200
    assert client.delete(f"/api/rss/activity/{second['id']}", headers=auth).status_code == 404
    client.post(f"/api/rss/feeds/{fid}/refresh", json={}, headers=auth)
    titles = [i["title"] for i in client.get("/api/rss/activity", headers=auth).json()["data"]["items"]]
    assert titles == ["First story"]


def test_concurrent_insert_of_the_same_item_is_a_no_op(clean_state, client, auth, server):
    from concurrent.futures import ThreadPoolExecutor

    from shared.db import connection
    from shared.rss import repo

    [fid] = make_feeds(client, auth, server, 1, "ci")
    row = {"dedupe_key": "g:same", "guid": "same", "title": "t", "link": None, "canonical_url": "",
           "norm_title": "t", "summary": "", "content_html": "", "published_at": None, "status": "new", "images": []}

    def insert(_):
        with connection() as conn:
            return len(repo.insert_items(conn, fid, [row]))
    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(insert, range(4)))
    assert sorted(results) == [0, 0, 0, 1]


def test_redis_outage_keeps_posts_planned_and_the_housekeeping_arms_them(client, auth, clean_state, server,
                                                                         backing, live_api, monkeypatch):
    import time

    from shared.db import connection
    from shared.rss import poller
    from shared.scheduling import dispatch

    set_settings(quietHoursEnabled=False, rssPostingInterval="0")
    [_fid] = make_feeds(client, auth, server, 1, "qo", autoPost=True,
                       platformsEnabled={"x": True, "threads": False}, platformImageCounts={"x": "1"})
    server.route("/qo0.xml", S.rss_items("qo 0", [("qo0-1", "Outage story", "https://e.com/qo/1"),
                                                  ("qo0-0", "seed", "https://e.com/qo0/0")]))
    real = dispatch.arm

    def down(items, **kw):
        raise ConnectionError("redis unreachable")
    monkeypatch.setattr(dispatch, "arm", down)
    make_due()
    asyncio.run(poller.tick(with_channels=False))
    with connection() as conn:
        post = conn.execute("SELECT id, status FROM rss_planned_posts").fetchone()
        logs = [r["message"] for r in conn.execute("SELECT message FROM activity_logs WHERE level = 'error'")]
    assert post["status"] == "planned"
    assert any("could not arm 1 planned post" in m for m in logs)
    monkeypatch.setattr(dispatch, "arm", real)
    dispatch.arm([("rss.housekeeping", "all", time.time())])  # the next window's housekeeping sweep
    wait_for(lambda: client.get("/api/rss/activity", headers=auth).json()["data"]["summary"]["published"] == 1)


def test_delivery_honours_platform_image_counts_and_fits_the_caption(client, auth, clean_state, server,
                                                                     monkeypatch):
    from psycopg.types.json import Jsonb

    from shared.db import connection
    from shared.publishing import gateway
    from shared.publishing.gateway import PublishOutcome
    from shared.rss import queue
    from shared.rss.textlength import caption_length

    [fid] = make_feeds(client, auth, server, 1, "ic", autoPost=True, platformImageCounts={"x": "2", "threads": "1"})
    long_caption = ("An exceptionally long caption about the new trailer " * 8) + "https://e.com/story/1"
    with connection() as conn:
        item = conn.execute(
            "INSERT INTO rss_items (feed_id, dedupe_key, title, link, status, caption, images) "
            "VALUES (%s, 'k', 'T', 'https://e.com/story/1', 'queued', %s, %s) RETURNING id",
            (fid, long_caption, Jsonb([{"url": f"https://img/{i}.png", "source": "feed", "reason": "r"}
                                       for i in range(3)] + [{"rejected": True, "url": "https://img/bad"}]))).fetchone()
        posts = [conn.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at) VALUES (%s, %s, now()) "
                              "RETURNING id", (item["id"], p)).fetchone()["id"] for p in ("x", "threads")]
    seen = []

    def capture(req):
        seen.append(req)
        return PublishOutcome(status="published", platform=req.platform, platform_post_id=f"id-{req.platform}")
    monkeypatch.setattr(gateway, "publish", capture)
    assert queue.deliver(str(posts[0]), 1)["status"] == "posted"
    assert queue.deliver(str(posts[1]), 1) == {"status": "posted", "platform": "threads", "item": "published"}
    x, threads = seen
    assert x.idempotency_key == f"rss:{item['id']}:x" and x.source == "rss"
    assert x.content["imageUrls"] == ["https://img/0.png", "https://img/1.png"]
    assert threads.content["imageUrls"] == ["https://img/0.png"]
    assert caption_length(x.content["text"], "x") <= 280 and x.content["text"].endswith("https://e.com/story/1")
    assert threads.content["text"] == long_caption  # fits Threads' 500
    d = client.get("/api/rss/activity", headers=auth).json()["data"]["items"][0]
    assert d["status"] == "published" and d["platformPostIds"] == {"x": "id-x", "threads": "id-threads"}
    assert not d["dryRun"]


def test_a_feed_deleted_mid_tick_does_not_sink_the_others(client, auth, clean_state, server):
    from shared.db import connection
    from shared.rss import pipeline, poller

    ids = make_feeds(client, auth, server, 3, "dm")
    for i in range(3):
        server.route(f"/dm{i}.xml", S.rss_items(f"dm {i}", [(f"dm{i}-1", "new", f"https://e.com/dm{i}/1"),
                                                            (f"dm{i}-0", "seed", f"https://e.com/dm{i}/0")]))
    make_due()
    real_store = pipeline._store

    def store_after_delete(feed, *a, **k):
        if str(feed["id"]) == ids[0]:
            with connection() as conn:
                conn.execute("DELETE FROM rss_feeds WHERE id = %s", (ids[0],))
        return real_store(feed, *a, **k)
    pipeline._store = store_after_delete
    try:
        report = asyncio.run(poller.tick(with_channels=False))
    finally:
        pipeline._store = real_store
    assert report.processed == 3 and report.failed == 1 and report.new_items == 2
    with connection() as conn:
        assert any("failed: ForeignKeyViolation" in r["message"] for r in conn.execute(
            "SELECT message FROM activity_logs WHERE level = 'error'"))


def test_per_host_politeness_limit(client, auth, clean_state, server, monkeypatch):
    from shared.config import get_config
    from shared.rss import poller

    make_feeds(client, auth, server, 6, "ph")
    for i in range(6):
        server.route(f"/ph{i}.xml", S.rss_items(f"ph {i}", [(f"ph{i}-0", "seed", f"https://e.com/ph{i}/0")]),
                     slow_seconds=0.25)
    make_due()
    monkeypatch.setenv("RSS_PER_HOST_CONCURRENCY", "2")
    get_config.cache_clear()
    try:
        server.max_inflight = 0
        report = asyncio.run(poller.tick(with_channels=False))
    finally:
        monkeypatch.delenv("RSS_PER_HOST_CONCURRENCY")
        get_config.cache_clear()
    assert report.processed == 6 and server.max_inflight == 2


def test_tick_prunes_old_item_text_but_keeps_identity(client, auth, clean_state, server):
    from shared.db import connection
    from shared.rss import poller

    [fid] = make_feeds(client, auth, server, 1, "pr")
    with connection() as conn:
        conn.execute(
            "INSERT INTO rss_items (feed_id, dedupe_key, title, status, content_html, summary, updated_at) VALUES "
            "(%s, 'old', 'Old', 'published', '<p>x</p>', 'x', now() - interval '8 days'), "
            "(%s, 'recent', 'Recent', 'published', '<p>y</p>', 'y', now() - interval '1 day'), "
            "(%s, 'waiting', 'Waiting', 'pending', '<p>z</p>', 'z', now() - interval '30 days')", (fid, fid, fid))
    asyncio.run(poller.tick(with_channels=False))
    with connection() as conn:
        rows = {r["dedupe_key"]: r["content_html"] for r in conn.execute(
            "SELECT dedupe_key, content_html FROM rss_items WHERE dedupe_key IN ('old', 'recent', 'waiting')")}
    assert rows == {"old": None, "recent": "<p>y</p>", "waiting": "<p>z</p>"}


def test_retry_an_item_that_failed_before_it_was_planned(client, auth, clean_state, server, backing, live_api,
                                                        monkeypatch):
    from shared.rss import pipeline

    set_settings(quietHoursEnabled=False, rssPostingInterval="0")
    [fid] = make_feeds(client, auth, server, 1, "rf", autoPost=True, platformsEnabled={"x": True, "threads": False})
    server.route("/rf0.xml", S.rss_items("rf 0", [("rf0-1", "Caption trouble", "https://e.com/rf/1"),
                                                  ("rf0-0", "seed", "https://e.com/rf0/0")]))

    async def broken(*a, **k):
        raise RuntimeError("caption service exploded")
    real = pipeline.make_caption
    monkeypatch.setattr(pipeline, "make_caption", broken)
    client.post(f"/api/rss/feeds/{fid}/refresh", json={}, headers=auth)
    item = client.get("/api/rss/activity", headers=auth).json()["data"]["items"][0]
    assert item["status"] == "failed" and "caption service exploded" in item["error"]
    assert item["description"] == "About Caption trouble."
    monkeypatch.setattr(pipeline, "make_caption", real)
    d = client.post(f"/api/rss/activity/{item['id']}/retry", headers=auth).json()["data"]
    assert d["caption"].startswith("Caption trouble") and d["plannedPosts"][0]["platform"] == "x"
    wait_for(lambda: client.get("/api/rss/activity", headers=auth).json()["data"]["summary"]["published"] == 1)


def test_interrupted_publishing_is_surfaced_as_failed(client, auth, clean_state, server):
    from shared.db import connection
    from shared.rss import poller

    [fid] = make_feeds(client, auth, server, 1, "ip")
    with connection() as conn:
        item = conn.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status) VALUES "
                            "(%s, 'ip', 'Stuck', 'queued') RETURNING id", (fid,)).fetchone()
        conn.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, status, updated_at) VALUES "
                     "(%s, 'x', now() - interval '1 hour', 'publishing', now() - interval '20 minutes')",
                     (item["id"],))
    asyncio.run(poller.tick(with_channels=False))
    d = client.get("/api/rss/activity", headers=auth).json()["data"]["items"][0]
    assert d["status"] == "failed" and d["plannedPosts"][0]["status"] == "failed"
