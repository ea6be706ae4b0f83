"""Scheduled Create posts go out when the browser is closed: the server's fallback (shared/compose/scheduler.py)
against real Postgres, Redis, the dispatcher and the platform fakes. Each test drives the dispatcher itself (the
QStash wake-ups are not sent) and moves the scheduling clock.

The "client" in these tests is what the frontend sends: the workspace PUT the Create page makes (ComposeSync.tsx)
and the one-platform POST /api/platforms/post composePublish.ts makes, its JSON written out by hand."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)

from shared import clock
from shared.scheduling import dispatch

KIND = "compose.publish"
GRACE = 90


def _jpeg(w=1080, h=1080):
    sof = b"\xff\xc0\x00\x11\x08" + h.to_bytes(2, "big") + w.to_bytes(2, "big") + b"\x03" + b"\x00" * 9
    return b"\xff\xd8" + sof + b"\x00" * 500


def _iso(ts: float) -> str:
    at = datetime.fromtimestamp(ts, timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def quiet(world, monkeypatch):
    """The other kinds' bootstrap hooks see their work done; wake-ups are not sent (the test ticks)."""
    from shared.redis_client import get_redis

    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    dispatch.kinds()
    far = repr(time.time() + 86400)
    get_redis().hset(dispatch.META_KEY, values={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                                "comments.next": far})
    world.connect("x")
    yield world
    clock.set_offset(None)


def _item(world, item_id: str, scheduled_at: float | None, caption: str, *, updated: float | None = None, **kw):
    url = world.media.add(f"{item_id}.jpg", _jpeg(), "image/jpeg")
    created = _iso(time.time() - 3600)
    item = {"id": item_id, "title": f"Poster {item_id}", "status": "scheduled" if scheduled_at else "draft",
            "mediaAssets": [{"id": f"asset-{item_id}", "kind": "image", "fileName": f"{item_id}.jpg",
                             "mimeType": "image/jpeg", "size": 520, "order": 0, "previewUrl": url,
                             "storageUrl": url, "uploadStatus": "uploaded"}],
            "platforms": ["x"], "sharedCaption": caption, "platformFields": {},
            "createdAt": created, "updatedAt": _iso(updated or time.time() - 1800)}
    if scheduled_at:
        item["scheduledAt"] = _iso(scheduled_at)
    item.update(kw)
    return item


def _put(client, auth, items, last=None):
    r = client.put("/api/create/state", headers=auth, json={"items": items, "lastModifiedAt": last})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _state(client, auth) -> dict[str, dict]:
    r = client.get("/api/create/state", headers=auth)
    assert r.status_code == 200, r.text
    return {i["id"]: i for i in r.json()["data"]["items"]}


def _tick_at(ts: float) -> dict:
    clock.set_offset(ts - time.time())
    return dispatch.tick()


def _client_posts(client, auth, item) -> dict:
    """What composePublish.ts sends for this one-image, X-only item, written out by hand: text is the caption
    trimmed, title the item's title (no YouTube or Pinterest title), imageUrl the asset's public URL; every other
    field is undefined in the browser and so absent from the JSON."""
    body = {"platforms": ["X"], "content": {"text": item["sharedCaption"].strip(), "title": item["title"],
                                            "imageUrl": item["mediaAssets"][0]["storageUrl"]}}
    r = client.post("/api/platforms/post", headers=auth, json=body)
    assert r.status_code == 200, r.text
    return r.json()["data"]["results"][0]


def _x_posts(world, caption: str) -> int:
    return sum(1 for p in world.x.posts if p.get("text") == caption)


def test_with_no_client_a_scheduled_post_is_published_once_at_its_slot_plus_the_grace(quiet, client, auth, db,
                                                                                      monkeypatch):
    from shared.publishing import api_service

    world = quiet
    slot = time.time() + 600
    item = _item(world, "p1", slot, "  Dune: Part Three, the poster  ")
    _put(client, auth, [item], _iso(time.time()))
    assert dispatch.pending(KIND) == {f"{KIND}|p1": pytest.approx(slot + GRACE, abs=0.01)}
    # what an open device pulling the workspace sees while the server is publishing: the lock, already committed
    during: list[dict] = []
    real = api_service.publish_now

    def watched(*args, **kwargs):
        during.append(_state(client, auth)["p1"])
        return real(*args, **kwargs)

    monkeypatch.setattr(api_service, "publish_now", watched)

    early = _tick_at(slot + GRACE - 5)
    assert "ran.compose.publish" not in early and world.x.posts == []
    report = _tick_at(slot + GRACE + 1)
    assert report.get("compose.published") == 1, report
    assert _x_posts(world, "Dune: Part Three, the poster") == 1 and len(world.x.posts) == 1
    assert len(during) == 1 and during[0]["status"] == "scheduled"
    assert _ts(during[0]["publishLockExpiresAt"]) == pytest.approx(_ts(during[0]["lastPublishAttemptAt"]) + 600,
                                                                  abs=1)
    assert _ts(during[0]["updatedAt"]) > _ts(item["updatedAt"])  # a device's older copy loses to it in the merge

    stored = _state(client, auth)["p1"]
    assert stored["status"] == "published" and stored["publishRetryCount"] == 0
    for gone in ("scheduledAt", "publishLockExpiresAt", "error"):  # removed, as the browser's undefined is
        assert gone not in stored
    attempt = _ts(stored["lastPublishAttemptAt"])
    assert slot + GRACE <= attempt <= _ts(stored["updatedAt"]) and _ts(stored["updatedAt"]) > _ts(item["updatedAt"])
    assert dispatch.pending(KIND) == {}
    # a repeated item (a lease that ran out) finds it published: nothing twice
    dispatch.arm([(KIND, "p1", clock.time() - 1)], wake=False)
    assert dispatch.tick().get("compose.stale") == 1 and len(world.x.posts) == 1
    log = db.execute("SELECT level, message FROM activity_logs WHERE service = 'compose'").fetchall()
    assert [r["level"] for r in log] == ["info"] and "Poster p1" in log[0]["message"]
    note = db.execute("SELECT type, source, action_page FROM notifications").fetchall()
    assert [(n["type"], n["source"], n["action_page"]) for n in note] == [("success", "create_studio", "/create")]


def test_a_client_lock_makes_the_server_wait_and_look_again_when_the_lock_expires(quiet, client, auth):
    world = quiet
    now = time.time()
    item = _item(world, "p2", now - 120, "Held by an open tab")
    _put(client, auth, [item], _iso(now - 1))
    # saved overdue by an open tab: the tab fires it first, so the grace runs from the save, not the slot
    assert dispatch.pending(KIND)[f"{KIND}|p2"] == pytest.approx(time.time() + GRACE, abs=2)
    # the open tab fired and saved its lock (ComposeScheduler.tsx: lock, lastPublishAttemptAt; updatedAt as it was)
    lock = now + 600
    locked = {**item, "publishLockExpiresAt": _iso(lock), "lastPublishAttemptAt": _iso(now)}
    _put(client, auth, [locked], _iso(now))
    report = _tick_at(now + GRACE + 1)
    assert report.get("compose.later") == 1 and world.x.posts == []
    assert dispatch.pending(KIND)[f"{KIND}|p2"] == pytest.approx(lock + 5, abs=0.01)
    # the tab was closed before it published or wrote a result: once its lock has expired the server publishes
    report = _tick_at(lock + 6)
    assert report.get("compose.published") == 1, report
    assert _x_posts(world, "Held by an open tab") == 1
    stored = _state(client, auth)["p2"]
    assert stored["status"] == "published" and "publishLockExpiresAt" not in stored


def test_a_client_and_the_server_firing_the_same_item_make_one_post(quiet, client, auth, db):
    world = quiet
    now = time.time()
    # the tab published first (the frontend's own request), saved its lock, and was closed before its result
    first = _item(world, "p3", now - 120, "Client fired first")
    _put(client, auth, [first], _iso(now - 1))
    by_client = _client_posts(client, auth, first)
    assert by_client["status"] == "posted"
    _put(client, auth, [{**first, "publishLockExpiresAt": _iso(now + 600), "lastPublishAttemptAt": _iso(now)}],
         _iso(now))
    report = _tick_at(now + 606)
    assert report.get("compose.published") == 1, report
    assert _x_posts(world, "Client fired first") == 1  # the gateway answered with the client's publication
    assert _state(client, auth)["p3"]["status"] == "published"

    # the server published first; a tab that never pulled fires the same item: the same one publication
    clock.set_offset(None)
    second = _item(world, "p4", now - 120, "Server fired first")
    _put(client, auth, [second], _iso(now - 1))
    assert _tick_at(time.time() + GRACE + 1).get("compose.published") == 1
    by_stale_tab = _client_posts(client, auth, second)
    assert by_stale_tab["status"] == "posted" and by_stale_tab["id"] == world.x.posts[-1]["id"]
    assert _x_posts(world, "Server fired first") == 1
    rows = db.execute("SELECT idempotency_key FROM publications WHERE source = 'compose'").fetchall()
    assert len(rows) == 2 and all(r["idempotency_key"].startswith("api:") for r in rows)


def test_rescheduling_unscheduling_or_deleting_an_item_moves_or_drops_its_run(quiet, client, auth):
    world = quiet
    now = time.time()
    t1, t2 = now + 3600, now + 7200
    item = _item(world, "p5", t1, "Moved around", updated=now - 100)
    _put(client, auth, [item], _iso(now - 100))
    assert dispatch.pending(KIND)[f"{KIND}|p5"] == pytest.approx(t1 + GRACE, abs=0.01)
    moved = {**item, "scheduledAt": _iso(t2), "updatedAt": _iso(now - 90)}
    _put(client, auth, [moved], _iso(now - 90))
    assert dispatch.pending(KIND)[f"{KIND}|p5"] == pytest.approx(t2 + GRACE, abs=0.01)
    # an item still firing at the old time (a copy left behind) finds the later time: re-armed there, nothing sent
    dispatch.arm([(KIND, "p5", t1 + GRACE)], wake=False)
    report = _tick_at(t1 + GRACE + 1)
    assert report.get("compose.later") == 1 and world.x.posts == []
    assert dispatch.pending(KIND)[f"{KIND}|p5"] == pytest.approx(t2 + GRACE, abs=0.01)
    clock.set_offset(None)

    unscheduled = {**moved, "status": "draft", "updatedAt": _iso(now - 80)}
    unscheduled.pop("scheduledAt")
    _put(client, auth, [unscheduled], _iso(now - 80))
    assert dispatch.pending(KIND) == {}
    _put(client, auth, [{**moved, "updatedAt": _iso(now - 70)}], _iso(now - 70))
    assert f"{KIND}|p5" in dispatch.pending(KIND)
    version = client.get("/api/create/state", headers=auth).json()["data"]["updatedAt"]
    _put(client, auth, [], version)  # deleted by a tab that saw the latest version
    assert _state(client, auth) == {} and dispatch.pending(KIND) == {}
    dispatch.arm([(KIND, "p5", t2 + GRACE)], wake=False)
    assert _tick_at(t2 + GRACE + 1).get("compose.stale") == 1 and world.x.posts == []


def test_an_item_the_client_would_refuse_is_failed_with_its_message_and_nothing_is_sent(quiet, client, auth, db):
    world = quiet
    now = time.time()
    no_caption = _item(world, "p6", now - 120, "   ")
    _put(client, auth, [no_caption], _iso(now - 1))
    assert _tick_at(now + GRACE + 1).get("compose.invalid") == 1
    stored = _state(client, auth)["p6"]
    assert stored["status"] == "failed" and stored["publishRetryCount"] == 1
    assert stored["error"] == "Enter a caption before scheduling or publishing to the selected platforms"
    assert stored["scheduledAt"] == no_caption["scheduledAt"] and "publishLockExpiresAt" not in stored
    assert world.x.calls == [] and dispatch.pending(KIND) == {}
    note = db.execute("SELECT type, title, message, source FROM notifications").fetchone()
    assert note["type"] == "error" and note["source"] == "create_studio" and "Poster p6" in note["title"]
    assert note["message"] == stored["error"]
    assert db.execute("SELECT level FROM activity_logs WHERE service = 'compose'").fetchone()["level"] == "error"


def test_a_device_saving_an_older_copy_does_not_undo_the_servers_result(quiet, client, auth):
    world = quiet
    now = time.time()
    item = _item(world, "p7", now - 120, "Published while away")
    other = _item(world, "d1", None, "A draft")
    seen = _put(client, auth, [item, other], _iso(now - 1))["updatedAt"]
    assert _tick_at(now + GRACE + 1).get("compose.published") == 1
    clock.set_offset(None)
    # the laptop wakes up with the copy it had: the item still scheduled, an edit to the draft
    after = _put(client, auth, [item, {**other, "sharedCaption": "edited", "updatedAt": _iso(time.time())}], seen)
    by_id = {i["id"]: i for i in after["items"]}
    assert by_id["p7"]["status"] == "published" and by_id["d1"]["sharedCaption"] == "edited"
    # a device that never listed it (its list older than the server's write) does not delete it either
    kept = _put(client, auth, [by_id["d1"]], seen)
    assert "p7" in {i["id"] for i in kept["items"]}
    assert dispatch.pending(KIND) == {} and _x_posts(world, "Published while away") == 1


def test_the_housekeeping_window_rearms_a_scheduled_item_the_dispatcher_lost(quiet, client, auth):
    world = quiet
    slot = time.time() + 3 * 3600
    _put(client, auth, [_item(world, "p8", slot, "Lost in Redis")], _iso(time.time()))
    dispatch.disarm(KIND, ["p8"])  # Redis lost it
    dispatch.arm([("usage.housekeeping", "all", time.time() - 1)], wake=False)
    report = dispatch.tick()
    assert report.get("compose.rearmed") == 1, report
    assert dispatch.pending(KIND) == {f"{KIND}|p8": pytest.approx(slot + GRACE, abs=0.01)}


def test_drafts_and_edits_that_do_not_change_a_schedule_cost_no_redis_command(quiet, backing, client, auth):
    from shared.compose import service

    world = quiet
    now = time.time()
    draft = _item(world, "d2", None, "Just a draft")
    before = backing.redis_counter.total
    service.save_workspace([draft], _iso(now))
    service.save_workspace([{**draft, "sharedCaption": "typing...", "updatedAt": _iso(now + 1)}], _iso(now + 1))
    assert backing.redis_counter.total == before
    scheduled = _item(world, "p9", now + 86400, "Tomorrow", updated=now + 2)
    service.save_workspace([draft, scheduled], _iso(now + 2))
    assert backing.redis_counter.total - before == 1  # the one arm script (no wake-up: the hourly net reaches it)
    service.save_workspace([draft, {**scheduled, "sharedCaption": "Tomorrow!", "updatedAt": _iso(now + 3)}],
                           _iso(now + 3))
    assert backing.redis_counter.total - before == 1
    assert dispatch.tick()["window"] is False  # nothing due: the scheduled post wakes nothing until its time


def test_an_unconfirmed_post_fails_the_item_with_check_before_retrying_and_is_never_sent_again(quiet, client, auth):
    world = quiet
    now = time.time()
    world.x.fail_next("tweet", 503)  # X's answer is lost and the lookup finds nothing: it may or may not be up
    item = _item(world, "p10", now - 120, "Maybe posted", updated=now - 100)
    _put(client, auth, [item], _iso(now - 100))
    assert _tick_at(now + GRACE + 1).get("compose.failed") == 1
    stored = _state(client, auth)["p10"]
    assert stored["status"] == "failed" and stored["publishRetryCount"] == 1
    assert stored["error"].startswith("X: ") and "check your account before posting again" in stored["error"]
    assert stored["scheduledAt"] == item["scheduledAt"]  # kept, as the browser keeps it on a failure
    # the owner schedules it again as it is: the gateway answers with the same unconfirmed publication
    later = _ts(stored["updatedAt"]) + 5  # the owner's edit comes after the server's write
    again = {**stored, "status": "scheduled", "scheduledAt": _iso(later - 60), "updatedAt": _iso(later)}
    _put(client, auth, [again], _iso(later))
    assert _tick_at(clock.time() + GRACE + 1).get("compose.failed") == 1
    assert _state(client, auth)["p10"]["publishRetryCount"] == 2
    assert sum(1 for name, _ in world.x.calls if name == "tweet") == 1 and world.x.posts == []
