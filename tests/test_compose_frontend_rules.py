"""The Create page's own publishing rules, restated for the server (shared/compose/rules.py): the request body
composePublish.ts sends per platform (written out here by hand from that file, field by field), the messages
composeValidation.ts fails a due item with, and the summary ComposeScheduler.tsx writes back. Equal bodies mean
equal idempotency keys on /api/platforms/post, which is what keeps a post from going out twice."""

from __future__ import annotations

import pytest

from shared.compose import rules

CDN = "https://cdn.test"


def _image_item(**kw):
    item = {"id": "p1", "title": "Dune poster", "status": "scheduled", "platforms": ["x"],
            "sharedCaption": "  Dune: Part Three \u00a0", "platformFields": {},
            "mediaAssets": [{"id": "a1", "kind": "image", "fileName": "poster.jpg", "mimeType": "image/jpeg",
                             "size": 500, "order": 0, "previewUrl": "blob:http://app/1",
                             "storageUrl": f"{CDN}/poster.jpg", "uploadStatus": "uploaded"}]}
    item.update(kw)
    return item


def _video_item(**kw):
    source = {"id": "v1", "kind": "video", "fileName": "trailer.mp4", "mimeType": "video/mp4", "size": 1234,
              "order": 0, "previewUrl": f"{CDN}/t.mp4", "storageUrl": f"{CDN}/t.mp4", "storageFileId": "f1",
              "uploadStatus": "uploaded", "aspectRatioLabel": "9:16"}
    item = {"id": "p2", "title": "Trailer", "status": "scheduled", "platforms": ["x", "threads", "youtube_shorts"],
            "sharedCaption": "Official trailer", "mediaAssets": [source],
            "platformFields": {
                "youtube": {"title": "Trailer #1", "description": "", "playlist": ""},
                "thumbnails": {"shared": {"fileName": "s.jpg", "mimeType": "image/jpeg", "size": 9,
                                          "storageUrl": f"{CDN}/s.jpg", "uploadStatus": "uploaded"}},
                "videoProcessing": {"cropMode": "threads_x_3_4", "focusYPercent": 40, "threadsXCrop": {
                    "fileName": "trailer-threads-x-3x4.mp4", "mimeType": "video/mp4", "size": 999,
                    "storageUrl": f"{CDN}/crop.mp4", "uploadStatus": "uploaded", "sourceAssetId": "v1",
                    # buildComposeAssetSignature: id|fileName|size|storageFileId|storageUrl|previewUrl|ratio label
                    "sourceSignature": f"v1|trailer.mp4|1234|f1|{CDN}/t.mp4|{CDN}/t.mp4|9:16",
                    "focusYPercent": 40}}}}
    item.update(kw)
    return item


def _bodies(item):
    held = rules.normalize(item)
    return {p: rules.content_for(held, p) for p in held["platforms"]}


def test_an_image_post_sends_the_trimmed_caption_the_first_title_and_the_public_image_url():
    item = _image_item(platforms=["x", "pinterest"],
                       platformFields={"pinterest": {"title": "Dune pin", "description": "d", "board": "b1"}})
    # text: sharedCaption.trim() (the no-break space is JS whitespace); title: youtube title || pinterest title
    # || item title; imageUrl: the first http(s) URL of previewUrl (a blob: here), storageUrl; all else undefined
    expected = {"text": "Dune: Part Three", "title": "Dune pin", "imageUrl": f"{CDN}/poster.jpg"}
    assert _bodies(item) == {"x": expected, "pinterest": expected}
    assert [rules.PLATFORM_NAMES[p] for p in rules.normalize(item)["platforms"]] == ["X", "Pinterest"]


def test_a_vertical_video_goes_to_x_and_threads_as_its_3_4_crop_and_to_youtube_as_itself():
    bodies = _bodies(_video_item())
    shared = {"text": "Official trailer", "title": "Trailer #1", "youtubeTitle": "Trailer #1",
              "youtubeDescription": "", "sharedThumbnailUrl": f"{CDN}/s.jpg"}  # "" is sent; an empty playlist not
    assert bodies["x"] == {**shared, "videoUrl": f"{CDN}/crop.mp4"}
    assert bodies["threads"] == {**shared, "videoUrl": f"{CDN}/crop.mp4"}
    assert bodies["youtube_shorts"] == {**shared, "videoUrl": f"{CDN}/t.mp4"}
    # a crop made from another version of the video (its signature differs) is not used
    stale = _video_item()
    stale["mediaAssets"][0]["size"] = 1235
    assert _bodies(stale)["x"]["videoUrl"] == f"{CDN}/t.mp4"
    with_playlist = _video_item()
    with_playlist["platformFields"]["youtube"]["playlist"] = "PL1"
    assert _bodies(with_playlist)["youtube_shorts"]["youtubePlaylistIds"] == ["PL1"]


def test_javascript_falsiness_decides_the_text_and_null_is_sent_as_null():
    assert _bodies(_image_item(sharedCaption="   "))["x"]["text"] == "Dune poster"  # "" || title
    body = _bodies(_image_item(sharedCaption=None, title=None))["x"]
    assert "text" in body and body["text"] is None and body["title"] is None  # undefined || null -> null
    untitled = {k: v for k, v in _image_item(sharedCaption=None).items() if k != "title"}
    assert "text" not in _bodies(untitled)["x"] and "title" not in _bodies(untitled)["x"]  # undefined: left out


@pytest.mark.parametrize(("change", "message"), [
    ({"platforms": []}, "Select at least one connected platform"),
    ({"platforms": ["facebook"], "mediaAssets": []}, "Upload at least one image or video before publishing"),
    ({"sharedCaption": " "}, "Enter a caption before scheduling or publishing to the selected platforms"),
    ({"platforms": ["pinterest"], "platformFields": {"pinterest": {"title": "t", "description": "d", "board": ""}}},
     "Complete the Pinterest fields before saving"),
    ({"platforms": ["instagram_feed"], "mediaAssets": [
        {"id": "a", "kind": "image", "fileName": "a.jpg", "storageUrl": f"{CDN}/a.jpg"},
        {"id": "b", "kind": "image", "fileName": "b.jpg", "storageUrl": f"{CDN}/b.jpg"}]},
     "Supports up to 1 item in this flow."),
    ({"mediaAssets": [{"id": "a", "kind": "image", "fileName": "a.jpg", "storageUrl": f"{CDN}/a.jpg"},
                      {"id": "b", "kind": "image", "fileName": "b.jpg", "storageUrl": f"{CDN}/b.jpg"}]},
     "Live publishing from Post currently supports one media item at a time."),
    ({"mediaAssets": [{"id": "a", "kind": "image", "fileName": "a.jpg", "previewUrl": "blob:x",
                       "uploadStatus": "uploaded"}]}, "Upload all media to Backblaze before publishing"),
    ({"mediaAssets": [{"id": "a", "kind": "image", "fileName": "a.jpg", "uploadStatus": "failed"}]},
     "Remove or re-upload media that failed to upload to Backblaze"),
    ({"platforms": ["instagram_reels"]}, "This platform does not accept image-only posts in this flow."),
])
def test_an_item_the_client_would_refuse_fails_with_the_clients_message(change, message):
    assert rules.validation_error(rules.normalize(_image_item(**change))) == message


def test_video_rules_ask_for_the_crop_and_the_youtube_fields():
    no_crop = _video_item()
    no_crop["platformFields"]["videoProcessing"]["threadsXCrop"] = None
    assert rules.validation_error(rules.normalize(no_crop)) == "Generate the 3:4 Threads/X crop before publishing."
    longform = _video_item(platforms=["youtube_longform"])
    assert rules.validation_error(rules.normalize(longform)) == "Complete the YouTube fields before saving"
    assert rules.validation_error(rules.normalize(_video_item())) is None
    # legacy keys are read as the client reads them; unknown ones are dropped
    assert rules.normalize(_image_item(platforms=["instagram", " x ", "myspace", "x"]))["platforms"] == [
        "instagram_feed", "x"]


def test_the_summary_is_published_if_any_platform_posted_and_failed_otherwise_with_each_reason():
    out = rules.Outcome()
    rules.add_results(out, [{"platform": "X", "status": "posted"}])
    rules.add_results(out, [{"platform": "Threads", "status": "failed", "state": "unconfirmed",
                             "error": "timeout. We could not confirm the post; check your account before posting "
                                      "again."}])
    assert out.status == "published" and out.error is None and out.unconfirmed == ["Threads"]
    none = rules.Outcome()
    rules.add_results(none, [{"platform": "X", "status": "skipped"}, {"platform": "Pinterest", "status": "failed",
                                                                      "error": "not connected"}])
    assert none.status == "failed" and none.error == "X: Publish failed; Pinterest: not connected"
    # a video the platform is still processing is not called a failure to publish (the browser says so; we do not)
    processing = rules.Outcome()
    rules.add_results(processing, [{"platform": "InstagramReels", "status": "skipped", "state": "scheduled"}])
    assert processing.status == "failed" and processing.error == f"InstagramReels: {rules.PROCESSING}"


def test_timestamps_are_written_as_the_browser_writes_them():
    from datetime import datetime, timezone

    at = datetime(2026, 11, 30, 9, 5, 7, 891234, tzinfo=timezone.utc)
    assert rules.iso_ms(at) == "2026-11-30T09:05:07.891Z"
    assert rules.parse_instant("2026-11-30T09:05:07.891Z") == at.replace(microsecond=891000)
    assert rules.parse_instant("not a date") is None and rules.parse_instant(None) is None
