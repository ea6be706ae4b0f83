"""Once the publishing request went out, no error may end in a `failed` row that a later request re-arms and
re-posts: anything other than the platform's own answer to the send is settled by a look-up."""

from __future__ import annotations

from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import make_due

from shared.publishing.engine import runner
from shared.publishing.engine.service import submit
from shared.publishing.gateway import PublishRequest, publish


def _again_from_compose(key: str, platform: str, content: dict) -> dict:
    """What POST /api/platforms/post does on a client retry: it re-arms failed rows."""
    row, _ = submit(key=key, platform=platform, content=content, source="compose", retry_failed=True)
    return row


def test_tiktok_status_check_refused_after_upload_is_looked_up_not_failed(world, db):
    world.connect("tiktok")
    content = {"text": "teaser", "videoUrl": world.media.add("t.mp4", b"\x05" * 4000, "video/mp4")}
    world.tiktok.fail_next("status", 400)  # the post went out; the first status fetch is refused
    out = publish(PublishRequest("tt-after-send", "tiktok", content, "compose"))
    assert len(world.tiktok.posts) == 1
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["progress"]["commit_sent"] is True
    assert row["state"] != "failed", (out, row["last_error"])
    if row["state"] == "publishing":  # TikTok was still processing: the delayed status check settles it
        make_due(str(row["id"]))  # the settle delay has passed
        assert runner.settle(str(row["id"])).state == "published"
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published"
    again = _again_from_compose("tt-after-send", "tiktok", content)
    assert again["state"] == "published" and len(world.tiktok.posts) == 1


def test_tiktok_status_check_refused_every_time_is_unconfirmed_with_notification(world, db):
    world.connect("tiktok")
    content = {"text": "teaser 2", "videoUrl": world.media.add("t2.mp4", b"\x05" * 4000, "video/mp4")}
    world.tiktok.fail_next("status", *([400] * 10))
    publish(PublishRequest("tt-after-send-2", "tiktok", content, "compose"))
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "unconfirmed", row["last_error"]
    assert db.execute("SELECT count(*) AS n FROM notifications WHERE title LIKE %s",
                      ("%Check your%",)).fetchone()["n"] == 1
    again = _again_from_compose("tt-after-send-2", "tiktok", content)
    assert again["state"] == "unconfirmed" and len(world.tiktok.posts) == 1


def test_youtube_last_chunk_answered_with_an_error_after_the_video_exists_is_published(world, db, monkeypatch):
    """The last chunk creates the video, but the answer is a 4xx (a 200-with-error / proxy hiccup): the
    session look-up finds the video; a re-armable `failed` would upload it a second time."""
    world.connect("youtube")
    real = world.youtube._chunk
    answered = {"n": 0}

    def chunk_then_refuse(request, sid):
        resp = real(request, sid)
        if resp.status_code == 201 and not answered["n"]:
            answered["n"] += 1
            return world.youtube._err(400, "backendError", "something odd happened")
        return resp
    for i, (m, rx, name, _fn) in enumerate(world.youtube.routes):
        if name == "chunk":
            world.youtube.routes[i] = (m, rx, name, chunk_then_refuse)
    content = {"text": "trailer", "youtubeTitle": "Trailer",
               "videoUrl": world.media.add("y.mp4", b"\x07" * 5000, "video/mp4")}
    publish(PublishRequest("yt-after-send", "youtube", content, "compose"))
    assert answered["n"] == 1 and len(world.youtube.posts) == 1
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published", row["last_error"]
    assert row["platform_post_id"] == world.youtube.posts[0]["video_id"]
    again = _again_from_compose("yt-after-send", "youtube", content)
    assert again["state"] == "published" and len(world.youtube.posts) == 1


def test_a_worker_that_lost_its_claim_stops_before_sending(world, db):
    """The lease ran out mid-upload and a sweeper took the row over: the old worker's next checkpoint saves
    nothing, so it must stop instead of sending the post the new owner is handling."""
    world.connect("x")
    img = world.media.add("claim.jpg", b"\xff\xd8\xff\xc0\x00\x11\x08\x04\x38\x04\x38\x03" + b"\x00" * 600,
                          "image/jpeg")
    real = next(r for r in world.x.routes if r[2] == "media")

    def upload_while_taken_over(request, **kw):
        db.execute("UPDATE publications SET claim_token=gen_random_uuid()")  # the sweeper's take-over
        return real[3](request, **kw)
    world.x.routes[world.x.routes.index(real)] = (*real[:3], upload_while_taken_over)
    out = publish(PublishRequest("lost-claim", "x", {"text": "poster", "imageUrl": img}, "rss"))
    assert world.x.posts == [] and not any(n == "tweet" for n, _ in world.x.calls)
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "publishing" and not (row["progress"] or {}).get("commit_sent"), row
    assert out.status != "published"


def test_a_finished_container_after_the_publish_call_is_not_declared_safe_to_repost():
    """Meta may still show FINISHED for a moment after a media_publish whose answer was lost: that is not proof
    the post does not exist, so the look-up leaves it unsettled (unconfirmed) instead of 'not published'."""
    from types import SimpleNamespace

    from shared.publishing.adapters.base import NotPublished, container_lookup

    def ctx_with(status):
        http = SimpleNamespace(json=lambda method, url, **kw: {"status": status} if "/c1" in url else {"data": []})
        return SimpleNamespace(progress={"container_id": "c1", "commit_sent": True, "text_key": "hello"}, http=http)

    kw = {"base": "https://graph.test", "status_field": "status", "listing_url": "https://graph.test/u/threads",
              "listing_params": {}, "text_field": "text"}
    assert container_lookup(ctx_with("FINISHED"), **kw) is None
    assert container_lookup(ctx_with("IN_PROGRESS"), **kw) is None
    assert isinstance(container_lookup(ctx_with("ERROR"), **kw), NotPublished)
    assert isinstance(container_lookup(ctx_with("EXPIRED"), **kw), NotPublished)
