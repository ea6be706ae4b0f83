"""Fault injection: lost answers, dead workers, duplicate deliveries, races, 429s, 401s, 5xx. The fakes count
posts; the engine must never post twice and must always end in a state that says what happened."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from publishing_fakes.pinterest import BOARD
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import sweep_after_lease

from shared.publishing.engine import publications as pubs
from shared.publishing.engine import runner
from shared.publishing.gateway import PublishRequest, publish


def req(key, platform, text, **content):
    return PublishRequest(idempotency_key=key, platform=platform, content={"text": text, **content}, source="rss")


def notifications(db, like="%Check your%"):
    return db.execute("SELECT title, message FROM notifications WHERE title LIKE %s", (like,)).fetchall()


def test_timeout_after_platform_received_is_settled_by_lookup(world, db):
    world.connect("x")
    world.x.fail_next("tweet", "timeout_after")
    out = publish(req("k1", "x", "lost answer"))
    assert len(world.x.posts) == 1
    assert out.status == "published" and out.platform_post_id == str(world.x.posts[0]["id"])
    row = db.execute("SELECT progress FROM publications").fetchone()
    assert row["progress"]["result"]["settledBy"] == "lookup"
    # asking again returns the record, never a second post
    assert publish(req("k1", "x", "lost answer")).platform_post_id == out.platform_post_id
    assert len(world.x.posts) == 1


def test_timeout_where_no_lookup_is_possible_is_unconfirmed_with_notification(world, db):
    world.connect("facebook")
    img = world.media.add("s.jpg", b"\xff\xd8" + b"\x00" * 100, "image/jpeg")
    world.meta.fail_next("photo_stories", "timeout_after")
    out = publish(req("s1", "facebook_stories", "", imageUrl=img))
    assert out.status == "unconfirmed"
    assert len(world.meta.posts) == 1
    assert len(notifications(db)) == 1
    again = publish(req("s1", "facebook_stories", "", imageUrl=img))
    assert again.status == "unconfirmed" and len(world.meta.posts) == 1 and len(notifications(db)) == 1


def test_commit_5xx_with_lookup_miss_is_unconfirmed_not_reposted(world, db):
    world.connect("x")
    world.x.fail_next("tweet", 503)
    out = publish(req("k5", "x", "maybe posted"))
    assert out.status == "unconfirmed" and world.x.posts == []
    assert out.details["kind"] == "unknown"
    assert len(notifications(db)) == 1
    assert publish(req("k5", "x", "maybe posted")).status == "unconfirmed"
    assert sum(1 for n, _ in world.x.calls if n == "tweet") == 1


class WorkerDied(BaseException):
    """Stands for the process being killed: not an Exception, so nothing in the engine catches it."""


@pytest.mark.parametrize("platform", ["x", "threads", "youtube", "tiktok"])
def test_worker_dies_between_platform_success_and_db_write(world, db, monkeypatch, platform):
    world.connect(platform)
    real = pubs.settle_published
    calls = {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise WorkerDied()
        return real(*a, **kw)
    monkeypatch.setattr(pubs, "settle_published", dying)
    content = {"text": f"crash on {platform}", "youtubeTitle": "crash"}
    if platform in ("youtube", "tiktok"):
        content["videoUrl"] = world.media.add("v.mp4", b"\x05" * 4000, "video/mp4")
    r = PublishRequest(f"crash:{platform}", platform, content, "media")
    with pytest.raises(WorkerDied):
        publish(r)
    fake = world.by_family[platform]
    assert len(fake.posts) == 1
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "publishing" and row["progress"]["commit_sent"] is True
    # QStash redelivers / a second worker asks: it must not post again
    again = publish(r)
    assert again.status == "skipped" and again.details["state"] == "publishing"
    assert len(fake.posts) == 1
    # the sweeper (lease expired) looks the post up and settles it
    counts = sweep_after_lease()
    assert counts["published"] == 1, counts
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published" and row["platform_post_id"]
    assert len(fake.posts) == 1


def test_worker_dies_before_posting_is_safely_run_again(world, db, monkeypatch):
    world.connect("x")
    from shared.publishing.adapters import x as xad

    def die(self, ctx):
        raise WorkerDied()
    monkeypatch.setattr(xad.XAdapter, "publish", die)
    with pytest.raises(WorkerDied):
        publish(req("d1", "x", "never sent"))
    monkeypatch.undo()
    counts = sweep_after_lease()
    assert counts.get("published") == 1
    assert len(world.x.posts) == 1


def test_two_publishers_race_on_one_publication(world):
    world.connect("x")
    row, _ = pubs.create_or_get(key="race", target="x", family="x", source="rss", source_ref=None,
                                content={"text": "racing"}, dry_run=False, not_before=None)
    barrier = threading.Barrier(8)

    def go():
        barrier.wait()
        return runner.run(str(row["id"]))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: go(), range(8)))
    assert len(world.x.posts) == 1
    assert sum(1 for r in results if r.details.get("claimed") is not False) == 1
    assert pubs.get(str(row["id"]))["state"] == "published"


def test_same_gateway_request_in_parallel_posts_once(world):
    world.connect("threads")
    with ThreadPoolExecutor(6) as pool:
        outs = list(pool.map(lambda _: publish(req("par", "threads", "parallel")), range(6)))
    assert len(world.threads.posts) == 1
    assert {o.status for o in outs} <= {"published", "skipped"}
    assert sum(o.status == "published" for o in outs) >= 1


def test_429_with_reset_headers_is_remembered_and_rescheduled(world, db, redis_raw, backing):
    world.connect("x")
    world.x.rate_reset_in = 3.0
    world.x.fail_next("tweet", 429)
    before = backing.emulator.state.published_count
    started = time.time()
    out = publish(req("rl1", "x", "limited"))
    assert out.status == "scheduled" and out.details["kind"] == "rate_limited"
    acct_key = "pub:rl:account:x:42"
    reset = float(redis_raw.get(acct_key))
    assert started < reset <= started + 3.5 and 0 < redis_raw.ttl(acct_key) <= 5
    row = db.execute("SELECT * FROM publications WHERE idempotency_key='rl1'").fetchone()
    assert row["state"] == "planned" and abs(row["not_before"].timestamp() - reset) < 0.01
    assert backing.emulator.state.published_count == before + 1  # one delayed run message
    msg = list(backing.emulator.state.messages.values())[-1]
    assert msg.url.endswith("/api/internal/publishing/run") and msg.not_before >= reset
    # another post for the same account waits without calling X
    tweets_before = sum(1 for n, _ in world.x.calls if n == "tweet")
    out2 = publish(req("rl2", "x", "also limited"))
    assert out2.status == "scheduled"
    assert sum(1 for n, _ in world.x.calls if n == "tweet") == tweets_before
    # after the reset: our own run, racing the delayed QStash messages if the API is being served; the
    # claim lets exactly one of them post each publication
    time.sleep(max(0.0, reset - time.time()) + 0.05)
    runner.run(str(row["id"]))
    runner.run(out2.details["publicationId"])
    deadline = time.time() + 30
    while time.time() < deadline and any(pubs.get(p)["state"] != "published"
                                         for p in (str(row["id"]), out2.details["publicationId"])):
        time.sleep(0.05)
    assert pubs.get(str(row["id"]))["state"] == "published"
    assert runner.run(str(row["id"])).details.get("claimed") is False  # a stale message does nothing
    assert sorted(p["text"] for p in world.x.posts) == ["also limited", "limited"]


def test_401_mid_upload_marks_connection_and_stops(world, db):
    world.connect("x")
    url = world.media.add("v.mp4", b"\x07" * 3000, "video/mp4")
    world.x.fail_next("media", None, 401)  # INIT passes, the first APPEND is refused
    out = publish(req("u1", "x", "video", videoUrl=url, videoDurationSeconds=10))
    assert out.status == "failed" and out.details["kind"] == "auth"
    assert world.x.posts == []
    row = db.execute("SELECT status FROM platform_connections WHERE platform='x'").fetchone()
    assert row["status"] == "needs_reconnect"
    assert len(notifications(db, "Reconnect%")) == 1
    out2 = publish(req("u2", "x", "next"))
    assert out2.status == "failed" and "reconnect" in out2.error and world.x.posts == []


def test_5xx_before_any_byte_sent_is_retried_with_backoff(world):
    world.connect("x")
    img = world.media.add("a.jpg", b"\xff\xd8" + b"\x00" * 100, "image/jpeg")
    world.x.fail_next("media", 503, "connect")  # INIT fails twice before reaching X for real
    out = publish(req("b1", "x", "retry me", imageUrl=img))
    assert out.status == "published"
    assert len(world.x.posts) == 1
    assert sum(1 for n, _ in world.x.calls if n == "media") == 5  # 2 failed INITs + INIT/APPEND/FINALIZE


def test_connect_error_on_the_commit_never_reached_x_so_it_retries(world):
    world.connect("x")
    world.x.fail_next("tweet", "connect")
    out = publish(req("c1", "x", "retry the commit"))
    assert out.status == "published" and len(world.x.posts) == 1


def test_platform_down_reschedules_then_gives_up_with_reason(world, db, monkeypatch):
    world.connect("threads")
    world.threads.fail_next("container", *(["connect"] * 100))
    out = publish(req("down", "threads", "unreachable"))
    assert out.status == "scheduled" and out.details["kind"] == "transient"
    pid = out.details["publicationId"]
    deadline = time.time() + 40  # delayed QStash messages may run it too (when the API is served): same end
    while time.time() < deadline and pubs.get(pid)["state"] != "failed":
        db.execute("UPDATE publications SET not_before=now() WHERE id=%s AND state='planned'", (pid,))
        runner.run(pid)
        time.sleep(0.01)
    row = pubs.get(pid)
    assert row["state"] == "failed" and "gave up" in row["last_error"]
    assert world.threads.posts == []
    assert len(notifications(db, "Threads post not sent")) == 1


def _signed_delivery(backing, path, body, message_id):
    from shared.config import get_config
    from shared.local.qstash_emulator import sign

    cfg = get_config()
    raw = json.dumps(body).encode()
    return raw, {"Upstash-Signature": sign(raw, cfg.public_base_url + path, cfg.qstash_current_signing_key),
                 "Upstash-Message-Id": message_id, "Content-Type": "application/json"}


def test_qstash_delivers_the_same_message_twice_at_the_same_moment(world, live_api, backing):
    world.connect("pinterest")
    img = world.media.add("p.jpg", b"\xff\xd8" + b"\x00" * 100, "image/jpeg")
    row, _ = pubs.create_or_get(key="q2", target="pinterest", family="pinterest", source="tmdb", source_ref=None,
                                content={"title": "Pin", "imageUrl": img, "boardId": BOARD}, dry_run=False,
                                not_before=None)
    path = "/api/internal/publishing/run"
    raw, headers = _signed_delivery(backing, path, {"publicationId": str(row["id"])}, "msg_dup_1")
    _raw2, headers2 = _signed_delivery(backing, path, {"publicationId": str(row["id"])}, "msg_dup_2")
    barrier = threading.Barrier(4)

    def deliver(h):
        barrier.wait()
        return httpx.post(live_api.url + path, content=raw, headers=h, timeout=20)
    with ThreadPoolExecutor(4) as pool:
        resps = list(pool.map(deliver, [headers, headers, headers2, headers2]))
    assert all(r.status_code in (200, 409) for r in resps), [r.text for r in resps]
    assert len(world.pinterest.posts) == 1
    assert pubs.get(str(row["id"]))["state"] == "published"
    # unsigned deliveries are refused
    assert httpx.post(live_api.url + path, content=raw, headers={"Content-Type": "application/json"}).status_code == 401


def test_scheduled_publication_runs_from_a_delayed_qstash_message(world, live_api, backing, client, auth):
    from datetime import datetime, timedelta, timezone

    world.connect("x")
    at = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    r = client.post("/api/platforms/post", headers=auth,
                    json={"platforms": ["X"], "content": {"text": "later", "scheduledAt": at}})
    res = r.json()["data"]["results"][0]
    assert res["state"] == "scheduled" and res["status"] == "skipped" and world.x.posts == []
    deadline = time.time() + 30
    while time.time() < deadline and not world.x.posts:
        time.sleep(0.1)
    assert [p["text"] for p in world.x.posts] == ["later"]
    pid = res["publicationId"]
    deadline = time.time() + 15
    while time.time() < deadline and pubs.get(pid)["state"] != "published":
        time.sleep(0.05)
    assert pubs.get(pid)["state"] == "published"


def test_media_processing_longer_than_one_run_resumes_from_the_container(world, db, monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("PUBLISH_POLL_BUDGET_SECONDS", "0.05")
    monkeypatch.setenv("PUBLISH_POLL_INTERVAL_SECONDS", "0.01")
    get_config.cache_clear()
    world.connect("threads")
    world.threads.video_polls_needed = 10**9  # still processing when this run's budget ends
    vid = world.media.add("v.mp4", b"\x00" * 5000, "video/mp4")
    out = publish(req("slow", "threads", "slow video", videoUrl=vid))
    assert out.status == "scheduled" and out.details["kind"] == "processing"
    assert world.threads.posts == [] and len(world.threads.containers) == 1
    world.threads.video_polls_needed = 1
    pid = out.details["publicationId"]
    db.execute("UPDATE publications SET not_before=now() WHERE id=%s", (pid,))
    assert runner.run(pid).state == "published"
    assert len(world.threads.containers) == 1 and len(world.threads.posts) == 1  # the same container


def test_x_video_processing_longer_than_one_run_is_not_uploaded_again(world, db, monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("PUBLISH_POLL_BUDGET_SECONDS", "0.05")
    monkeypatch.setenv("PUBLISH_POLL_INTERVAL_SECONDS", "0.01")
    get_config.cache_clear()
    world.connect("x")
    vid = world.media.add("v.mp4", b"\x01" * 5000, "video/mp4")
    real = world.x._status

    def stuck(request):
        with world.x.lock:
            for m in world.x.media.values():
                m["state"] = "pending"  # never advances while "stuck"
        return world.x.json({"data": {"processing_info": {"state": "in_progress"}}})
    world.x.routes = [(m, rx, n, stuck if n == "status" else fn) for m, rx, n, fn in world.x.routes]
    out = publish(req("xslow", "x", "slow video", videoUrl=vid, videoDurationSeconds=10))
    assert out.status == "scheduled" and out.details["kind"] == "processing" and world.x.posts == []
    world.x.routes = [(m, rx, n, real if n == "status" else fn) for m, rx, n, fn in world.x.routes]
    pid = out.details["publicationId"]
    db.execute("UPDATE publications SET not_before=now() WHERE id=%s", (pid,))
    assert runner.run(pid).state == "published"
    assert len(world.x.media) == 1 and len(world.x.posts) == 1  # one upload, one post


def test_a_storage_hiccup_while_preparing_is_retried_not_lost(world, db, monkeypatch):
    from shared.publishing.media import urls

    world.connect("instagram")
    calls = {"n": 0}
    real = urls.pullable

    def flaky(u):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("B2 presign endpoint down")
        return real(u)
    monkeypatch.setattr(urls, "pullable", flaky)
    img = world.media.add("a.jpg", b"\xff\xd8" + b"\x00" * 100, "image/jpeg")
    out = publish(req("prep", "instagram", "poster", imageUrl=img))
    assert out.status == "scheduled" and out.details["kind"] == "transient" and world.meta.posts == []
    pid = out.details["publicationId"]
    db.execute("UPDATE publications SET not_before=now() WHERE id=%s", (pid,))
    assert runner.run(pid).state == "published" and len(world.meta.posts) == 1


def test_youtube_upload_cut_by_a_dead_worker_resumes_from_the_session(world, db, monkeypatch):
    from shared.publishing.adapters import youtube as yt

    monkeypatch.setattr(yt, "CHUNK_BYTES", 256 * 1024)
    world.connect("youtube")
    data = bytes(range(256)) * 4096  # 1 MB = 4 chunks
    url = world.media.add("t.mp4", data, "video/mp4")
    real_chunk = world.youtube._chunk

    def dying_chunk(request, sid):
        if len(world.youtube.sessions[sid]["chunks"]) == 2:
            raise WorkerDied()  # the function hit its time limit mid-upload
        return real_chunk(request, sid)
    world.youtube.routes = [(m, rx, n, dying_chunk if n == "chunk" else fn) for m, rx, n, fn in world.youtube.routes]
    with pytest.raises(WorkerDied):
        publish(PublishRequest("yt-long", "youtube", {"youtubeTitle": "Long", "videoUrl": url}, "media"))
    world.youtube.routes = [(m, rx, n, real_chunk if n == "chunk" else fn) for m, rx, n, fn in world.youtube.routes]
    counts = sweep_after_lease()  # no commit was sent: safe to run again
    assert counts.get("published") == 1, counts
    assert len(world.youtube.sessions) == 1  # the same upload session, not a new upload
    s = next(iter(world.youtube.sessions.values()))
    assert [c[0] for c in s["chunks"]] == [0, 262144, 524288, 786432]  # no byte sent twice
    assert len(world.youtube.posts) == 1


def test_last_call_of_the_window_is_remembered_before_any_429(world, redis_raw):
    world.connect("x")
    world.x.remaining = 1  # the next post uses the last call of X's 15-minute window
    world.x.rate_reset_in = 30
    assert publish(req("w1", "x", "last one")).status == "published"
    assert redis_raw.get("pub:rl:account:x:42")  # remembered from the success's headers
    out = publish(req("w2", "x", "waits"))
    assert out.status == "scheduled" and out.details["kind"] == "rate_limited"
    assert sum(1 for n, _ in world.x.calls if n == "tweet") == 1  # X was not asked, so no 429 was earned
