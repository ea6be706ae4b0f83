"""A look-up made while our publishing request may still be landing must not read "not there (yet)" as proof
that nothing was posted: the row would become `failed`, "safe to post again", the platform would then finish,
and the next re-send (Compose, an approved RSS retry) would post a second copy. Only the platform's final state
(TikTok FAILED, an upload session that is gone, a container in ERROR/EXPIRED) proves absence."""

from __future__ import annotations

import re
from types import SimpleNamespace

import httpx
import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import make_due

from shared.publishing.engine import runner
from shared.publishing.engine.service import submit
from shared.publishing.gateway import PublishRequest, publish


def _swap_route(fake, name: str, handler) -> None:
    fake.routes = [(m, rx, n, handler if n == name else fn) for m, rx, n, fn in fake.routes]


def _route(fake, name: str):
    return next(fn for _, _, n, fn in fake.routes if n == name)


def _resend_from_compose_and_rss(key: str, platform: str, content: dict) -> None:
    """The owner presses send again in Compose (re-arms failed rows), and an approved RSS retry asks the
    gateway again: both may post only if the failed attempt is proven to have posted nothing."""
    submit(key=key, platform=platform, content=content, source="compose", retry_failed=True)
    publish(PublishRequest(key, platform, content, "rss"))


def _last_chunk(request: httpx.Request) -> bool:
    m = re.match(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("content-range", ""))
    return bool(m) and int(m.group(2)) + 1 == int(m.group(3))


def test_tiktok_processing_upload_after_a_timed_out_last_chunk_is_not_proof(world, db):
    """The issue's first sequence: TikTok's last chunk times out while TikTok is still receiving it
    (PROCESSING_UPLOAD, no publish id yet); TikTok then finishes; a re-send must not post it again."""
    world.connect("tiktok")
    content = {"text": "teaser [pub:tt-slow]", "videoUrl": world.media.add("tt.mp4", b"\x05" * 4000, "video/mp4")}
    real_upload = _route(world.tiktok, "upload")
    still_arriving: list = []

    def accepted_slowly(request, pid):
        if _last_chunk(request) and not still_arriving:  # only the first upload's last chunk is slow
            still_arriving.append(lambda: real_upload(request, pid))  # lands after our client gave up
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
        return real_upload(request, pid)
    _swap_route(world.tiktok, "upload", accepted_slowly)

    publish(PublishRequest("tt-slow", "tiktok", content, "compose"))
    still_arriving[0]()  # TikTok finishes receiving the chunk: the video is published
    assert len(world.tiktok.posts) == 1
    _resend_from_compose_and_rss("tt-slow", "tiktok", content)
    assert len(world.tiktok.posts) == 1, "the re-send posted the video a second time"

    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "publishing" and row["absent_proof"] is None  # parked: TikTok is processing it
    for _ in range(3):  # the delayed checks (TikTok reports PROCESSING_DOWNLOAD, then PUBLISH_COMPLETE)
        make_due(str(row["id"]))
        if runner.settle(str(row["id"])).state == "published":
            break
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published" and row["platform_post_id"]
    assert len(world.tiktok.posts) == 1


def test_youtube_incomplete_session_while_the_last_chunk_may_land_is_not_proof(world, db, monkeypatch):
    """YouTube's session answers "N-1 of N bytes" while our last chunk is still on its way; the session then
    creates the video. The look-up must leave it unconfirmed, and a re-check finds the video."""
    world.connect("youtube")
    content = {"text": "d", "youtubeTitle": "Trailer [pub:yt-slow]",
               "videoUrl": world.media.add("yt.mp4", b"\x07" * 5000, "video/mp4")}
    real_chunk = _route(world.youtube, "chunk")
    still_arriving: list = []

    def every_last_chunk_times_out(request, sid):
        if _last_chunk(request):  # the answer never comes back in time; the bytes are still on their way
            still_arriving.append(lambda: real_chunk(request, sid))
            raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
        return real_chunk(request, sid)
    _swap_route(world.youtube, "chunk", every_last_chunk_times_out)

    out = publish(PublishRequest("yt-slow", "youtube", content, "compose"))
    assert world.youtube.posts == [] and len(world.youtube.sessions) == 1
    still_arriving[0]()  # the first of our last chunks lands: the session creates the video
    _swap_route(world.youtube, "chunk", real_chunk)
    assert len(world.youtube.posts) == 1
    _resend_from_compose_and_rss("yt-slow", "youtube", content)
    assert len(world.youtube.posts) == 1 and len(world.youtube.sessions) == 1, "a second upload was started"
    assert out.status == "unconfirmed", out

    make_due()  # the back-off re-check (an hour later in production)
    assert runner.sweep_stuck()["published"] == 1
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published" and row["platform_post_id"] == world.youtube.posts[0]["video_id"]


# --- what each look-up may call proof, against the fakes ------------------------------------------------

def _ctx(world, family: str, progress: dict, content=None, may_send: bool = False):
    from shared.publishing.adapters.base import Account, Content, PublishContext
    from shared.publishing.adapters.http import PlatformHttp
    from shared.publishing.connections import store

    conn = store.get(family)
    return PublishContext(target=family, account=Account(family, conn.account_id, conn.access_token, "screndly"),
                          content=content or Content(text="x"),
                          http=PlatformHttp(httpx.Client(), token=conn.access_token, retry_base=0.001),
                          progress=progress, checkpoint=lambda **v: 1, may_send=may_send)


@pytest.mark.parametrize("status,answer", [
    ("PROCESSING_UPLOAD", "processing"), ("PROCESSING_DOWNLOAD", "processing"), ("FAILED", "absent"),
    ("PUBLISH_COMPLETE", "found"),
])
def test_tiktok_lookup_answers(world, status, answer):
    from shared.publishing.adapters.base import NotPublished, PostResult
    from shared.publishing.adapters.tiktok import ADAPTER
    from shared.publishing.engine.errors import StillProcessing

    world.connect("tiktok")
    world.tiktok.publishes["v_pub_1"] = {"status": status, "received": 10, "polls": -10, "post_id": "77"}
    ctx = _ctx(world, "tiktok", {"commit_sent": True, "upload_publish_id": "v_pub_1"})
    if answer == "processing":
        with pytest.raises(StillProcessing):
            ADAPTER.lookup(ctx)
        return
    got = ADAPTER.lookup(ctx)
    assert isinstance(got, NotPublished if answer == "absent" else PostResult)
    # nothing sent: our own fenced record is the proof
    assert isinstance(ADAPTER.lookup(_ctx(world, "tiktok", {"upload_publish_id": "v_pub_1"})), NotPublished)


def test_youtube_lookup_answers(world, monkeypatch):
    import time

    from shared.publishing.adapters.base import NotPublished, PostResult
    from shared.publishing.adapters.youtube import ADAPTER
    from shared.publishing.engine.errors import PublishError

    world.connect("youtube")
    world.youtube.sessions["s1"] = {"size": 10, "held": 4, "meta": {}, "chunks": [], "video": None}
    base = {"upload_session": "https://yt.test/upload/session/s1", "upload_size": 10, "commit_sent": True,
            "started_at": time.time()}
    assert ADAPTER.lookup(_ctx(world, "youtube", dict(base))) is None  # incomplete: may still complete
    gone = {**base, "upload_session": "https://yt.test/upload/session/nope"}
    assert isinstance(ADAPTER.lookup(_ctx(world, "youtube", gone)), NotPublished)  # gone within its week
    with pytest.raises(PublishError):  # gone, but old enough to have completed and aged out: unknown
        ADAPTER.lookup(_ctx(world, "youtube", {**gone, "started_at": time.time() - 8 * 86400}))
    world.youtube.videos["vid9"] = {"id": "vid9"}
    world.youtube.sessions["s1"]["video"] = "vid9"
    got = ADAPTER.lookup(_ctx(world, "youtube", dict(base)))
    assert isinstance(got, PostResult) and got.post_id == "vid9"
    assert not any(n in ("thumbnail", "playlist_insert") for n, _ in world.youtube.calls)  # a checker reads only


@pytest.mark.parametrize("status,proof", [("FINISHED", False), ("IN_PROGRESS", False), ("PUBLISHED", False),
                                          ("ERROR", True), ("EXPIRED", True)])
def test_container_lookup_answers(status, proof):
    from shared.publishing.adapters.base import NotPublished, container_lookup

    http = SimpleNamespace(json=lambda method, url, **kw: {"status": status} if "/c1" in url else {"data": []})
    ctx = SimpleNamespace(progress={"container_id": "c1", "commit_sent": True, "text_key": "hello"}, http=http)
    got = container_lookup(ctx, base="https://graph.test", status_field="status", listing_url="https://graph.test/u",
                           listing_params={}, text_field="text")
    assert isinstance(got, NotPublished) is proof and (proof or got is None)
    no_container = SimpleNamespace(progress={"commit_sent": True}, http=http)
    assert container_lookup(no_container, base="b", status_field="status", listing_url="l", listing_params={},
                            text_field="text") is None


def test_an_unconfirmed_post_is_re_checked_hours_later_and_found(world, db):
    """X accepts the post after our client gave up: the look-up right after cannot see it, so the row is
    unconfirmed (the owner told once), re-checked with back-off, not at the next tick, and settled when found."""
    from datetime import datetime, timezone

    world.connect("x")
    real_tweet = _route(world.x, "tweet")
    late: list = []

    def accepted_after_the_timeout(request, **kw):
        late.append(lambda: real_tweet(request, **kw))
        raise httpx.ReadTimeout("timed out waiting for the answer", request=request)
    _swap_route(world.x, "tweet", accepted_after_the_timeout)
    out = publish(PublishRequest("x-late", "x", {"text": "late one [pub:x-late]"}, "rss"))
    assert out.status == "unconfirmed" and world.x.posts == []
    row = db.execute("SELECT * FROM publications").fetchone()
    wait = (row["next_check_at"] - datetime.now(timezone.utc)).total_seconds()
    assert 3000 < wait <= 3600  # an hour (PUBLISH_RECHECK_BASE_SECONDS), not seconds
    late[0]()  # X finishes: the post exists now
    assert runner.sweep_stuck() == {"published": 0, "failed": 0, "unconfirmed": 0}  # not due yet
    make_due()
    assert runner.sweep_stuck()["published"] == 1
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published" and row["platform_post_id"] == str(world.x.posts[0]["id"])
    assert db.execute("SELECT count(*) AS n FROM notifications WHERE title LIKE 'Check your%'").fetchone()["n"] == 1
    assert len(world.x.posts) == 1


def test_re_checks_back_off_from_an_hour_to_a_day_then_stop():
    from shared.publishing.engine.outcomes import MAX_RECHECKS, next_recheck, now

    gaps = [round((next_recheck(n) - now()).total_seconds() / 3600) for n in range(MAX_RECHECKS)]
    assert gaps == [1, 2, 4, 8, 16, 24, 24, 24, 24, 24]
    assert next_recheck(MAX_RECHECKS) is None
