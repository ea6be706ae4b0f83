"""A scheduled Create post the server published (shared/compose/scheduler.py) whose platform answered "accepted,
still processing" or "unconfirmed" is recorded `failed` with a text saying so. When the engine settles that
publication later (the processing check, the unconfirmed re-checks), the item learns it (shared/compose/late.py):
posted -> the item is published as the first answer would have made it, the owner told once; failed -> the item's
error for that platform is the platform's. A repeated settle changes nothing; an item the owner changed meanwhile is
left as they made it.

Real Postgres, Redis, dispatcher and the platform fakes: TikTok (a pulled video it processes, checked later by the
engine's delayed status check) and X (an answer lost, found on the timeline by a re-check)."""

from __future__ import annotations

import time

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import make_due
from test_compose_scheduled_fallback import GRACE, _iso, _ts

from shared import clock
from shared.compose import rules
from shared.scheduling import dispatch


@pytest.fixture
def quiet(world, monkeypatch):
    """The other kinds' bootstrap hooks see their work done; wake-ups are not sent (the test ticks); a platform's
    processing outlasts one run's poll budget at once."""
    from shared.config import get_config
    from shared.redis_client import get_redis

    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    monkeypatch.setenv("PUBLISH_POLL_BUDGET_SECONDS", "0.05")
    monkeypatch.setenv("PUBLISH_POLL_INTERVAL_SECONDS", "0.01")
    get_config.cache_clear()
    dispatch.kinds()
    far = repr(time.time() + 86400)
    get_redis().hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                                "comments.next": far})
    yield world
    clock.set_offset(None)
    get_config.cache_clear()


def _tiktok_processing(world) -> None:
    """TikTok took the video and keeps answering PROCESSING_DOWNLOAD to the status fetch."""
    real = world.tiktok._status

    def stuck(request):
        return world.tiktok._ok({"status": "PROCESSING_DOWNLOAD", "uploaded_bytes": 0})

    def release():
        """TikTok finishes: its next status fetch answers PUBLISH_COMPLETE (or FAILED with a fail_reason)."""
        with world.tiktok.lock:
            for e in world.tiktok.publishes.values():
                e["polls"] = max(e["polls"], 1)
        world.tiktok.routes = [(m, rx, n, real if n == "status" else fn) for m, rx, n, fn in world.tiktok.routes]

    world.tiktok.routes = [(m, rx, n, stuck if n == "status" else fn) for m, rx, n, fn in world.tiktok.routes]
    world.tiktok.release = release


def _video_item(world, item_id: str, slot: float, caption: str, platforms=("tiktok",)) -> dict:
    url = world.media.add(f"{item_id}.mp4", b"\x05" * 4000, "video/mp4")
    return {"id": item_id, "title": f"Trailer {item_id}", "status": "scheduled", "scheduledAt": _iso(slot),
            "mediaAssets": [{"id": f"asset-{item_id}", "kind": "video", "fileName": f"{item_id}.mp4",
                             "mimeType": "video/mp4", "size": 4000, "order": 0, "previewUrl": url,
                             "storageUrl": url, "uploadStatus": "uploaded"}],
            "platforms": list(platforms), "sharedCaption": caption, "platformFields": {},
            "createdAt": _iso(time.time() - 3600), "updatedAt": _iso(time.time() - 1800)}


def _put(client, auth, items, last):
    r = client.put("/api/create/state", headers=auth, json={"items": items, "lastModifiedAt": last})
    assert r.status_code == 200, r.text


def _state(client, auth) -> dict[str, dict]:
    r = client.get("/api/create/state", headers=auth)
    assert r.status_code == 200, r.text
    return {i["id"]: i for i in r.json()["data"]["items"]}


def _fire(item_id: str, ts: float) -> dict:
    """The dispatcher's run of the item at its slot plus the grace."""
    clock.set_offset(ts - time.time())
    try:
        return dispatch.tick()
    finally:
        clock.set_offset(None)


def _publication(db, platform: str) -> dict:
    rows = db.execute("SELECT * FROM publications WHERE source = 'compose' AND platform = %s",
                      (platform,)).fetchall()
    assert len(rows) == 1
    return rows[0]


def _told(db, like: str) -> list[dict]:
    return db.execute("SELECT type, title, message, source, action_page FROM notifications WHERE title LIKE %s",
                      (like,)).fetchall()


def _scheduled_processing(world, client, auth, db, item_id: str, caption: str) -> dict:
    world.connect("tiktok")
    _tiktok_processing(world)
    now = time.time()
    _put(client, auth, [_video_item(world, item_id, now - 120, caption)], _iso(now - 1))
    report = _fire(item_id, now + GRACE + 1)
    assert report.get("compose.failed") == 1, report
    item = _state(client, auth)[item_id]
    pub = _publication(db, "tiktok")
    assert pub["state"] == "publishing" and pub["next_check_at"] is not None  # parked for the processing check
    assert item["status"] == "failed" and item["publishRetryCount"] == 1
    assert item["error"] == f"TikTok: {rules.PROCESSING}"
    return item


def test_a_processing_video_that_the_check_finds_posted_publishes_the_item_and_tells_the_owner_once(
        quiet, client, auth, db):
    from shared.compose import late
    from shared.publishing.engine import runner

    world = quiet
    before = _scheduled_processing(world, client, auth, db, "v1", "The trailer, at last")
    world.tiktok.release()
    pub = _publication(db, "tiktok")
    make_due(str(pub["id"]))
    assert runner.settle(str(pub["id"])).state == "published"  # the engine's check calls the settle listener

    item = _state(client, auth)["v1"]
    assert item["status"] == "published" and item["publishRetryCount"] == 0
    assert "scheduledAt" not in item and "error" not in item and "publishLockExpiresAt" not in item
    assert item["lastPublishAttemptAt"] == before["lastPublishAttemptAt"]  # the same attempt, answered later
    assert _ts(item["updatedAt"]) > _ts(before["updatedAt"])  # a device's copy of the failure loses the merge
    told = _told(db, "Posted after all%")
    assert [(n["type"], n["source"], n["action_page"]) for n in told] == [("success", "create_studio", "/create")]
    assert "Trailer v1" in told[0]["title"]
    lines = db.execute("SELECT level, message FROM activity_logs WHERE service = 'compose' "
                       "AND message LIKE '%%after all%%'").fetchall()
    assert [r["level"] for r in lines] == ["info"] and "TikTok" in lines[0]["message"]
    assert len(world.tiktok.posts) == 1  # nothing was sent again

    # the listener hearing it again (two settle paths racing) and the sweep's reconcile change nothing
    settled = _publication(db, "tiktok")
    late.on_publication_settled("compose", None, "tiktok", settled)
    assert late.reconcile() == 0
    assert _state(client, auth)["v1"] == item
    assert len(_told(db, "Posted after all%")) == 1
    assert db.execute("SELECT count(*) AS n FROM compose_settling").fetchone()["n"] == 0


def test_a_processing_video_the_platform_rejects_gets_the_platforms_error(quiet, client, auth, db):
    from shared.publishing.engine import runner

    world = quiet
    before = _scheduled_processing(world, client, auth, db, "v2", "A cut TikTok refuses")
    world.tiktok.fail_reason = "video_pull_failed"
    world.tiktok.release()
    pub = _publication(db, "tiktok")
    make_due(str(pub["id"]))
    assert runner.settle(str(pub["id"])).state == "failed"

    item = _state(client, auth)["v2"]
    assert item["status"] == "failed" and item["publishRetryCount"] == before["publishRetryCount"] == 1
    assert item["error"].startswith("TikTok: ") and "video_pull_failed" in item["error"]
    assert rules.PROCESSING not in item["error"]
    assert item["scheduledAt"] == before["scheduledAt"]  # kept, as on any failure
    assert _told(db, "Posted after all%") == []
    failed = _told(db, "Post failed on TikTok%")
    assert len(failed) == 1 and failed[0]["message"] == item["error"].removeprefix("TikTok: ")


def test_an_item_the_owner_rescheduled_meanwhile_keeps_the_owners_version(quiet, client, auth, db):
    from shared.publishing.engine import runner

    world = quiet
    before = _scheduled_processing(world, client, auth, db, "v3", "Moved by the owner")
    # the owner schedules it again, for tomorrow, before TikTok finishes
    edited = _ts(before["updatedAt"]) + 5
    again = {**before, "status": "scheduled", "scheduledAt": _iso(time.time() + 86400), "updatedAt": _iso(edited)}
    again.pop("error")
    _put(client, auth, [again], _iso(edited))
    world.tiktok.release()
    pub = _publication(db, "tiktok")
    make_due(str(pub["id"]))
    assert runner.settle(str(pub["id"])).state == "published"

    item = _state(client, auth)["v3"]
    assert item == again  # not resurrected into the owner's newer version
    # the post is live, and the owner hears so (once), with the item left as they made it
    told = _told(db, "Posted after all%")
    assert len(told) == 1 and "left as it is" in told[0]["message"]
    assert db.execute("SELECT count(*) AS n FROM compose_settling").fetchone()["n"] == 0


def test_an_unconfirmed_post_found_by_the_re_checks_publishes_the_item(quiet, client, auth, db):
    from publishing_time import make_due as due

    from shared.publishing.engine import runner

    world = quiet
    world.connect("x")
    world.x.fail_next("tweet", 503)  # X's answer is lost and the first look-up finds nothing
    now = time.time()
    url = world.media.add("u1.jpg", b"\xff\xd8" + b"\x00" * 500, "image/jpeg")
    item = {"id": "u1", "title": "Poster u1", "status": "scheduled", "scheduledAt": _iso(now - 120),
            "mediaAssets": [{"id": "asset-u1", "kind": "image", "fileName": "u1.jpg", "mimeType": "image/jpeg",
                             "size": 502, "order": 0, "previewUrl": url, "storageUrl": url,
                             "uploadStatus": "uploaded"}],
            "platforms": ["x"], "sharedCaption": "Maybe it went out", "platformFields": {},
            "createdAt": _iso(now - 3600), "updatedAt": _iso(now - 100)}
    _put(client, auth, [item], _iso(now - 100))
    assert _fire("u1", now + GRACE + 1).get("compose.failed") == 1
    failed = _state(client, auth)["u1"]
    assert failed["status"] == "failed" and "check your account" in failed["error"]

    world.x.record_post(text="Maybe it went out", media_ids=[])  # X had created it after all
    assert due() == 1
    assert runner.sweep_stuck()["published"] == 1
    stored = _state(client, auth)["u1"]
    assert stored["status"] == "published" and stored["publishRetryCount"] == 0
    assert "scheduledAt" not in stored and "error" not in stored
    assert len(_told(db, "Posted after all%")) == 1
    assert sum(1 for name, _ in world.x.calls if name == "tweet") == 1


def test_a_platform_that_settles_before_the_servers_write_is_caught_up_after_it(quiet, client, auth, db,
                                                                                monkeypatch):
    from shared.publishing import api_service
    from shared.publishing.engine import runner

    world = quiet
    world.connect("tiktok")
    _tiktok_processing(world)
    real = api_service.publish_now

    def and_tiktok_finishes_at_once(*args, **kwargs):
        out = real(*args, **kwargs)
        world.tiktok.release()  # settled (its listener finding no record yet) before the result is written
        pid = out["results"][0]["publicationId"]
        make_due(pid)
        assert runner.settle(pid).state == "published"
        return out

    monkeypatch.setattr(api_service, "publish_now", and_tiktok_finishes_at_once)
    now = time.time()
    _put(client, auth, [_video_item(world, "v4", now - 120, "Quick TikTok")], _iso(now - 1))
    assert _fire("v4", now + GRACE + 1).get("compose.failed") == 1  # what the publish answered
    item = _state(client, auth)["v4"]
    assert item["status"] == "published" and "error" not in item and "scheduledAt" not in item
    assert len(_told(db, "Posted after all%")) == 1
    assert db.execute("SELECT count(*) AS n FROM compose_settling").fetchone()["n"] == 0


def test_a_listener_call_that_never_came_is_settled_by_the_housekeeping_sweep(quiet, client, auth, db,
                                                                              monkeypatch):
    from shared.publishing.engine import listeners, runner

    world = quiet
    _scheduled_processing(world, client, auth, db, "v5", "Missed by the listener")
    world.tiktok.release()
    pub = _publication(db, "tiktok")
    make_due(str(pub["id"]))
    with monkeypatch.context() as m:
        m.setattr(listeners, "_listeners", {})  # a worker that died between the engine's commit and the call
        assert runner.settle(str(pub["id"])).state == "published"
    assert _state(client, auth)["v5"]["status"] == "failed"
    # a record nothing moved for weeks (an unconfirmed post the engine stopped re-checking) is forgotten
    db.execute("INSERT INTO compose_settling (item_id, stamp, entries, pending, updated_at) VALUES ('old', 'x', "
               "'[]', ARRAY[%s::uuid], now() - interval '15 days')", (str(pub["id"]),))
    dispatch.arm([("usage.housekeeping", "all", time.time() - 1)], wake=False)
    report = dispatch.tick()
    assert report.get("compose.late_settled") == 1, report
    assert _state(client, auth)["v5"]["status"] == "published"
    assert len(_told(db, "Posted after all%")) == 1
    assert db.execute("SELECT count(*) AS n FROM compose_settling").fetchone()["n"] == 0


def test_a_worker_that_never_imported_compose_still_tells_it():
    """The processing check's QStash message may land in a fresh function: the engine loads compose's listener."""
    import subprocess
    import sys

    code = ("from shared.publishing.engine import listeners\n"
            "assert 'compose' not in listeners._listeners\n"
            "listeners.settled({'state': 'published', 'source': 'compose', 'platform': 'tiktok'})\n"
            "print(listeners._listeners.get('compose'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['shared.compose.late:on_publication_settled']"


def test_the_late_result_rules():
    out = rules.Outcome()
    rules.add_results(out, [
        {"platform": "X", "status": "posted", "state": "published", "publicationId": "p-x"},
        {"platform": "TikTok", "status": "skipped", "state": "scheduled", "publicationId": "p-tt"},
        {"platform": "Threads", "status": "failed", "state": "unconfirmed", "publicationId": "p-th",
         "error": "timed out. We could not confirm the post; check your account before posting again."}])
    assert out.pending == ["p-tt", "p-th"] and out.entries[1]["error"] == rules.PROCESSING
    # processing -> unconfirmed: the text changes, it is still pending
    moved = rules.settle_late(out.entries, "p-tt", {"status": "failed", "state": "unconfirmed", "error": "lost"})
    assert moved is not None and moved[2]["unconfirmed"] and moved[2]["pending"] and moved[2]["error"] == "lost"
    # a re-check that still cannot tell, a publication that is not pending, the same answer: nothing
    assert rules.settle_late(out.entries, "p-th", {"status": "failed", "state": "unconfirmed", "error": "x"}) is None
    assert rules.settle_late(out.entries, "p-x", {"status": "failed", "state": "failed", "error": "gone"}) is None
    posted = rules.settle_late(out.entries, "p-th", {"status": "posted", "state": "published"})
    assert posted is not None and rules.outcome_of(posted[0]).posted == ["X", "Threads"]
    assert rules.outcome_of(posted[0]).pending == ["p-tt"]

    item = {"id": "i", "status": "failed", "scheduledAt": "2026-01-01T09:00:00.000Z", "publishRetryCount": 2,
            "error": "old", "updatedAt": "2026-01-01T09:02:00.000Z"}
    fails = rules.outcome_of([{**out.entries[1], "error": "rejected", "pending": False}])
    assert rules.with_late_result(item, fails) == {**item, "error": "TikTok: rejected"}
    published = rules.with_late_result(item, rules.outcome_of(posted[0]))
    assert published == {"id": "i", "status": "published", "publishRetryCount": 0,
                         "updatedAt": "2026-01-01T09:02:00.000Z"}


def test_a_published_item_whose_processing_platform_posts_later_reads_the_same_and_the_owner_is_told(
        quiet, client, auth, db):
    from shared.publishing.engine import runner

    world = quiet
    world.connect("tiktok", "threads")
    world.threads.video_polls_needed = 1  # Threads finishes its container at once; TikTok keeps processing
    _tiktok_processing(world)
    now = time.time()
    _put(client, auth, [_video_item(world, "v6", now - 120, "Two platforms", platforms=("threads", "tiktok"))],
         _iso(now - 1))
    assert _fire("v6", now + GRACE + 1).get("compose.published") == 1
    before = _state(client, auth)["v6"]
    assert before["status"] == "published" and len(world.threads.posts) == 1
    world.tiktok.release()
    pub = _publication(db, "tiktok")
    make_due(str(pub["id"]))
    assert runner.settle(str(pub["id"])).state == "published"
    assert _state(client, auth)["v6"] == before  # nothing to change in the item
    told = _told(db, "Posted after all%")
    assert len(told) == 1 and "TikTok" in told[0]["message"] and "left as it is" not in told[0]["message"]
    assert db.execute("SELECT count(*) AS n FROM compose_settling").fetchone()["n"] == 0
