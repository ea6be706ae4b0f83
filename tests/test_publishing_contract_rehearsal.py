"""A rehearsal of real work through all seven adapters against the validating fakes: one RSS item with an image
(to every platform that takes one) and one video job (to all seven). Every request each adapter sends is held
to the platform's official description, and every one is accepted."""

from __future__ import annotations

from publishing_fakes.pinterest import BOARD
from publishing_fakes.world import world  # noqa: F401  (fixture)
from test_publishing_adapters import _jpeg

from shared.publishing.gateway import PublishRequest, publish

RSS_TARGETS = ["x", "threads", "facebook", "instagram", "pinterest"]
VIDEO_TARGETS = ["x", "threads", "facebook", "instagram_reels", "tiktok", "youtube", "pinterest"]


def test_an_rss_item_and_a_video_job_pass_every_description(world):
    world.connect()
    world.meta.video_polls_needed = 1
    world.threads.video_polls_needed = 1
    image = world.media.add("poster.jpg", _jpeg(1080, 1350), "image/jpeg")
    thumb = world.media.add("thumb.jpg", _jpeg(1280, 720), "image/jpeg")
    video = world.media.add("trailer.mp4", bytes(range(256)) * 400, "video/mp4")
    item = {"text": "Dune: Part Three gets its first trailer", "link": "https://variety.com/dune-3",
            "imageUrl": image, "title": "Dune: Part Three trailer", "boardId": BOARD}
    job = {"text": "The new Dune trailer is here", "title": "Dune: Part Three", "videoUrl": video,
           "youtubeTitle": "Dune: Part Three | Official Trailer", "youtubeDescription": "Official trailer.",
           "youtubeThumbnailUrl": thumb, "youtubePlaylistIds": ["PL1"], "sharedThumbnailUrl": thumb,
           "videoDurationSeconds": 45, "videoWidth": 1080, "videoHeight": 1920, "boardId": BOARD}
    outcomes = {}
    for target in RSS_TARGETS:
        outcomes[f"rss:{target}"] = publish(PublishRequest(f"rss:item-1:{target}", target, item, "rss"))
    for target in VIDEO_TARGETS:
        outcomes[f"media:{target}"] = publish(PublishRequest(f"media:job-1:{target}", target, job, "media"))
    assert {k: o.status for k, o in outcomes.items()} == dict.fromkeys(outcomes, "published"), {
        k: o.error for k, o in outcomes.items() if o.status != "published"}
    fakes = {"x": world.x, "meta": world.meta, "threads": world.threads, "tiktok": world.tiktok,
             "youtube": world.youtube, "pinterest": world.pinterest}
    for name, fake in fakes.items():
        seen = [n for n, _ in fake.calls]
        assert seen, f"{name} received nothing"
        assert not [n for n in seen if n.startswith("refused:")], f"{name} refused a request"
        assert fake.violations == [], fake.violations
    # the endpoints the rehearsal went through, held to the descriptions (the publishing.md table lists them)
    assert {"media", "status", "tweet"} <= {n for n, _ in world.x.calls}
    assert {"upload_start", "upload", "videos", "photos", "container", "publish", "limit"} <= {
        n for n, _ in world.meta.calls}
    assert {"creator_info", "init", "upload", "status"} <= {n for n, _ in world.tiktok.calls}
    assert {"start", "chunk", "thumbnail", "playlist_insert"} <= {n for n, _ in world.youtube.calls}
    assert {"register", "upload", "media_status", "pin"} <= {n for n, _ in world.pinterest.calls}
    assert {"container", "object", "publish"} <= {n for n, _ in world.threads.calls}
    assert world.violations() == []


def test_a_call_the_tokens_scopes_do_not_cover_is_refused_as_the_platform_does(world, db):
    world.connect("tiktok", "youtube")
    # the owner's consent did not include video.publish (TikTok lets them untick it)
    tok = next(iter(world.tiktok.grants))
    world.tiktok.grants[tok] = frozenset({"user.info.basic"})
    url = world.media.add("t.mp4", b"\x01" * 1000, "video/mp4")
    out = publish(PublishRequest("scope:tt", "tiktok", {"text": "x", "videoUrl": url}, "media"))
    assert out.status == "failed" and out.details["kind"] == "auth"
    assert "did not authorize the scope" in out.error
    row = db.execute("SELECT status FROM platform_connections WHERE platform='tiktok'").fetchone()
    assert row["status"] == "needs_reconnect"  # TikTok's 401 scope_not_authorized: the owner must consent again
    assert world.tiktok.posts == [] and any("scopes: needs {video.publish}" in v for v in world.tiktok.violations)
    # YouTube: youtube.upload alone covers the upload but not the playlist insert (discovery scopes)
    yt = next(iter(world.youtube.grants))
    world.youtube.grants[yt] = frozenset({"https://www.googleapis.com/auth/youtube.upload"})
    out = publish(PublishRequest("scope:yt", "youtube", {"youtubeTitle": "T", "videoUrl": url,
                                                          "youtubePlaylistIds": ["PL1"]}, "media"))
    assert out.status == "published" and any("insufficient authentication scopes" in w
                                              for w in out.details["warnings"])
    assert world.youtube.playlist_items == []
    assert any("youtube.playlistItems.insert" in v for v in world.youtube.violations)
    world.tiktok.violations.clear()  # refused on purpose here: the test asserted them
    world.youtube.violations.clear()
