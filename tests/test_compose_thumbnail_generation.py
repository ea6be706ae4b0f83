"""The Create page's "Generate thumbnail" (`POST /api/ai/generate/compose-thumbnail`): a real JPEG in the platform's
frame (YouTube and X 1280x720, shared 1080x1920), TMDb's backdrop or poster of the title when the validating TMDb
fake (a real port) knows it exactly, else a drawn title card, the title written where the owner's saved
`thumbnailConfig_*` puts it, and the file stored in the bucket (moto's S3 server) under thumbnails/ as an uploaded
thumbnail is. The pixels are read back from the bucket and checked."""

import io
import json
from datetime import date

import pytest
from media_support import clean_bucket  # noqa: F401  (fixture)
from rss_helpers import set_settings
from tmdb_support import fake_world

META = "Dune: Part Three | Official Trailer\nIn theaters December 18."


def _image(data: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(data)).convert("RGB")


def _white_share(img, box) -> float:
    """Share of the box's pixels that are near-white: the title's glyphs (nothing else on a card is white)."""
    region = img.crop(box)
    px = list(region.getdata())
    return sum(1 for r, g, b in px if min(r, g, b) >= 235) / len(px)


def test_titles_split_into_headline_and_kicker_and_configs_are_read_as_saved():
    from shared.compose.thumbnail import DEFAULTS, file_stem, layout, split_title

    assert split_title("Dune: Part Three | Official Trailer") == ("Dune: Part Three", "OFFICIAL TRAILER")
    assert split_title("The Batman Part II - First Look") == ("The Batman Part II", "FIRST LOOK")
    assert split_title("Severance Season 3 Teaser Trailer") == ("Severance Season 3", "TEASER TRAILER")
    assert split_title("Sinners") == ("Sinners", "") and split_title("Trailer Park Boys") == ("Trailer Park Boys", "")
    saved = json.dumps({"platform": "x", "logoPosition": "top-right", "autoScale": "false", "maxLogoSize": 40,
                        "autoContrastBackdrop": False, "autoContrastOverlay": True})
    got = layout("x", saved)  # the settings store may hold the config as its JSON string
    assert (got.position, got.auto_scale, got.max_width_pct, got.contrast_backdrop, got.contrast_overlay) == (
        "top-right", False, 60, False, True)
    odd = layout("youtube", {"logoPosition": "middle", "maxLogoSize": "huge", "trailerTextSize": 1e9})
    assert (odd.position, odd.max_width_pct, odd.kicker_size) == ("bottom-left", 60, 96)
    assert layout("shared", None) == DEFAULTS["shared"] and layout("x", "{not json") == DEFAULTS["x"]
    assert file_stem("Dune: Part Three | Official Trailer") == "dune-part-three-official-trailer"
    assert file_stem("¿?") == "thumbnail"


def test_the_title_is_the_youtube_title_or_the_metadatas_never_a_placeholder_or_the_caption():
    from shared.compose.thumbnail_service import resolve_title

    assert resolve_title({"metadataText": META, "youtubeTitle": "Dune 3 Trailer", "titleHint": "x"}) == \
        "Dune 3 Trailer"
    assert resolve_title({"metadataText": META, "titleHint": "Untitled post"}) == "Dune: Part Three"
    caption = "The spice must flow. In theaters December 18. #Dune"
    assert resolve_title({"metadataText": "Watch it now", "sharedCaption": caption,
                          "titleHint": caption[:42]}) == "Watch it now"
    assert resolve_title({"metadataText": "Watch it now", "titleHint": "Sinners"}) == "Sinners"
    assert resolve_title({"metadataText": "Title: Man of Tomorrow\nCreator: dcu"}) == "Man of Tomorrow"


def test_rendering_fills_each_frame_with_a_jpeg_and_writes_the_title_where_the_config_says():
    from shared.compose.thumbnail import FRAMES, layout, render

    for kind, (w, h) in FRAMES.items():
        data = render(kind, "Dune: Part Three", "OFFICIAL TRAILER", layout(kind, None), None)
        assert data[:3] == b"\xff\xd8\xff" and len(data) < 2 * 1024 * 1024
        img = _image(data)
        assert img.size == (w, h)
        colours = img.resize((64, 64)).getcolors(64 * 64) or []
        assert len(colours) > 50  # a gradient and type, not one flat colour
    bottom_left = _image(render("youtube", "Dune: Part Three", "", layout("youtube", None), None))
    assert _white_share(bottom_left, (0, 360, 640, 720)) > 0.02
    assert _white_share(bottom_left, (640, 0, 1280, 360)) == 0
    top_right = _image(render("youtube", "Dune: Part Three", "", layout("youtube", {"logoPosition": "top-right"}),
                              None))
    assert _white_share(top_right, (640, 0, 1280, 360)) > 0.02
    assert _white_share(top_right, (0, 360, 640, 720)) == 0
    # a long title is wrapped and shrunk to fit the frame, never cut off at the edge
    long = _image(render("x", "The Extraordinarily Long Title Of A Film Nobody Could Fit On One Line", "",
                         layout("x", None), None))
    assert _white_share(long, (1280 - 60, 0, 1280, 720)) == 0


@pytest.fixture
def bucket(clean_bucket):
    return clean_bucket


def _generate(client, auth, **body):
    payload = {"metadataText": META, "model": "gpt-5-mini", "thumbnailType": "youtube",
               "titleHint": "Untitled post", "sharedCaption": "", "youtubeTitle": "", **body}
    return client.post("/api/ai/generate/compose-thumbnail", json=payload, headers=auth)


def _stored(bucket, answer: dict) -> bytes:
    keys = [o["Key"] for o in bucket.list("thumbnails/", limit=100).get("Contents", [])]
    key = next(k for k in keys if k in answer["storageUrl"])
    return bucket.read_range(key, 0, answer["size"] + 1024)


def test_without_tmdb_each_type_is_a_title_card_in_its_frame_stored_under_thumbnails(client, auth, clean_state,
                                                                                    bucket):
    set_settings(tmdbKey="")
    for kind, size in (("youtube", (1280, 720)), ("x", (1280, 720)), ("shared", (1080, 1920))):
        r = _generate(client, auth, thumbnailType=kind)
        assert r.status_code == 200, r.text
        data = r.json()["data"]
        assert (data["mimeType"], data["uploadStatus"], data["strategy"]) == ("image/jpeg", "uploaded", "title_card")
        assert data["fileName"] == f"dune-part-three-{kind}.jpg"
        assert (data["width"], data["height"]) == size and "no TMDb key" in data["note"]
        assert data["resolvedTitle"] == "Dune: Part Three"
        stored = _stored(bucket, data)
        assert len(stored) == data["size"] and stored[:3] == b"\xff\xd8\xff"
        img = _image(stored)
        assert img.size == size
        # the card's red glow sits top-right; the title (white) bottom-left, or bottom-centre on the 9:16 cover
        r_, g_, _b = img.getpixel((size[0] - 40, 40))
        assert r_ > g_ + 30
        assert _white_share(img, (0, size[1] // 2, size[0], size[1])) > 0.01
    assert len(bucket.list("thumbnails/", limit=100).get("Contents", [])) == 3


def test_with_tmdb_the_films_backdrop_or_poster_is_used_and_the_saved_config_places_the_title(client, auth,
                                                                                             clean_state, bucket):
    from shared.local.tmdb_fake import FAKE_KEY

    with fake_world(date.today()) as (fake, _tmdb):
        set_settings(tmdbKey=FAKE_KEY, thumbnailConfig_youtube=json.dumps(
            {"platform": "youtube", "logoPosition": "top-right", "autoScale": True, "maxLogoSize": 40,
             "autoContrastBackdrop": False, "autoContrastOverlay": False}))
        meta = "Skyline Protocol | Official Trailer\nA pilot races to stop a satellite war."
        youtube = _generate(client, auth, metadataText=meta).json()["data"]
        assert youtube["strategy"] == "tmdb_backdrop" and "note" not in youtube
        img = _image(_stored(bucket, youtube))
        assert img.size == (1280, 720)
        # the fake's backdrop is a grey frame (no contrast ramp asked): grey where the title is not
        r_, g_, b_ = img.getpixel((60, 660))
        assert abs(r_ - g_) < 6 and abs(g_ - b_) < 6 and 100 < r_ < 160
        assert _white_share(img, (640, 0, 1280, 360)) > 0.01  # the saved config put the title top-right
        assert _white_share(img, (0, 360, 640, 720)) == 0
        assert fake.count("search-multi") == 1

        # the page's own config for this request wins over the saved one, key by key
        moved = _generate(client, auth, metadataText=meta, thumbnailConfig={"logoPosition": "bottom-left"})
        img = _image(_stored(bucket, moved.json()["data"]))
        assert _white_share(img, (0, 360, 640, 720)) > 0.01 and _white_share(img, (640, 0, 1280, 360)) == 0

        shared = _generate(client, auth, metadataText=meta, thumbnailType="shared").json()["data"]
        assert shared["strategy"] == "tmdb_poster" and _image(_stored(bucket, shared)).size == (1080, 1920)

        unknown = _generate(client, auth, metadataText="Nobody Knows This Film | Teaser").json()["data"]
        assert unknown["strategy"] == "title_card" and "no TMDb movie or series is titled" in unknown["note"]

    # TMDb unreachable: still a thumbnail, and the note says why
    set_settings(tmdbKey=FAKE_KEY)
    down = _generate(client, auth, metadataText=meta)
    assert down.status_code == 200 and down.json()["data"]["strategy"] == "title_card"
    assert "TMDb picture unavailable" in down.json()["data"]["note"]


def test_bad_input_is_a_400_and_no_token_a_401(client, auth, clean_state):
    assert _generate(client, auth, thumbnailType="instagram").status_code == 400
    assert _generate(client, auth, metadataText="").status_code == 400
    assert _generate(client, auth, metadataText=" \n ").status_code == 400
    assert client.post("/api/ai/generate/compose-thumbnail", json={"thumbnailType": "x"}, headers=auth) \
        .status_code == 400
    assert client.post("/api/ai/generate/compose-thumbnail",
                       json={"metadataText": META, "thumbnailType": "x"}).status_code == 401


def test_a_picture_pillow_refuses_as_a_decompression_bomb_falls_back_to_the_title_card(client, auth, clean_state,
                                                                                        bucket, monkeypatch):
    """A PNG whose header claims 20,000 x 20,000 pixels (Pillow refuses to open it: a decompression bomb) is
    answered with a title card, not a 500."""
    import struct
    import zlib

    from shared.compose import thumbnail_service

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + \
        chunk(b"IEND", b"")

    async def bomb_from_tmdb(kind, headline, key):
        return bomb, "tmdb_backdrop", ""

    monkeypatch.setattr(thumbnail_service, "_tmdb_picture", bomb_from_tmdb)
    r = _generate(client, auth, thumbnailType="youtube")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["strategy"] == "title_card" and "could not be read" in data["note"]
    assert _image(_stored(bucket, data)).size == (1280, 720)
