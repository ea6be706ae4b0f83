"""Facebook and Instagram as Meta documents them: the owner picks the Page (Instagram follows its linked account),
videos go through the Resumable Upload API to graph-video, Instagram carousels of 2-10 images and/or videos,
Facebook multi-photo posts, and a Graph API version that warns before its end of life."""

from __future__ import annotations

from datetime import date

import httpx
from publishing_fakes.world import world  # noqa: F401  (fixture)
from test_publishing_adapters import _jpeg

from shared.publishing.gateway import PublishRequest, publish

REDIRECT = "http://localhost:5173/platforms/callback"


def pub(platform: str, content: dict, key: str):
    return publish(PublishRequest(key, platform, content, "compose"))


def _connect(world, client, auth, platform):
    url = client.get(f"/api/platforms/auth/{platform}", params={"redirectUri": REDIRECT},
                     headers=auth).json()["data"]["url"]
    code, state = world.meta.consent(url)
    r = client.post("/api/platforms/callback", headers=auth,
                    json={"platform": platform, "code": code, "state": state, "redirectUri": REDIRECT})
    assert r.status_code == 200, r.text


def test_owner_lists_pages_and_picks_one_instagram_follows(world, client, auth):
    r = client.get("/api/platforms/facebook/pages", headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == "PLATFORM_NOT_CONNECTED"
    assert client.get("/api/platforms/facebook/pages").status_code == 401
    _connect(world, client, auth, "Facebook")
    _connect(world, client, auth, "Instagram")
    pages = client.get("/api/platforms/facebook/pages", headers=auth).json()["data"]
    assert [(p["id"], p["selected"]) for p in pages] == [("9001", True), ("9002", False)]
    assert pages[1]["instagram"] == {"id": "1785", "username": "screndly_trailers"}
    r = client.put("/api/platforms/facebook/page", headers=auth, json={"pageId": "9002"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["instagram"] == {"followed": True, "id": "1785", "username": "screndly_trailers"}
    pages = client.get("/api/platforms/facebook/pages", headers=auth).json()["data"]
    assert [p["id"] for p in pages if p["selected"]] == ["9002"]
    # posts now go to the chosen Page, and Instagram posts to the account linked to it
    assert pub("facebook", {"text": "on the second page"}, "fb-page2").status == "published"
    assert world.meta.posts[-1]["page"] == "9002"
    img = world.media.add("p.jpg", _jpeg(1080, 1080), "image/jpeg")
    assert pub("instagram", {"text": "ig", "imageUrl": img}, "ig-page2").status == "published"
    assert world.meta.posts[-1]["ig"] == "1785"
    # a Page this login does not manage, and a malformed id, are refused
    r = client.put("/api/platforms/facebook/page", headers=auth, json={"pageId": "123"})
    assert r.status_code == 404 and r.json()["success"] is False and r.json()["error"]["code"] == "NOT_FOUND"
    r = client.put("/api/platforms/facebook/page", headers=auth, json={"pageId": "abc"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    pages = client.get("/api/platforms/facebook/pages", headers=auth).json()["data"]
    assert [p["id"] for p in pages if p["selected"]] == ["9002"]  # a refused choice changes nothing


def test_choosing_a_page_without_instagram_pauses_instagram(world, client, auth, db):
    world.meta.ig_by_page.pop("9002")
    _connect(world, client, auth, "Facebook")
    _connect(world, client, auth, "Instagram")
    r = client.put("/api/platforms/facebook/page", headers=auth, json={"pageId": "9002"})
    assert r.json()["data"]["instagram"]["followed"] is False
    row = db.execute("SELECT status, last_error FROM platform_connections WHERE platform='instagram'").fetchone()
    assert row["status"] == "needs_reconnect" and "no Instagram business account" in row["last_error"]


def test_reconnecting_facebook_keeps_the_chosen_page(world, client, auth):
    _connect(world, client, auth, "Facebook")
    client.put("/api/platforms/facebook/page", headers=auth, json={"pageId": "9002"})
    _connect(world, client, auth, "Facebook")
    pages = client.get("/api/platforms/facebook/pages", headers=auth).json()["data"]
    assert [p["id"] for p in pages if p["selected"]] == ["9002"]


def test_facebook_video_uses_the_resumable_upload_and_graph_video(world, monkeypatch):
    from shared.publishing.adapters import facebook as fb
    from shared.publishing.media import source
    from shared.storage.s3 import get_storage

    monkeypatch.setattr(fb, "UPLOAD_CHUNK", 1024 * 1024)
    world.connect("facebook")
    data = bytes(range(256)) * (3 * 4096 + 5)  # ~3 MB in B2 (moto's S3 server), streamed into the upload
    get_storage().put_bytes("publish/test/fb.mp4", data, "video/mp4")
    pieces = []
    real = source.MediaSource.chunks

    def spy(self, chunk_size, start=0):
        for piece in real(self, chunk_size, start):
            pieces.append(len(piece))
            yield piece
    monkeypatch.setattr(source.MediaSource, "chunks", spy)
    out = pub("facebook", {"text": "trailer", "title": "Dune", "videoUrl": "b2://publish/test/fb.mp4"}, "fb-video")
    assert out.status == "published", out
    assert max(pieces) <= 1024 * 1024 and len(pieces) >= 3  # read piece by piece, never the whole file
    post = world.meta.posts[-1]
    assert post["kind"] == "video" and post["bytes"] == len(data) and post["title"] == "Dune"
    names = [n for n, _ in world.meta.calls]
    assert names.index("upload_start") < names.index("upload") < names.index("videos")
    assert out.url.endswith(f"/videos/{out.platform_post_id}")


def test_an_interrupted_facebook_upload_resumes_from_the_sessions_offset(world):
    world.connect("facebook")
    data = bytes(range(256)) * 40
    vid = world.media.add("v.mp4", data, "video/mp4")
    real = world.meta._upload
    cut = {"done": False}

    def half_then_drop(request, sid):
        if not cut["done"]:
            cut["done"] = True
            with world.meta.lock:
                world.meta.uploads[sid]["data"].extend(request.content[:4000])
            raise httpx.RemoteProtocolError("fake: connection dropped mid-upload", request=request)
        return real(request, sid)
    world.meta.routes = [(m, rx, n, half_then_drop if n == "upload" else fn) for m, rx, n, fn in world.meta.routes]
    first = pub("facebook", {"text": "trailer", "videoUrl": vid}, "fb-resume")
    assert first.status == "scheduled" and not world.meta.posts  # nothing published, a retry is planned
    from shared.db import connection
    from shared.publishing.engine import runner

    with connection() as c:
        row = c.execute("UPDATE publications SET not_before=now() WHERE idempotency_key='fb-resume' "
                        "RETURNING id").fetchone()
    res = runner.run(str(row["id"]))
    assert res.state == "published", res.publication.get("last_error")
    assert len(world.meta.uploads) == 1  # the same session, resumed
    u = next(iter(world.meta.uploads.values()))
    assert bytes(u["data"]) == data and u["requests"] == 1  # only the rest was sent: offset 4000 onwards
    assert "upload_status" in [n for n, _ in world.meta.calls]


def test_instagram_carousel_of_images_and_videos(world):
    world.connect("instagram")
    world.meta.video_polls_needed = 2
    imgs = [world.media.add(f"c{i}.jpg", _jpeg(1080, 1080), "image/jpeg") for i in range(2)]
    vid = world.media.add("c.mp4", b"\x00" * 5000, "video/mp4")
    out = pub("instagram", {"text": "carousel", "imageUrls": imgs, "videoUrl": vid, "videoDurationSeconds": 20},
              "ig-carousel")
    assert out.status == "published", out
    post = world.meta.posts[-1]
    assert post["media_type"] == "CAROUSEL" and len(post["children"]) == 3
    kids = [world.meta.containers[k] for k in post["children"]]
    assert all(k["item"] for k in kids) and sum(1 for k in kids if k["video"]) == 1
    assert world.meta.containers[post["container"]]["params"]["caption"] == "carousel"


def test_instagram_carousel_rules(world):
    world.connect("instagram")
    imgs = [world.media.add(f"c{i}.jpg", _jpeg(1080, 1080), "image/jpeg") for i in range(11)]
    out = pub("instagram", {"text": "too many", "imageUrls": imgs}, "ig-11")
    assert out.status == "failed" and "instagram.carousel_count" in out.error
    vid = world.media.add("long.mp4", b"\x00" * 5000, "video/mp4")
    out = pub("instagram", {"text": "long item", "imageUrls": imgs[:1], "videoUrl": vid,
                            "videoDurationSeconds": 2}, "ig-short")
    assert out.status == "failed" and "instagram.video_duration" in out.error
    out = pub("instagram", {"text": "single video", "videoUrl": vid}, "ig-one-video")
    assert out.status == "failed" and "instagram.media_type" in out.error  # one video is a Reel
    assert not any(n == "container" for n, _ in world.meta.calls)


def test_facebook_multi_photo_post_and_its_rules(world):
    world.connect("facebook")
    imgs = [world.media.add(f"f{i}.jpg", _jpeg(), "image/jpeg") for i in range(11)]
    out = pub("facebook", {"text": "three stills", "imageUrls": imgs[:3]}, "fb-3")
    assert out.status == "published", out
    post = world.meta.posts[-1]
    assert post["kind"] == "feed" and len(post["attached"]) == 3
    assert sum(1 for n, _ in world.meta.calls if n == "unpublished_photo") == 3
    out = pub("facebook", {"text": "eleven", "imageUrls": imgs}, "fb-11")
    assert out.status == "failed" and "facebook.image_count" in out.error
    vid = world.media.add("v.mp4", b"\x00" * 5000, "video/mp4")
    out = pub("facebook", {"text": "mixed", "imageUrls": imgs[:2], "videoUrl": vid}, "fb-mix")
    assert out.status == "failed" and "facebook.media_mix" in out.error


def test_graph_version_warns_thirty_days_before_end_of_life():
    from shared.publishing.connections.graph_version import warning

    assert warning("v21.0", date(2026, 12, 21)) is None
    w = warning("v21.0", date(2026, 12, 22))
    assert w is not None and w.days_left == 30 and "2027-01-21" in w.message
    gone = warning("v21.0", date(2027, 1, 22))
    assert gone.days_left < 0 and "reached its end of life" in gone.message
    assert warning("v25.0", date(2026, 12, 1)) is None
    assert "unknown" in warning("v99.0", date(2026, 12, 1)).message
    assert warning("v99.0", date(2026, 12, 1), override="2027-01-01") is None  # 31 days left
    assert warning("v99.0", date(2026, 12, 5), override="2027-01-01").days_left == 27


def test_health_shows_the_graph_warning_and_notifies_once(client, clean_state, monkeypatch, db):
    from shared.config import get_config
    from shared.publishing.connections import graph_version

    monkeypatch.setenv("META_GRAPH_VERSION", "v20.0")  # ended on 2026-09-24
    get_config.cache_clear()
    graph_version._notified.clear()
    try:
        for _ in range(3):
            body = client.get("/health").json()
            assert body["status"] == "healthy"
            assert body["warnings"][0]["code"] == "META_GRAPH_VERSION_END_OF_LIFE"
            assert body["warnings"][0]["version"] == "v20.0"
        graph_version._notified.clear()  # another process: the database still knows it was sent
        client.get("/health")
        notes = db.execute("SELECT title FROM notifications WHERE title LIKE '%Graph API%'").fetchall()
        assert len(notes) == 1
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
    assert "warnings" not in client.get("/health").json()


def test_facebook_video_must_be_mp4_for_the_resumable_upload(world):
    world.connect("facebook")
    mov = world.media.add("v.mov", b"\x00" * 5000, "video/quicktime")
    out = pub("facebook", {"text": "a mov", "videoUrl": mov}, "fb-mov")
    assert out.status == "failed" and "facebook.video_type" in out.error
    assert not any(n == "upload_start" for n, _ in world.meta.calls)


def _callback(world, client, auth, platform):
    url = client.get(f"/api/platforms/auth/{platform}", params={"redirectUri": REDIRECT},
                     headers=auth).json()["data"]["url"]
    code, state = world.meta.consent(url)
    return client.post("/api/platforms/callback", headers=auth,
                       json={"platform": platform, "code": code, "state": state, "redirectUri": REDIRECT})


def test_a_posting_permission_unticked_on_the_dialog_fails_the_connection_by_name(world, client, auth, db):
    """Facebook Login lets the owner untick permissions: the token then holds less than we asked for, and every
    post would fail at its time. The connection fails now instead, naming what is missing; nothing is stored."""
    world.meta.declining = {"pages_manage_posts"}
    r = _callback(world, client, auth, "Facebook")
    assert r.status_code >= 400, r.text
    assert "pages_manage_posts" in r.json()["error"]["message"]
    assert db.execute("SELECT count(*) AS n FROM platform_connections WHERE platform='facebook'").fetchone()["n"] == 0
    world.meta.declining = {"instagram_content_publish"}
    r = _callback(world, client, auth, "Instagram")
    assert r.status_code >= 400 and "instagram_content_publish" in r.json()["error"]["message"]
    world.meta.declining = set()
    assert _callback(world, client, auth, "Facebook").status_code == 200
    assert not world.violations()


def test_an_unticked_comment_permission_is_stored_as_missing_and_readiness_says_reconnect(world, client, auth):
    from publishing_fakes.comments_world import comment_settings, save_settings

    from shared.publishing.connections import store

    save_settings(**comment_settings())
    world.meta.declining = {"instagram_manage_comments"}
    assert _callback(world, client, auth, "Instagram").status_code == 200  # posting works: connected
    scopes = set(store.get("instagram").scopes)
    assert "instagram_content_publish" in scopes and "instagram_manage_comments" not in scopes
    ready = {r["key"]: r for r in client.get("/api/comments/automation/readiness", headers=auth).json()["data"]}
    assert any("instagram_manage_comments" in r and "reconnect" in r for r in ready["instagram"]["reasons"])
    assert not world.violations()
