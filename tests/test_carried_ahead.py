"""RSS planned posts and TMDb posts carried ahead (shared/publishing/staging/ahead.py), on real Postgres and Redis
with the platform fakes: with PUBLISH_STAGING on, an awake window creates their publication under the delivery's
own key and stages it, the post is handed over (its dispatcher item disarmed), the slot sends it with no database
statement, and the write-back's settle tells RSS/TMDb the outcome. A delivery that still runs finds the same
publication; owner changes release the stage first (409 while it is being sent) and give the post back to its
delivery; with the flag off nothing of this happens."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_mp.staged import bring_slot, no_database, pass_grace, staging  # noqa: F401  (fixture)

from shared.publishing.engine import publications as pubs
from shared.publishing.staging import record
from shared.publishing.staging.send import send
from shared.publishing.staging.writeback import write_back


@pytest.fixture
def no_wakeups(monkeypatch):
    from shared.scheduling import dispatch

    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)


def _run_messages(backing, pub_id: str) -> list:
    """QStash run messages still waiting for this publication (each would wake the database at its time)."""
    return [m for m in list(backing.emulator.state.messages.values()) if m.state == "pending"
            and m.url.endswith("/api/internal/publishing/run") and pub_id.encode() in m.body]


def _window() -> dict:
    from shared.publishing.staging.timing import window

    return window()


def _armed(kind: str) -> set[str]:
    from shared.scheduling import dispatch

    return {dispatch.split(m)[1] for m in dispatch.pending(kind)}


# --- RSS -------------------------------------------------------------------------------------------------------
def _rss_post(db, *, in_seconds: int = 3600, platforms: tuple[str, ...] = ("x",), approved: bool = False,
              caption: str = "A new trailer is out") -> tuple[str, str, dict[str, str]]:
    """An enabled auto-posting feed, a queued item and its planned posts, armed as the planner arms them.
    Returns (feed id, item id, {platform: planned post id})."""
    from psycopg.types.json import Jsonb

    from shared.rss import queue

    feed = db.execute("INSERT INTO rss_feeds (name, url, auto_post, platforms_enabled) VALUES ('F', %s, true, %s) "
                      "RETURNING id", (f"https://f.example/{uuid.uuid4().hex}",
                                       Jsonb({p: p in platforms for p in ("x", "threads", "facebook", "pinterest")}))
                      ).fetchone()["id"]
    item = db.execute("INSERT INTO rss_items (feed_id, dedupe_key, title, link, status, caption, caption_source) "
                      "VALUES (%s, %s, 'Dune Part Three trailer', 'https://news.example/dune', 'queued', %s, 'ai') "
                      "RETURNING id", (feed, uuid.uuid4().hex, caption)).fetchone()["id"]
    at = datetime.now(timezone.utc) + timedelta(seconds=in_seconds)
    posts = {}
    for p in platforms:
        posts[p] = str(db.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at, approved) "
                                  "VALUES (%s, %s, %s, %s) RETURNING id", (item, p, at, approved)).fetchone()["id"])
    queue.send([queue.message_for({"id": pid, "scheduled_at": at}, at) for pid in posts.values()])
    return str(feed), str(item), posts


def _planned(db, post_id: str) -> dict:
    return db.execute("SELECT * FROM rss_planned_posts WHERE id = %s", (post_id,)).fetchone()


def _item(db, item_id: str) -> dict:
    return db.execute("SELECT * FROM rss_items WHERE id = %s", (item_id,)).fetchone()


def _by_key(db, key: str) -> list[dict]:
    return db.execute("SELECT * FROM publications WHERE idempotency_key = %s", (key,)).fetchall()


def test_an_rss_post_is_carried_staged_sent_without_the_database_and_its_outcome_recorded(world, db, staging):
    world.connect("x", expires_in=timedelta(days=2))
    _feed, item, posts = _rss_post(db)
    post_id = posts["x"]
    assert post_id in _armed("rss.post")
    report = _window()
    assert report["carried"]["rss"] == {"carried": 1, "left": 0}
    post = _planned(db, post_id)
    [pub] = _by_key(db, f"rss:{item}:x")  # the delivery's own key: a delivery would find this very row
    assert post["status"] == "waiting" and str(post["carried_by"]) == str(pub["id"])
    assert pub["state"] == "staged" and pub["not_before"] == post["scheduled_at"] and pub["source_ref"] == item
    assert pub["content"]["text"] == "A new trailer is out"
    assert post_id not in _armed("rss.post")  # the slot wakes no database for it
    pub_id = str(pub["id"])
    bring_slot(pub_id)
    with no_database() as attempts:
        assert send(pub_id) == "published"
    assert attempts == [] and len(world.x.posts) == 1
    assert write_back() == {"published": 1}
    post = _planned(db, post_id)
    assert post["status"] == "posted" and post["outcome"]["id"] == str(world.x.posts[0]["id"])
    assert _item(db, item)["status"] == "published"
    # an rss.post item left behind (a disarm that failed) does nothing: the post is no longer planned
    from shared.rss import queue

    assert queue.deliver_due(post_id, datetime.now(timezone.utc))["stale"] is True
    assert len(world.x.posts) == 1 and len(_by_key(db, f"rss:{item}:x")) == 1


def test_a_refused_carried_rss_post_fails_and_a_lost_stage_ends_unconfirmed(world, db, staging):
    from shared.redis_client import get_redis

    world.connect("x", "threads", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db, platforms=("x", "threads"))
    assert _window()["carried"]["rss"] == {"carried": 2, "left": 0}
    x_pub = str(_planned(db, posts["x"])["carried_by"])
    th_pub = str(_planned(db, posts["threads"])["carried_by"])
    world.x.fail_next("tweet", 400)
    bring_slot(x_pub)
    with no_database():
        assert send(x_pub) == "failed"
    pass_grace(th_pub)
    get_redis().delete(record.key(th_pub))  # Redis lost it: nobody can know whether it went out
    assert write_back() == {"failed": 1, "lost:unconfirmed": 1}
    x_post, th_post = _planned(db, posts["x"]), _planned(db, posts["threads"])
    assert x_post["status"] == "failed" and x_post["outcome"]["provenAbsent"] is True
    assert th_post["status"] == "failed" and th_post["error"].startswith("unconfirmed")
    assert _item(db, item)["status"] == "failed"
    assert not world.x.posts and not world.threads.posts


def test_an_unconfirmed_rss_post_found_later_by_the_re_checks_ends_posted(world, db, staging):
    """Recorded failed as unconfirmed, then the engine's re-checks find the post on the platform: the settle
    listener upgrades the planned post to posted and its item to published (found by the kill -9 harness)."""
    from shared.redis_client import get_redis
    from shared.rss import queue

    world.connect("threads", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db, platforms=("threads",))
    assert _window()["carried"]["rss"] == {"carried": 1, "left": 0}
    pub_id = str(_planned(db, posts["threads"])["carried_by"])
    pass_grace(pub_id)
    get_redis().delete(record.key(pub_id))
    assert write_back() == {"lost:unconfirmed": 1}
    assert _planned(db, posts["threads"])["error"].startswith("unconfirmed") and _item(db, item)["status"] == "failed"
    found = db.execute("UPDATE publications SET state = 'published', platform_post_id = 'th-found', "
                       "published_at = now() WHERE id = %s RETURNING *", (pub_id,)).fetchone()
    queue.on_publication_settled("rss", item, "threads", found)  # what the engine's listener call does
    post = _planned(db, posts["threads"])
    assert post["status"] == "posted" and post["outcome"]["id"] == "th-found" and post["error"] is None
    assert _item(db, item)["status"] == "published"
    queue.on_publication_settled("rss", item, "threads", found)  # a repeat changes nothing
    assert _planned(db, posts["threads"])["updated_at"] == post["updated_at"]


def test_a_delivery_racing_the_carry_finds_the_same_publication(world, db, staging):
    """Killed between the stage and the hand-over: the post is still planned and armed. Its delivery at the slot
    finds the staged publication under the same key (no second row), waits, and the staged send posts it once."""
    from shared.publishing.staging import ahead
    from shared.rss import queue

    world.connect("x", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db)
    post = _planned(db, posts["x"])
    i, f = _item(db, item), None
    request = queue.publish_request(post, i, f, {})
    pub_id, why = ahead.carry(request, post["scheduled_at"])
    assert why is None and pubs.get(pub_id)["state"] == "staged"
    res = queue.deliver(posts["x"], post["version"])  # the delivery runs anyway (here: early, by hand)
    assert res["status"] == "waiting"
    assert len(_by_key(db, f"rss:{item}:x")) == 1 and not world.x.posts
    bring_slot(pub_id)
    with no_database():
        assert send(pub_id) == "published"
    write_back()
    assert _planned(db, posts["x"])["status"] == "posted" and len(world.x.posts) == 1
    # and a window that runs now adopts nothing twice
    assert _window()["carried"]["rss"] == {"carried": 0, "left": 0}


def test_two_windows_carrying_the_same_post_at_once_make_one_publication(world, db, staging):
    from shared.rss import queue

    world.connect("x", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db)
    results: list = []
    gate = threading.Barrier(3)

    def go():
        gate.wait()
        results.append(queue.carry_one(posts["x"]))

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(_by_key(db, f"rss:{item}:x")) <= 1
    post = _planned(db, posts["x"])
    if results.count(None):  # the usual ending: one of them handed it over to the one publication
        [pub] = _by_key(db, f"rss:{item}:x")
        assert pub["state"] == "staged" and str(post["carried_by"]) == str(pub["id"])
        bring_slot(str(pub["id"]))
        assert send(str(pub["id"])) == "published"
        write_back()
    else:  # they got in each other's way: the post stayed on its delivery, which posts it at the slot
        assert post["status"] == "planned" and posts["x"] in _armed("rss.post")
        db.execute("UPDATE rss_planned_posts SET scheduled_at = now() WHERE id = %s", (posts["x"],))
        db.execute("UPDATE publications SET not_before = now() WHERE idempotency_key = %s", (f"rss:{item}:x",))
        queue.deliver_due(posts["x"], datetime.now(timezone.utc))
    assert len(world.x.posts) == 1 and _planned(db, posts["x"])["status"] == "posted"
    assert len(_by_key(db, f"rss:{item}:x")) == 1


def test_a_post_the_delivery_would_cancel_or_one_without_a_stageable_platform_is_not_carried(world, db, staging):
    from shared.settings.service import update_settings

    world.connect("x", "threads", expires_in=timedelta(days=2))
    feed, _, off = _rss_post(db)
    db.execute("UPDATE rss_feeds SET enabled = false WHERE id = %s", (feed,))
    _, _, late = _rss_post(db, in_seconds=8 * 3600)  # beyond the horizon
    _, _, soon = _rss_post(db, in_seconds=60)  # too close: its delivery runs it
    update_settings({"globalRSSPosting": False})
    _, _, global_off = _rss_post(db, platforms=("threads",))
    _, _, approved = _rss_post(db, approved=True)  # the owner approved it: global posting does not hold it
    assert _window()["carried"]["rss"] == {"carried": 1, "left": 2}
    for p in (off, late, soon, global_off):
        post = _planned(db, p[next(iter(p))])
        assert post["status"] == "planned" and post["carried_by"] is None
    assert _planned(db, approved["x"])["status"] == "waiting"
    assert db.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 1


@pytest.mark.parametrize("change", [{"enabled": False}, {"status": "paused"}, {"autoPost": False},
                                    {"platformsEnabled": {"x": False}}], ids=["disabled", "paused", "autopost-off",
                                                                              "platform-off"])
def test_a_feed_change_gives_carried_posts_back_to_their_delivery_which_cancels_them(world, db, staging, change,
                                                                                       backing):
    from shared.rss import queue
    from shared.rss.service import update_feed

    world.connect("x", expires_in=timedelta(days=2))
    feed, item, posts = _rss_post(db)
    _window()
    pub_id = str(_planned(db, posts["x"])["carried_by"])
    update_feed(feed, {"enabled": True, "autoPost": True, "platformsEnabled": {"x": True}, "name": "Renamed"})
    assert _planned(db, posts["x"])["status"] == "waiting"  # an edit that turns nothing off keeps it carried
    update_feed(feed, change)
    post = _planned(db, posts["x"])
    assert post["status"] == "planned" and post["carried_by"] is None
    assert pubs.get(pub_id) is None and not record.exists(pub_id)  # nothing left that could send it
    assert _run_messages(backing, pub_id) == []  # and no run message for the deleted row
    assert posts["x"] in _armed("rss.post")  # back on its own delivery
    assert _window()["carried"]["rss"] == {"carried": 0, "left": 1}  # and not carried again
    db.execute("UPDATE rss_planned_posts SET scheduled_at = now() WHERE id = %s", (posts["x"],))
    res = queue.deliver_due(posts["x"], datetime.now(timezone.utc))
    assert res["status"] == "cancelled" and not world.x.posts
    assert _item(db, item)["status"] == "pending"


def test_a_feed_change_while_its_post_is_being_sent_answers_409_and_changes_nothing(world, db, staging, client,
                                                                                     auth):
    world.connect("x", expires_in=timedelta(days=2))
    feed, _, posts = _rss_post(db)
    _window()
    pub_id = str(_planned(db, posts["x"])["carried_by"])
    bring_slot(pub_id)
    assert record.claim(pub_id, "a sender", 60)[0] == "ok"
    r = client.put(f"/api/rss/feeds/{feed}", json={"enabled": False}, headers=auth)
    assert r.status_code == 409, r.text
    assert r.json()["success"] is False and "being published" in r.json()["error"]["message"]
    assert db.execute("SELECT enabled FROM rss_feeds WHERE id = %s", (feed,)).fetchone()["enabled"] is True
    assert _planned(db, posts["x"])["status"] == "waiting" and pubs.get(pub_id)["state"] == "staged"
    logged = db.execute("SELECT message FROM activity_logs WHERE metadata->>'publicationId' = %s",
                        (pub_id,)).fetchall()
    assert any("not changed" in r["message"] for r in logged)


def test_turning_global_posting_off_gives_back_unapproved_carried_posts_and_409s_while_one_is_sent(world, db,
                                                                                                   staging):
    from shared.errors import Conflict
    from shared.settings.service import update_settings
    from shared.settings.store import read_setting

    world.connect("x", "threads", expires_in=timedelta(days=2))
    _, _, auto = _rss_post(db)
    _, _, approved = _rss_post(db, approved=True, platforms=("threads",))
    _window()
    auto_pub = str(_planned(db, auto["x"])["carried_by"])
    bring_slot(auto_pub)
    assert record.claim(auto_pub, "a sender", 60)[0] == "ok"
    with pytest.raises(Conflict):
        update_settings({"globalRSSPosting": False})
    assert read_setting("globalRSSPosting", True) is True and _planned(db, auto["x"])["status"] == "waiting"
    # the send finishes; now the change goes through and only the unapproved post was carried by it
    assert send(auto_pub) == "busy"  # someone else holds it; let that claim lapse and write it back
    record.cancel(auto_pub)
    from publishing_mp.staged import expire_stage_lease

    expire_stage_lease(auto_pub)
    write_back()
    update_settings({"globalRSSPosting": False})
    assert _planned(db, auto["x"])["status"] == "planned" and pubs.get(auto_pub) is None
    assert _planned(db, approved["threads"])["status"] == "waiting"
    assert not world.x.posts


def test_dismissing_an_item_cancels_its_carried_posts(world, db, staging):
    from shared.rss.service import delete_item

    world.connect("x", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db)
    _window()
    pub_id = str(_planned(db, posts["x"])["carried_by"])
    delete_item(item)
    assert _planned(db, posts["x"])["status"] == "cancelled"
    assert pubs.get(pub_id) is None and not record.exists(pub_id) and not world.x.posts


def test_deleting_a_feed_leaves_nothing_of_its_carried_posts(world, db, staging):
    from shared.rss.service import delete_feed

    world.connect("x", expires_in=timedelta(days=2))
    feed, item, posts = _rss_post(db)
    _window()
    pub_id = str(_planned(db, posts["x"])["carried_by"])
    delete_feed(feed)
    assert pubs.get(pub_id) is None and not record.exists(pub_id)
    assert _by_key(db, f"rss:{item}:x") == []


def test_a_change_before_the_hand_over_wins_and_the_carry_is_withdrawn(world, db, staging, monkeypatch):
    """The owner disables the feed after the carry read the post and staged it, before the hand-over: the
    hand-over's re-check under the carry lock sees it, cancels the stage and deletes the publication."""
    from shared.publishing.staging import ahead
    from shared.rss import queue
    from shared.rss.service import update_feed

    world.connect("x", expires_in=timedelta(days=2))
    feed, item, posts = _rss_post(db)
    real = ahead.carry

    def carry_then_owner(request, slot):
        out = real(request, slot)
        update_feed(feed, {"enabled": False})
        return out

    monkeypatch.setattr(ahead, "carry", carry_then_owner)
    assert queue.carry_one(posts["x"]) == "the feed is disabled"
    assert _planned(db, posts["x"])["status"] == "planned"
    assert _by_key(db, f"rss:{item}:x") == [] and not record.all_ids()


# --- TMDb ------------------------------------------------------------------------------------------------------
def _tmdb_post(*, platforms=("X", "Threads"), in_seconds: int = 3600, caption: str = "Dune turns 5 today",
               tmdb_id: int = 438631) -> str:
    from shared.settings.service import update_settings
    from shared.tmdb.service import create_post

    update_settings({"rehostImages": False})
    at = datetime.now(timezone.utc) + timedelta(seconds=in_seconds)
    body = {"tmdbId": tmdb_id, "mediaType": "movie", "title": "Dune", "year": 2021, "releaseDate": "2021-10-22",
            "caption": caption, "imageUrl": None, "scheduledTime": at.isoformat(), "source": "tmdb_anniversary",
            "status": "scheduled", "platforms": list(platforms), "anniversaryYears": 5}
    return create_post(body)["id"]


def _tmdb(db, post_id: str) -> dict:
    return db.execute("SELECT * FROM tmdb_posts WHERE id = %s", (post_id,)).fetchone()


def test_a_tmdb_post_is_carried_on_every_platform_sent_without_the_database_and_settled(world, db, staging):
    world.connect("x", "threads", expires_in=timedelta(days=2))
    post_id = _tmdb_post()
    assert post_id in _armed("tmdb.post")
    assert _window()["carried"]["tmdb"] == {"carried": 1, "left": 0}
    post = _tmdb(db, post_id)
    assert post["status"] == "scheduled" and set(post["carried_by"]) == {"x", "threads"}
    assert post_id not in _armed("tmdb.post")
    for platform, pub_id in post["carried_by"].items():
        pub = pubs.get(pub_id)
        assert pub["idempotency_key"] == f"tmdb:{post_id}:{platform}" and pub["state"] == "staged"
        bring_slot(pub_id)
    with no_database() as attempts:
        for pub_id in post["carried_by"].values():
            assert send(pub_id) == "published"
    assert attempts == [] and len(world.x.posts) == 1 and len(world.threads.posts) == 1
    assert write_back() == {"published": 2}
    post = _tmdb(db, post_id)
    assert post["status"] == "published" and post["platform_results"]["x"]["status"] == "posted"
    assert post["platform_results"]["threads"]["id"] is not None
    # the refresh's sweep does not arm it again, and an old delivery finds it published
    from shared.tmdb import delivery, dispatch

    dispatch.sweep()
    assert post_id not in _armed("tmdb.post")
    assert delivery.deliver(post_id, post["version"])["stale"] is True
    assert len(world.x.posts) == 1


def test_a_tmdb_post_with_a_platform_that_cannot_be_staged_is_not_carried(world, db, staging, backing):
    world.connect("x", expires_in=timedelta(days=2))  # Threads is not connected: its stage is refused
    post_id = _tmdb_post()
    pending = {m.message_id for m in backing.emulator.state.messages.values() if m.state == "pending"}
    assert _window()["carried"]["tmdb"] == {"carried": 0, "left": 1}
    assert not [m for m in backing.emulator.state.messages.values()  # withdrawing it sends no run message
                if m.state == "pending" and m.message_id not in pending and "publishing/run" in m.url]
    assert _tmdb(db, post_id)["carried_by"] is None and post_id in _armed("tmdb.post")
    assert db.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 0  # the X one was withdrawn
    assert not record.all_ids()


def test_editing_a_carried_tmdb_post_gives_it_back_and_the_next_window_carries_the_new_text(world, db, staging):
    from shared.tmdb.service import update_post

    world.connect("x", expires_in=timedelta(days=2))
    post_id = _tmdb_post(platforms=("X",))
    _window()
    old_pub = _tmdb(db, post_id)["carried_by"]["x"]
    update_post(post_id, {"caption": "Dune, five years on"})
    post = _tmdb(db, post_id)
    assert post["carried_by"] is None and pubs.get(old_pub) is None and not record.exists(old_pub)
    assert post_id in _armed("tmdb.post")
    _window()
    new_pub = _tmdb(db, post_id)["carried_by"]["x"]
    assert pubs.get(new_pub)["content"]["text"] == "Dune, five years on"
    bring_slot(new_pub)
    assert send(new_pub) == "published"
    write_back()
    [sent] = world.x.posts
    assert sent["text"].startswith("Dune, five years on\n")  # the edited text (the link follows), sent once
    assert _tmdb(db, post_id)["status"] == "published"


def test_deleting_a_carried_tmdb_post_sends_nothing(world, db, staging):
    from shared.tmdb.service import delete_post

    world.connect("x", expires_in=timedelta(days=2))
    post_id = _tmdb_post(platforms=("X",))
    _window()
    pub_id = _tmdb(db, post_id)["carried_by"]["x"]
    delete_post(post_id)
    assert pubs.get(pub_id) is None and not record.exists(pub_id) and not world.x.posts


def test_editing_a_tmdb_post_while_it_is_being_sent_answers_409_and_changes_nothing(world, db, staging, client,
                                                                                     auth):
    world.connect("x", expires_in=timedelta(days=2))
    post_id = _tmdb_post(platforms=("X",))
    _window()
    pub_id = _tmdb(db, post_id)["carried_by"]["x"]
    bring_slot(pub_id)
    assert record.claim(pub_id, "a sender", 60)[0] == "ok"
    before = _tmdb(db, post_id)
    for r in (client.put(f"/api/tmdb/posts/{post_id}", json={"caption": "changed"}, headers=auth),
              client.delete(f"/api/tmdb/posts/{post_id}", headers=auth)):
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "CONFLICT"
    after = _tmdb(db, post_id)
    assert after["caption"] == before["caption"] and after["carried_by"] == before["carried_by"]
    assert pubs.get(pub_id)["state"] == "staged"


def test_a_carried_tmdb_post_whose_listener_was_missed_is_settled_by_the_refresh(world, db, staging, monkeypatch):
    from shared.publishing.engine import listeners

    world.connect("x", expires_in=timedelta(days=2))
    post_id = _tmdb_post(platforms=("X",))
    _window()
    pub_id = _tmdb(db, post_id)["carried_by"]["x"]
    bring_slot(pub_id)
    assert send(pub_id) == "published"
    monkeypatch.setattr(listeners, "_listeners", {})  # a process without TMDb's listener wrote it back
    write_back()
    assert _tmdb(db, post_id)["status"] == "scheduled"
    db.execute("UPDATE tmdb_posts SET scheduled_at = now() - interval '1 hour', "
               "updated_at = now() - interval '1 hour' WHERE id = %s", (post_id,))
    from shared.tmdb.delivery import reconcile_publishing

    assert reconcile_publishing() == 1
    assert _tmdb(db, post_id)["status"] == "published" and len(world.x.posts) == 1


# --- flag off --------------------------------------------------------------------------------------------------
@pytest.fixture
def staging_off(monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("PUBLISH_STAGING", "0")
    get_config.cache_clear()
    yield
    get_config.cache_clear()


def test_with_staging_off_nothing_is_carried_and_the_delivery_publishes_at_the_slot(world, db, no_wakeups,
                                                                                     staging_off):
    from shared.publishing.maintenance import staging_step
    from shared.rss import queue

    world.connect("x", expires_in=timedelta(days=2))
    _, _item, posts = _rss_post(db)
    post_id = _tmdb_post(platforms=("X",))
    assert staging_step() == {}
    assert db.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 0
    assert _planned(db, posts["x"])["status"] == "planned" and posts["x"] in _armed("rss.post")
    assert _tmdb(db, post_id)["carried_by"] is None and post_id in _armed("tmdb.post")
    db.execute("UPDATE rss_planned_posts SET scheduled_at = now() WHERE id = %s", (posts["x"],))
    assert queue.deliver_due(posts["x"], datetime.now(timezone.utc))["status"] == "posted"
    assert len(world.x.posts) == 1


def test_on_a_redis_that_cannot_confirm_a_checkpoint_nothing_is_carried_and_the_delivery_posts(world, db,
                                                                                                no_wakeups):
    """Staging on (the default) with the default gate (WAITAOF) against this machine's Redis 7.0, which has no
    such command: nothing is carried or staged, the posts keep their own delivery at their slot."""
    from shared.config import get_config
    from shared.publishing.maintenance import staging_step
    from shared.rss import queue

    assert get_config().publish_staging and get_config().publish_stage_durability == "waitaof:1:1"
    world.connect("x", expires_in=timedelta(days=2))
    _, _item, posts = _rss_post(db)
    post_id = _tmdb_post(platforms=("X",))
    assert staging_step()["carried"] == {"all": {"not_durable": 1}}
    assert db.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 0
    assert posts["x"] in _armed("rss.post") and post_id in _armed("tmdb.post")
    db.execute("UPDATE rss_planned_posts SET scheduled_at = now() WHERE id = %s", (posts["x"],))
    assert queue.deliver_due(posts["x"], datetime.now(timezone.utc))["status"] == "posted"
    assert len(world.x.posts) == 1


def test_a_post_planned_and_carried_in_the_same_tick_leaves_no_item_for_its_slot(world, db, staging, monkeypatch):
    """The planning step (rss.process) arms the post's rss.post item in its tick; the staging window that joins
    the same tick carries it: the tick's commit must not arm that item again (it would wake the database at
    the slot for nothing)."""
    from shared.rss import timing
    from shared.scheduling import dispatch

    world.connect("x", expires_in=timedelta(days=2))
    feed, _, posts = _rss_post(db)
    dispatch.disarm("rss.post", [posts["x"]])
    slot = _planned(db, posts["x"])["scheduled_at"].timestamp()

    def planning_step(t, refs):  # what rss.process does for the post it plans
        t.arm("rss.post", posts["x"], slot)

    monkeypatch.setattr(timing, "process", planning_step)
    dispatch.tick()  # the first tick arms the staging window a month ahead (it joins every window till then)
    dispatch.arm([("rss.process", feed, datetime.now(timezone.utc).timestamp())], wake=False)
    report = dispatch.tick()
    assert report.get("errors") is None and report["ran.publishing.staging"] == 1, report
    assert _planned(db, posts["x"])["status"] == "waiting"
    assert posts["x"] not in _armed("rss.post")


def test_switching_to_dry_run_gives_every_carried_post_back_so_nothing_is_sent(world, db, staging):
    """Whether a post is sent or only recorded is decided at its delivery: a carried post is a live stage, so a
    change of publishMode gives it back first (an echo of the same value changes nothing)."""
    from shared.rss import queue
    from shared.settings.service import update_settings

    world.connect("x", expires_in=timedelta(days=2))
    _, _, posts = _rss_post(db)
    tmdb_id = _tmdb_post(platforms=("X",))
    _window()
    rss_pub = str(_planned(db, posts["x"])["carried_by"])
    tmdb_pub = _tmdb(db, tmdb_id)["carried_by"]["x"]
    update_settings({"publishMode": ""})  # unchanged: still carried
    assert _planned(db, posts["x"])["status"] == "waiting" and _tmdb(db, tmdb_id)["carried_by"]
    update_settings({"publishMode": "dry_run"})
    assert _planned(db, posts["x"])["status"] == "planned" and _tmdb(db, tmdb_id)["carried_by"] is None
    assert pubs.get(rss_pub) is None and pubs.get(tmdb_pub) is None and not record.all_ids()
    assert posts["x"] in _armed("rss.post") and tmdb_id in _armed("tmdb.post")
    assert _window()["carried"] == {}  # in dry-run mode nothing is carried
    db.execute("UPDATE rss_planned_posts SET scheduled_at = now() WHERE id = %s", (posts["x"],))
    assert queue.deliver_due(posts["x"], datetime.now(timezone.utc))["status"] == "dry_run"
    assert not world.x.posts


def test_a_carry_stopped_after_creating_the_publication_is_run_once_by_the_delivery_or_the_next_window(world, db,
                                                                                                    staging):
    """Killed between `gateway.prepare` and the stage: a planned publication nobody stages, its post still
    planned and armed. The next window adopts it (stages it, hands the post over); had none come, the delivery
    at the slot would find it by key and run it. Either way: one publication, one post."""
    from shared.publishing.gateway import prepare
    from shared.rss import queue

    world.connect("x", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db)
    _, item2, posts2 = _rss_post(db)
    for pid, it in ((posts["x"], item), (posts2["x"], item2)):
        post = _planned(db, pid)
        assert prepare(queue.publish_request(post, _item(db, it), None, {}), post["scheduled_at"]) is not None
    # the first: the next window adopts it
    assert queue.carry_one(posts["x"]) is None
    [pub] = _by_key(db, f"rss:{item}:x")
    assert pub["state"] == "staged" and str(_planned(db, posts["x"])["carried_by"]) == str(pub["id"])
    # the second: no window came; its delivery at the slot runs the same row
    db.execute("UPDATE rss_planned_posts SET scheduled_at = now() WHERE id = %s", (posts2["x"],))
    db.execute("UPDATE publications SET not_before = now() WHERE idempotency_key = %s", (f"rss:{item2}:x",))
    assert queue.deliver_due(posts2["x"], datetime.now(timezone.utc))["status"] == "posted"
    assert len(_by_key(db, f"rss:{item2}:x")) == 1 and len(world.x.posts) == 1


def test_a_carry_that_fails_leaves_the_post_on_its_delivery_and_says_why(world, db, staging, monkeypatch):
    from shared.publishing import gateway

    world.connect("x", expires_in=timedelta(days=2))
    _, item, posts = _rss_post(db)

    def broken(request, at):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(gateway, "prepare", broken)
    assert _window()["carried"]["rss"] == {"carried": 0, "left": 1}
    assert _planned(db, posts["x"])["status"] == "planned" and posts["x"] in _armed("rss.post")
    assert _by_key(db, f"rss:{item}:x") == []
    logged = [r["message"] for r in db.execute("SELECT message FROM activity_logs WHERE service = 'rss' "
                                               "AND metadata->>'plannedPostId' = %s", (posts["x"],)).fetchall()]
    assert logged and "could not pre-stage" in logged[0] and "the database went away" in logged[0]


def test_a_tmdb_carrier_that_fails_on_one_platform_never_withdraws_a_publication_another_carrier_hands_over(
        world, db, staging, monkeypatch):
    """Two windows carry the same X + Facebook post: A stages both; before A's hand-over, B adopts A's staged X
    publication, fails on Facebook, and withdraws what it holds. A must not hand the post over to a publication
    that is gone (its item disarmed, nothing would send it), and a carrier that fails after A's hand-over must not
    withdraw A's publications. Found by tests/test_carried_ahead_under_kill_9.py."""
    from shared.publishing.staging import ahead
    from shared.tmdb.delivery import carry_one

    world.connect("x", "facebook", expires_in=timedelta(days=2))
    post_id = _tmdb_post(platforms=("X", "Facebook"))
    real = ahead.carry
    calls: list[str] = []

    def racing(request, slot):
        calls.append(request.platform)
        n = len(calls)
        if n == 4:  # B, on Facebook: its stage fails (another window is staging it, a transient error)
            return None, "staging failed (RuntimeError)"
        out = real(request, slot)
        if n == 2:  # A has staged both; before its hand-over, B runs
            assert carry_one(post_id) is not None
        return out

    monkeypatch.setattr(ahead, "carry", racing)
    carry_one(post_id)  # A
    post = _tmdb(db, post_id)
    if post["carried_by"]:  # handed over: every publication it names is there, staged, and will be sent
        for pub_id in post["carried_by"].values():
            assert pubs.get(pub_id) is not None and pubs.get(pub_id)["state"] == "staged"
    else:  # not handed over: the post is on its own delivery at the slot, nothing of the carry left behind
        assert post_id in _armed("tmdb.post")
        assert db.execute("SELECT count(*) AS n FROM publications").fetchone()["n"] == 0 and not record.all_ids()
    # B read the post before A handed it over, and fails on Facebook after it: A's publications stay
    monkeypatch.setattr(ahead, "carry", real)
    later = _tmdb_post(platforms=("X", "Facebook"), caption="Arrival turns 10 today", tmdb_id=329865)
    calls.clear()

    def late(request, slot):
        calls.append(request.platform)
        if len(calls) == 1:  # B, on X: first A carries the post and hands it over
            monkeypatch.setattr(ahead, "carry", real)
            assert carry_one(later) is None
            monkeypatch.setattr(ahead, "carry", late)
            return real(request, slot)  # B adopts A's staged X publication
        return None, "staging failed (RuntimeError)"  # B, on Facebook

    monkeypatch.setattr(ahead, "carry", late)
    assert carry_one(later) is not None  # B
    carried = _tmdb(db, later)["carried_by"]
    assert carried and set(carried) == {"x", "facebook"}
    for pub_id in carried.values():
        assert pubs.get(pub_id) is not None and pubs.get(pub_id)["state"] == "staged" and record.exists(pub_id)


def _post_locked(table: str, post_id: str) -> bool:
    """Another connection cannot lock the post's row right now (a delivery would have to wait)."""
    import psycopg

    from shared.db import connection

    with connection() as other:
        try:
            other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT", (post_id,))
            other.rollback()
            return False
        except psycopg.errors.LockNotAvailable:
            other.rollback()
            return True


@pytest.mark.parametrize("provider", ["rss", "tmdb"])
def test_a_refused_hand_over_withdraws_its_publications_while_the_post_is_still_locked(world, db, staging,
                                                                                         monkeypatch, provider):
    """The owner changed the post between the carry and the hand-over: the carry is withdrawn inside the
    hand-over's transaction, under the post's row lock. A delivery that took the post between that commit and a
    withdraw outside the lock would find the staged publication and wait on it while it is deleted (found by
    helper-35's race tests)."""
    from shared.publishing.staging import ahead

    world.connect("x", expires_in=timedelta(days=2))
    if provider == "rss":
        from shared.rss import queue
        from shared.rss.service import update_feed

        feed, item, posts = _rss_post(db)
        post_id, table, carry_one, key = posts["x"], "rss_planned_posts", queue.carry_one, f"rss:{item}:x"

        def owner_change():
            update_feed(feed, {"enabled": False})
    else:
        from shared.tmdb import delivery
        from shared.tmdb.service import update_post

        post_id = _tmdb_post(platforms=("X",))
        table, carry_one, key = "tmdb_posts", delivery.carry_one, f"tmdb:{post_id}:x"

        def owner_change():
            update_post(post_id, {"caption": "Dune, five years on"})
    real_carry, real_withdraw, seen = ahead.carry, ahead.withdraw, []

    def carry_then_owner(request, slot):
        out = real_carry(request, slot)
        owner_change()
        return out

    def withdraw_noting_the_lock(pub_ids):
        seen.append(_post_locked(table, post_id))
        return real_withdraw(pub_ids)

    monkeypatch.setattr(ahead, "carry", carry_then_owner)
    monkeypatch.setattr(ahead, "withdraw", withdraw_noting_the_lock)
    assert carry_one(post_id) in ("the feed is disabled", "changed meanwhile")
    assert seen == [True]
    assert _by_key(db, key) == [] and not record.all_ids()
