"""Feed checks that cost no database wake-up: a check finding nothing new never touches Postgres; the next check is
set from the due time on the feed's grid; new items that would not be posted wait for the processing window; posts
snap to a shared grid; a platform that cannot take the post is not planned, and the item says why."""

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import rss_samples as S
from budget_helpers import no_database
from rss_helpers import set_settings

from shared import clock
from shared.local.feed_server import FeedServer
from shared.scheduling import dispatch


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def at_clock():
    yield lambda t: clock.set_offset(t - time.time())
    clock.set_offset(None)




def feed_with_rebuilt_mirror(client, auth, server, name, **extra) -> tuple[str, float]:
    url = server.route(f"/{name}.xml", S.rss_items(name, [(f"{name}-0", "Seed story", f"https://e.com/{name}/0")]),
                       etag='"v1"')
    fid = client.post("/api/rss/feeds", json={"url": url, "interval": 10, **extra}, headers=auth).json()["data"]["id"]
    dispatch.tick()  # the rebuild the feed's creation armed
    return fid, dispatch.pending()[f"rss.probe|{fid}"]


def test_a_check_that_finds_nothing_new_never_wakes_the_database(client, auth, clean_state, server, at_clock,
                                                                 monkeypatch, backing):
    fid, due = feed_with_rebuilt_mirror(client, auth, server, "quiet", autoPost=True)
    assert due % 600 == 0  # the 10-minute grid, anchored at midnight UTC
    dispatch.arm([("rss.housekeeping", "all", due + 7200), ("usage.housekeeping", "all", due + 7200)], wake=False)
    at_clock(due + 200)  # the tick runs late ...
    no_database(monkeypatch)
    hits = server.hits.get("/quiet.xml", 0)
    before = backing.redis_counter.total
    report = dispatch.tick()
    assert report["rss.not_modified"] == 1 and report["window"] is False
    assert server.hits["/quiet.xml"] == hits + 1
    assert backing.redis_counter.total - before == 2  # the pop (with the feed's state) and the commit
    # ... and the next check is set from the due time, not from when it ran
    assert dispatch.pending()[f"rss.probe|{fid}"] == due + 600
    # the content changes but holds nothing new (a rebuilt document): still no database
    server.route("/quiet.xml", S.rss_items("quiet", [("quiet-0", "Seed story", "https://e.com/quiet/0")]),
                 etag='"v2"')
    at_clock(due + 600)
    assert dispatch.tick()["rss.unchanged"] == 1


def test_new_items_that_would_not_be_posted_wait_for_the_window(client, auth, clean_state, server, at_clock,
                                                                monkeypatch, db):
    set_settings(rssProcessingWindowMinutes=60, quietHoursEnabled=False)
    fid, due = feed_with_rebuilt_mirror(client, auth, server, "later")  # autoPost off: pending for approval
    dispatch.arm([("rss.housekeeping", "all", due + 7200), ("usage.housekeeping", "all", due + 7200)], wake=False)
    server.route("/later.xml", S.rss_items("later", [("later-1", "A new story", "https://e.com/later/1"),
                                                     ("later-0", "Seed story", "https://e.com/later/0")]),
                 etag='"v2"')
    with monkeypatch.context() as m:
        no_database(m)
        at_clock(due + 1)
        report = dispatch.tick()
    assert report["rss.changed"] == 1 and report["window"] is False
    window = dispatch.pending()[f"rss.process|{fid}"]
    from shared.redis_client import get_redis
    from shared.rss.feedstate import grid_at_or_after

    last = float(get_redis().hget(dispatch.META_KEY, "last_window"))  # the rebuild's window
    # the next full hour, but a whole window length after the last one
    assert window == max(grid_at_or_after(due + 1, 3600), grid_at_or_after(last + 3600, 600))
    at_clock(window + 1)
    assert dispatch.tick()["rss.new_items"] == 1
    row = db.execute("SELECT status FROM rss_items WHERE title = 'A new story'").fetchone()
    assert row["status"] == "pending"


def test_posts_snap_to_a_shared_grid_outside_the_awake_window():
    from shared.rss.schedule import PostingRules, place

    rules = PostingRules(tz=ZoneInfo("UTC"), min_gap=timedelta(minutes=10), quiet_enabled=False, align_minutes=10)
    now = datetime(2026, 11, 16, 12, 3, 17, tzinfo=timezone.utc)
    awake = now + timedelta(minutes=4)
    first = place("x", now, [], rules, awake_until=awake)
    assert first == now.replace(microsecond=0)  # the database is awake for the planning itself: now
    second = place("x", now, [first], rules, awake_until=awake)
    assert second == datetime(2026, 11, 16, 12, 20, tzinfo=timezone.utc)  # 12:13:17 -> the 10-minute grid
    # another platform's second post lands on the same instant: one wake-up publishes both
    assert place("threads", now + timedelta(minutes=9), [now], rules, awake_until=awake) == second
    coarse = PostingRules(tz=ZoneInfo("UTC"), min_gap=timedelta(minutes=10), quiet_enabled=False, align_minutes=60)
    assert place("x", now, [first], coarse, awake_until=awake) == datetime(2026, 11, 16, 13, tzinfo=timezone.utc)
    exact = PostingRules(tz=ZoneInfo("UTC"), min_gap=timedelta(minutes=10), quiet_enabled=False)
    assert place("x", now, [first], exact, awake_until=awake) == first + timedelta(minutes=10)


def test_pinterest_without_a_board_is_not_planned_and_the_item_says_why(client, auth, clean_state, server, db):
    from shared.rss import queue
    from shared.rss.config import load_run_settings

    assert queue.cannot_post("pinterest", "") and queue.cannot_post("pinterest", "board-1") is None
    assert queue.cannot_post("x", "") is None
    set_settings(rssPinterestBoard="", quietHoursEnabled=False)
    url = server.route("/pin.xml", S.rss_items("pin", [("pin-0", "Seed", "https://e.com/pin/0")]))
    fid = client.post("/api/rss/feeds", json={"url": url, "autoPost": True, "platformsEnabled": {
        "x": True, "threads": False, "pinterest": True}}, headers=auth).json()["data"]["id"]
    item = db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status, caption) VALUES "
                      "(%s, 'p1', 'A story', 'new', 'A story') RETURNING id", (fid,)).fetchone()["id"]
    feed = db.execute("SELECT * FROM rss_feeds WHERE id = %s", (fid,)).fetchone()
    out: list = []
    assert queue.enqueue_item(feed, str(item), load_run_settings(), clock.now(), out) == "queued"
    posts = db.execute("SELECT platform FROM rss_planned_posts WHERE item_id = %s", (item,)).fetchall()
    assert [p["platform"] for p in posts] == ["x"] and len(out) == 1
    reason = db.execute("SELECT reason FROM rss_items WHERE id = %s", (item,)).fetchone()["reason"]
    assert "pinterest: no board chosen" in reason
    # with a board, the pin is planned and carries it
    set_settings(rssPinterestBoard="board-42")
    item2 = db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, status, caption) VALUES "
                       "(%s, 'p2', 'Another story', 'new', 'Another story') RETURNING id", (fid,)).fetchone()["id"]
    queue.enqueue_item(feed, str(item2), load_run_settings(), clock.now(), out)
    assert {p["platform"] for p in db.execute("SELECT platform FROM rss_planned_posts WHERE item_id = %s",
                                              (item2,))} == {"x", "pinterest"}
