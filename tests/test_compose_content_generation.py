"""The Create page's "Generate content" (`POST /api/ai/generate/compose-content`): a request or pasted metadata is
read for its intent (a standalone review is a preview, a review for a 60-second video fills the post's fields),
the film's metadata, and the fields or the preview; one chat call in JSON mode to the local OpenAI fake on a real
port, held to OpenAI's own OpenAPI description; the model's answer held to the contract's enums, the platforms'
limits and the offered playlists; without a key the rules fill a post from pasted metadata and say plainly that a
request to write something needs the model."""

import json

import pytest
from rss_fakes import openai_served
from rss_helpers import set_settings

PLAYLISTS = [{"id": "PL-rev", "title": "Movie Reviews"}, {"id": "PL-tr", "title": "Official Trailers"}]
CAPE_FEAR = ("Cape Fear | Official Trailer\nThis summer, fear takes hold. Cape Fear premieres June 5 on Apple TV+ "
             "starring Javier Bardem and Amy Adams. Directed by Martin Scorsese.")


def test_a_standalone_review_is_a_preview_and_a_review_for_a_video_fills_the_fields():
    from shared.compose.content import classify

    meta = classify(CAPE_FEAR)
    assert (meta["intent"], meta["outputMode"], meta["directFieldFillAllowed"], meta["containsMetadata"]) == (
        "post_generation", "post_fields", True, True)
    assert meta["detectedTitle"] == "Cape Fear"
    review = classify("Write me a review of The Matrix")
    assert (review["intent"], review["outputMode"], review["directFieldFillAllowed"], review["format"]) == (
        "review_generation", "preview_only", False, "general")
    assert review["detectedTitle"] == "The Matrix" and review["durationSeconds"] is None
    short = classify("Give me a review for The Matrix for 60 seconds video")
    assert (short["intent"], short["outputMode"], short["format"], short["durationSeconds"]) == (
        "review_generation", "post_fields", "short_form_video", 60)
    assert short["detectedTitle"] == "The Matrix"
    assert classify("Summarize Severance season 2 in 2 minutes for a TikTok")["durationSeconds"] == 120
    assert classify("Summarize \"Severance\"")["outputMode"] == "preview_only"
    assert classify("Write a caption for Dune")["outputMode"] == "post_fields"


def test_the_metadata_is_what_the_text_says_and_nothing_invented():
    from shared.compose.content import media_from_text

    m = media_from_text(CAPE_FEAR)
    assert m["title"] == "Cape Fear" and m["cast"] == ["Javier Bardem", "Amy Adams"]
    assert (m["platform"], m["releaseDate"], m["director"]) == ("Apple TV+", "June 5", "Martin Scorsese")
    assert m["sourceType"] == "promotional_metadata" and m["year"] is None and m["producers"] == []
    labelled = media_from_text("Source Platform: Instagram\nTitle: Man of Tomorrow\nCreator: dcuofficial\n"
                               "Description: 'Man of Tomorrow' has begun filming! In theaters July 9, 2027.")
    assert (labelled["title"], labelled["creator"], labelled["year"]) == ("Man of Tomorrow", "dcuofficial", 2027)
    assert labelled["synopsis"].startswith("'Man of Tomorrow' has begun filming") and labelled["mediaType"] == "movie"
    bare = media_from_text("Write me a review of The Matrix")
    assert bare["title"] == "The Matrix" and bare["sourceType"] == "title_only_request" and bare["cast"] == []


def _answer(**over):
    base = {"intentResult": {"intent": "review_generation", "outputMode": "post_fields",
                             "format": "short_form_video", "durationSeconds": 60, "directFieldFillAllowed": True,
                             "detectedTitle": "The Matrix", "containsMetadata": False},
            "mediaMetadata": {"title": "The Matrix", "year": 1999, "mediaType": "movie", "cast": ["Keanu Reeves"],
                              "director": "", "creator": "", "studio": "", "platform": "", "releaseDate": "",
                              "synopsis": "", "producers": [], "franchise": "The Matrix", "tone": "sci-fi",
                              "sourceType": "title_only_request"},
            "postFields": {"sharedCaption": "The Matrix still feels razor-sharp. #TheMatrix",
                           "youtubeTitle": "The Matrix Review in 60 Seconds",
                           "youtubeDescription": "A quick review of The Matrix.", "playlistId": "PL-rev",
                           "playlistReason": "a review", "playlistConfidence": 0.91},
            "editorialResult": {"type": None, "text": ""}}
    for k, v in over.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) else v
    return json.dumps(base)


def test_the_models_answer_is_held_to_the_contract_the_limits_and_the_offered_playlists():
    from shared.compose.content import from_model
    from shared.compose.metadata import playlists_of

    pls = playlists_of(PLAYLISTS)
    req = {"requestText": "Give me a review for The Matrix for 60 seconds video",
           "selectedPlatforms": ["x", "youtube_longform"]}
    out = from_model(_answer(), req, pls)
    assert out["postFields"]["playlistSelection"] == {"playlistId": "PL-rev", "playlistName": "Movie Reviews",
                                                      "reason": "a review", "confidence": 0.91}
    assert out["mediaMetadata"]["year"] == 1999 and out["editorialResult"] == {"type": None, "text": ""}
    # unknown enum values keep the rules' reading; the fill flag always follows the mode
    odd = from_model(_answer(intentResult={"intent": "poetry", "format": "sonnet", "directFieldFillAllowed": False,
                                           "durationSeconds": "long"}), req, pls)["intentResult"]
    assert (odd["intent"], odd["format"], odd["directFieldFillAllowed"], odd["durationSeconds"]) == (
        "review_generation", "short_form_video", True, 60)
    # an invented playlist is none, a title over 100 characters is cut, X's 280 holds for the caption
    wild = from_model(_answer(postFields={"playlistId": "PL-made-up", "youtubeTitle": "T <b> " * 40,
                                          "sharedCaption": "word " * 200}), req, pls)["postFields"]
    assert wild["playlistSelection"]["playlistId"] is None and isinstance(wild["playlistSelection"], dict)
    assert len(wild["youtubeTitle"]) <= 100 and "<" not in wild["youtubeTitle"]
    assert len(wild["sharedCaption"]) <= 280
    # YouTube not selected: its fields stay empty and the selection says why
    no_yt = from_model(_answer(), {**req, "selectedPlatforms": ["instagram_feed"]}, pls)["postFields"]
    assert (no_yt["youtubeTitle"], no_yt["youtubeDescription"], no_yt["playlistSelection"]["playlistId"]) == (
        "", "", None)
    assert no_yt["sharedCaption"].startswith("The Matrix")
    # a preview without text, a fill without any field, or no JSON at all: unusable
    preview = {"outputMode": "preview_only"}
    assert from_model(_answer(intentResult=preview, editorialResult={"type": "review", "text": "  "}), req, pls) \
        is None
    assert from_model(_answer(postFields={"sharedCaption": "", "youtubeTitle": "", "youtubeDescription": ""}), req,
                      pls) is None
    assert from_model("Sure! Here it is.", req, pls) is None and from_model("[]", req, pls) is None
    shown = from_model(_answer(intentResult=preview, editorialResult={"type": "rant", "text": "Still great."}),
                       req, pls)
    assert shown["editorialResult"] == {"type": "review", "text": "Still great."}
    assert shown["postFields"]["sharedCaption"] == "" and shown["intentResult"]["directFieldFillAllowed"] is False


@pytest.fixture
def openai_at(monkeypatch, backing):
    with openai_served(monkeypatch, "sk-content") as fake:
        yield fake


def _ask(client, auth, text, **extra):
    body = {"requestText": text, "model": "gpt-5.4-mini", "selectedPlatforms": ["youtube_longform"],
            "availablePlaylists": PLAYLISTS, "reviewPrompt": "Be warm, never spoil the ending.",
            "summaryPrompt": "Three sentences.", **extra}
    return client.post("/api/ai/generate/compose-content", json=body, headers=auth)


def test_with_a_key_one_json_mode_call_fills_the_fields_the_page_reads(client, auth, clean_state, openai_at):
    set_settings(openaiKey="sk-content", videoUniversalCaptionPrompt="End with #ScreenRender.")
    openai_at.reply = _answer()
    r = _ask(client, auth, "Give me a review for The Matrix for 60 seconds video")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["source"], data["model"]) == ("ai", "gpt-5.4-mini")
    assert data["intentResult"]["outputMode"] == "post_fields" and data["intentResult"]["durationSeconds"] == 60
    assert data["postFields"]["youtubeTitle"] == "The Matrix Review in 60 Seconds"
    assert data["postFields"]["playlistSelection"]["playlistId"] == "PL-rev"
    assert data["mediaMetadata"]["cast"] == ["Keanu Reeves"]
    assert len(openai_at.requests) == 1  # one call, not the peer's three or four
    sent = openai_at.requests[-1]
    assert sent["response_format"] == {"type": "json_object"} and sent["model"] == "gpt-5.4-mini"
    system, user = sent["messages"][0]["content"], sent["messages"][1]["content"]
    assert "JSON" in system and "Be warm, never spoil the ending." in system
    assert "End with #ScreenRender." in system  # the saved caption prompt when the request sends none
    assert "PL-rev" in user and "for 60 seconds video" in user
    assert openai_at.violations == []

    openai_at.reply = _answer(intentResult={"outputMode": "preview_only"},
                              editorialResult={"type": "review", "text": "The Matrix is still razor-sharp."})
    set_settings(videoReviewPrompt="Always name the director.")  # a saved prompt serves when none is sent
    preview = _ask(client, auth, "Write me a review of The Matrix", reviewPrompt=None).json()["data"]
    assert "Always name the director." in openai_at.requests[-1]["messages"][0]["content"]
    assert preview["editorialResult"] == {"type": "review", "text": "The Matrix is still razor-sharp."}
    assert preview["postFields"]["sharedCaption"] == "" and preview["postFields"]["playlistSelection"] == {
        "playlistId": None, "playlistName": None, "reason": "a preview fills no field", "confidence": 0}

    # an unusable answer: pasted metadata is still shaped into the fields; a request to write is a 502
    openai_at.reply = "Sure! Here is your review."
    shaped = _ask(client, auth, CAPE_FEAR).json()["data"]
    assert shaped["source"] == "template" and "not the JSON" in shaped["note"]
    assert shaped["postFields"]["youtubeTitle"] == "Cape Fear | Official Trailer"
    failed = _ask(client, auth, "Write me a review of The Matrix")
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "API_ERROR"

    set_settings(openaiKey="sk-wrong")
    refused = _ask(client, auth, CAPE_FEAR)
    assert refused.status_code == 502 and "rejected the API key" in refused.json()["error"]["message"]
    assert "sk-wrong" not in refused.text
    assert openai_at.violations == []


def test_without_a_key_pasted_metadata_fills_the_post_and_a_request_says_it_needs_the_model(client, auth,
                                                                                          clean_state):
    set_settings(openaiKey="")
    r = _ask(client, auth, CAPE_FEAR, selectedPlatforms=["x", "youtube_longform"])
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["source"] == "template" and data["intentResult"]["intent"] == "post_generation"
    assert data["postFields"]["youtubeTitle"] == "Cape Fear | Official Trailer"
    assert len(data["postFields"]["sharedCaption"]) <= 280 and data["mediaMetadata"]["platform"] == "Apple TV+"
    # no offered playlist shares a title word ("official" and "trailer" are no name words): still an object,
    # since the page reads playlistSelection.playlistId unchecked
    assert data["postFields"]["playlistSelection"] == {"playlistId": None, "playlistName": None,
                                                       "reason": "no offered playlist fits", "confidence": 0}
    fear = _ask(client, auth, CAPE_FEAR, availablePlaylists=[*PLAYLISTS, {"id": "PL-fear", "title": "Fear Files"}])
    assert fear.json()["data"]["postFields"]["playlistSelection"]["playlistId"] == "PL-fear"
    needs = _ask(client, auth, "Write me a review of The Matrix")
    assert needs.status_code == 400 and "OpenAI key" in needs.json()["error"]["message"]
    assert needs.json()["error"]["details"]["intent"] == "review_generation"


def test_bad_input_is_a_400_and_no_token_a_401(client, auth, clean_state):
    assert _ask(client, auth, "").status_code == 400
    assert _ask(client, auth, "   \n  ").status_code == 400
    assert client.post("/api/ai/generate/compose-content", json={"metadataText": "x"}, headers=auth).status_code \
        == 400
    assert _ask(client, auth, "x", selectedPlatforms="x").status_code == 400
    assert client.post("/api/ai/generate/compose-content", json={"requestText": "x"}).status_code == 401


def test_the_openai_fake_refuses_what_openais_description_refuses(openai_at):
    """The fake is only worth what it refuses: each of these bodies breaks a rule of OpenAI's OpenAPI description
    (tests/contracts/openai-openapi.subset.json) and is answered 400 in OpenAI's error shape, as the API does."""
    import httpx

    from shared.config import get_config

    base = get_config().openai_base_url
    ok = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 50,
          "response_format": {"type": "json_object"}}
    headers = {"Authorization": "Bearer sk-content"}
    good = httpx.post(f"{base}/chat/completions", json=ok, headers=headers)
    assert good.status_code == 200 and openai_at.violations == []
    answer = good.json()
    assert {"id", "object", "created", "model", "choices", "usage"} <= set(answer)
    assert answer["choices"][0]["message"]["refusal"] is None and "logprobs" in answer["choices"][0]
    for bad in ({"messages": []}, {"response_format": {"type": "json"}}, {"max_completion_tokens": "50"},
                {"messages": [{"role": "robot", "content": "hi"}]}, {"model": None}):
        r = httpx.post(f"{base}/chat/completions", json={**ok, **bad}, headers=headers)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", bad
    assert len(openai_at.violations) == 5
    assert httpx.post(f"{base}/chat/completions", json=ok, headers={"Authorization": "Bearer nope"}).status_code \
        == 401
