"""The Create page's "fill from metadata" (`POST /api/ai/generate/compose-metadata`): the platforms' limits are
applied to whatever the model or the text gives, a playlist is only ever one the owner offered, the model is asked
in JSON mode with the owner's prompts (a local OpenAI fake on a real port), and an unusable answer falls back to
the text while a refused key is a 502."""

import json

import pytest
from rss_fakes import openai_served
from rss_helpers import set_settings

PLAYLISTS = [{"id": "PL-tr", "title": "Trailers"}, {"id": "PL-dune", "title": "Dune Saga"},
             {"id": "PL-x", "name": "Horror Picks"}]


def test_the_caption_fits_the_strictest_selected_platform_as_that_platform_counts():
    from shared.compose.metadata import caption_limit, fit
    from shared.rss.textlength import caption_length

    assert caption_limit(["YouTubeShorts", "InstagramReels", "threads"]) == 500
    assert caption_limit(["x", "facebook"]) == 280 and caption_limit([]) == 280
    long = "Opening night is here " * 30 + "https://example.com/" + "a" * 200
    out = fit(long, 280, "x")
    assert caption_length(out, "x") <= 280 and out.endswith("…") and out.startswith("Opening night")
    assert fit("short", 280, "x") == "short"


def test_without_a_model_the_first_line_is_the_title_and_youtube_limits_hold():
    from shared.compose.metadata import from_text, playlists_of

    text = "Alien: <Earth> Season 2 Teaser\n" + "Description line. " * 400
    out = from_text(text, ["x", "YouTubeLongform"], playlists_of(PLAYLISTS))
    assert out["youtubeTitle"] == "Alien: ‹Earth› Season 2 Teaser"
    assert len(out["youtubeDescription"]) <= 5000 and "<" not in out["youtubeDescription"]
    # YouTube's description limit is 5000 bytes: accented and CJK text is cut by its UTF-8 size
    wide = from_text("Trailer\n" + "é映画 " * 2000, ["youtube"], [])["youtubeDescription"]
    assert len(wide.encode("utf-8")) <= 5000 and len(wide.encode("utf-8")) > 4000 and wide.endswith("…")
    assert len(out["sharedCaption"]) <= 280
    assert out["playlistSelection"] is None  # no offered playlist shares a word (teaser is not a name word)
    picked = from_text("Dune Part Three first look", ["x"], playlists_of(PLAYLISTS))["playlistSelection"]
    assert picked["playlistId"] == "PL-dune" and picked["reason"] == "its name shares 'dune' with the text"
    assert 0 < picked["confidence"] <= 1
    assert from_text("Late night horror picks", [], playlists_of(PLAYLISTS))["playlistSelection"][
        "playlistName"] == "Horror Picks"


def test_the_models_answer_is_held_to_the_offered_playlists_and_the_fields_asked_for():
    from shared.compose.metadata import from_model, playlists_of

    req = {"selectedPlatforms": ["x"], "metadataText": "t"}
    pls = playlists_of(PLAYLISTS)
    good = {"sharedCaption": "c", "youtubeTitle": "T" * 150, "youtubeDescription": "d>", "playlistId": "PL-tr",
            "playlistReason": "it is a trailer", "playlistConfidence": 7}
    out = from_model(json.dumps(good), req, pls)
    assert len(out["youtubeTitle"]) <= 100 and out["youtubeDescription"] == "d›"
    assert out["playlistSelection"] == {"playlistId": "PL-tr", "playlistName": "Trailers",
                                        "reason": "it is a trailer", "confidence": 1.0}
    invented = from_model(json.dumps({**good, "playlistId": "PL-made-up"}), req, pls)
    assert invented["playlistSelection"] is None
    assert from_model("not json", req, pls) is None
    assert from_model(json.dumps({**good, "youtubeTitle": ""}), req, pls) is None
    assert from_model(json.dumps([good]), req, pls) is None


@pytest.fixture
def openai_at(monkeypatch, backing):
    with openai_served(monkeypatch, "sk-compose") as fake:
        yield fake


def _ask(client, auth, **extra):
    body = {"metadataText": "Dune: Part Three | Official Trailer\nIn theaters December 18.", "model": "gpt-5.4-mini",
            "selectedPlatforms": ["x", "YouTubeLongform"], "availablePlaylists": PLAYLISTS,
            "youtubeTitlePrompt": "Keep the studio's own title.", **extra}
    return client.post("/api/ai/generate/compose-metadata", json=body, headers=auth)


def test_with_a_key_the_model_writes_it_in_json_mode_with_the_owners_prompts(client, auth, clean_state, openai_at):
    set_settings(openaiKey="sk-compose")
    openai_at.reply = json.dumps({"sharedCaption": "The spice must flow. #Dune", "youtubeTitle": "Dune: Part Three",
                                  "youtubeDescription": "Official trailer.", "playlistId": "PL-dune",
                                  "playlistReason": "a Dune trailer", "playlistConfidence": 0.9})
    r = _ask(client, auth)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["source"], data["model"], data["sharedCaption"]) == ("ai", "gpt-5.4-mini",
                                                                        "The spice must flow. #Dune")
    assert data["playlistSelection"]["playlistId"] == "PL-dune"
    sent = openai_at.requests[-1]
    assert sent["model"] == "gpt-5.4-mini" and sent["response_format"] == {"type": "json_object"}
    assert "JSON" in sent["messages"][0]["content"]  # JSON mode requires the word in the messages
    assert "Keep the studio's own title." in sent["messages"][0]["content"]
    assert "PL-dune" in sent["messages"][1]["content"] and "In theaters December 18." in sent["messages"][1]["content"]

    openai_at.reply = "Sure! Here is a caption."  # not the JSON asked for: built from the text, and said so
    data = _ask(client, auth).json()["data"]
    assert data["source"] == "template" and data["youtubeTitle"] == "Dune: Part Three | Official Trailer"
    assert "not the JSON" in data["note"]

    set_settings(openaiKey="sk-wrong")
    refused = _ask(client, auth)
    assert refused.status_code == 502 and "rejected the API key" in refused.json()["error"]["message"]


def test_bad_input_is_a_400(client, auth, clean_state):
    assert _ask(client, auth, metadataText="").status_code == 400
    assert client.post("/api/ai/generate/compose-metadata", json={}, headers=auth).status_code == 400
    assert client.post("/api/ai/generate/compose-metadata", json={"metadataText": "x"}).status_code == 401
