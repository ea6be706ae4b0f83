"""Review findings on the RSS pipeline: each test fails without its fix."""

import asyncio

import pytest

import rss_samples as S
from rss_helpers import set_settings, wait_for

from shared.local.feed_server import FeedServer


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    yield srv
    srv.stop()


def make_feed(client, auth, server, name, **extra) -> str:
    url = server.route(f"/{name}.xml", S.rss_items(name, [(f"{name}-0", "seed", f"https://e.com/{name}/0")]))
    r = client.post("/api/rss/feeds", json={"url": url, **extra}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def item_status(item_id: str) -> str:
    from shared.rss.service import get_activity_item

    return get_activity_item(item_id)["status"]


def failed_item(fid: str, platforms=("x",), message_id="msg-old") -> tuple[str, list[str]]:
    """An item whose posts were planned, sent, and failed."""
    from shared.db import connection

    with connection() as conn:
        item = conn.execute(
            "INSERT INTO rss_items (feed_id, dedupe_key, title, link, status, caption, error) "
            "VALUES (%s, %s, 'A failed story', 'https://e.com/f/1', 'failed', 'A failed story https://e.com/f/1', "
            "'x: boom') RETURNING id", (fid, f"k-{fid}")).fetchone()
        posts = [str(conn.execute(
            "INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, status, error, message_id) "
            "VALUES (%s, %s, now() - interval '1 hour', 'failed', 'boom', %s) RETURNING id",
            (item["id"], p, message_id)).fetchone()["id"]) for p in platforms]
    return str(item["id"]), posts


def test_retry_while_qstash_is_down_is_resent_by_the_next_tick(client, auth, clean_state, server, backing,
                                                               live_api, monkeypatch):
    from shared.db import connection
    from shared.messaging import publisher
    from shared.rss import poller

    set_settings(quietHoursEnabled=False, rssPostingInterval="0")
    fid = make_feed(client, auth, server, "rq", autoPost=True, platformsEnabled={"x": True, "threads": False})
    item_id, [post_id] = failed_item(fid)
    real = publisher.publish_batch

    def down(msgs):
        raise ConnectionError("qstash unreachable")
    monkeypatch.setattr(publisher, "publish_batch", down)
    r = client.post(f"/api/rss/activity/{item_id}/retry", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["stage"] == "queued"
    with connection() as conn:
        post = conn.execute("SELECT status, version, message_id FROM rss_planned_posts WHERE id = %s",
                            (post_id,)).fetchone()
        logs = [x["message"] for x in conn.execute("SELECT message FROM activity_logs WHERE level = 'error'")]
    assert post == {"status": "planned", "version": 2, "message_id": None}  # the old id is gone: sweepable
    assert any("could not schedule 1 post delivery" in m for m in logs)
    monkeypatch.setattr(publisher, "publish_batch", real)
    with connection() as conn:  # two minutes later
        conn.execute("UPDATE rss_planned_posts SET updated_at = now() - interval '3 minutes'")
    report = asyncio.run(poller.tick(with_channels=False))
    assert report.messages == 1
    wait_for(lambda: item_status(item_id) == "published")


def test_two_feeds_with_the_same_article_in_one_tick_post_it_once(client, auth, clean_state, server,
                                                                   monkeypatch):
    """Both copies are stored (`new`) before either is deduped: exactly one proceeds, the other is a duplicate."""
    import threading

    from shared.rss import pipeline, poller

    set_settings(quietHoursEnabled=False, rssPostingInterval="0", globalRSSPosting=True)
    fa = make_feed(client, auth, server, "dupa", autoPost=False)
    fb = make_feed(client, auth, server, "dupb", autoPost=False)
    story = ("same-story", "Dune Part Three trailer is here", "https://news.example/dune-3?utm_source=rss")
    for name in ("dupa", "dupb"):
        server.route(f"/{name}.xml", S.rss_items(name, [story, (f"{name}-0", "seed", f"https://e.com/{name}/0")]))
    both_stored = threading.Barrier(2, timeout=10)
    real_store = pipeline._store

    def store_then_wait(*args, **kwargs):
        rows = real_store(*args, **kwargs)
        both_stored.wait()  # the other feed's copy is committed as `new` too
        return rows
    monkeypatch.setattr(pipeline, "_store", store_then_wait)
    from shared.db import connection

    with connection() as conn:
        conn.execute("UPDATE rss_feeds SET next_run_at = now() - interval '1 second'")
    asyncio.run(poller.tick(with_channels=False))
    with connection() as conn:
        rows = conn.execute("SELECT feed_id, status, reason FROM rss_items WHERE title LIKE 'Dune%%'").fetchall()
    assert sorted(r["status"] for r in rows) == ["duplicate", "pending"], rows
    assert {str(r["feed_id"]) for r in rows} == {fa, fb}


def test_concurrent_dedupe_checks_let_exactly_one_copy_through(client, auth, clean_state, server):
    from concurrent.futures import ThreadPoolExecutor

    from shared.db import connection
    from shared.rss.pipeline import _find_duplicate

    feeds = [make_feed(client, auth, server, f"cd{i}") for i in range(4)]
    with connection() as conn:
        items = [conn.execute(
            "INSERT INTO rss_items (feed_id, dedupe_key, title, link, canonical_url, status) "
            "VALUES (%s, 'k', 'Same title', 'https://n.example/a', 'https://n.example/a', 'new') RETURNING *",
            (f,)).fetchone() for f in feeds]
    with ThreadPoolExecutor(4) as ex:
        verdicts = list(ex.map(lambda it: _find_duplicate(it, 30), items))
    assert sum(v is None for v in verdicts) == 1
