"""The validators the fakes use catch requests the official descriptions do not allow, naming the rule; the copied
descriptions are exactly what the extraction script cuts from the official files."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import httpx
from contracts import documented, validate

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT.parent / "shared" / "reference" / "platform-specs"
BEARER = {"Authorization": "Bearer t"}
X_SCOPES = {"tweet.read", "tweet.write", "users.read", "media.write", "offline.access"}


def test_the_old_x_command_init_form_is_refused_with_the_rule_it_breaks():
    # exactly what the old adapter sent: a urlencoded INIT to POST /2/media/upload
    old = httpx.Request("POST", "https://api.x.com/2/media/upload", headers=BEARER,
                        data={"command": "INIT", "total_bytes": "5000", "media_type": "video/mp4",
                              "media_category": "amplify_video"})
    broken = validate.openapi("x", old, X_SCOPES)
    assert broken and all(b.startswith("x-openapi.subset.json (X API v2 2.167): POST /2/media/upload") for b in broken)
    assert "application/x-www-form-urlencoded" in broken[0] and "multipart/form-data" in broken[0]
    # the same commands as multipart (the old APPEND): the one-shot upload requires media, knows no command
    append = httpx.Request("POST", "https://api.x.com/2/media/upload", headers=BEARER,
                           data={"command": "APPEND", "media_id": "1", "segment_index": "0"},
                           files={"x": ("blob", b"\0" * 10, "application/octet-stream")})
    text = "\n".join(validate.openapi("x", append, X_SCOPES))
    assert "'media' is a required property" in text
    assert "'command' is not in the body schema" in text and "'media_id' is not in the body schema" in text


def test_the_current_x_upload_sequence_is_allowed_and_scopes_are_held():
    init = httpx.Request("POST", "https://x.test/2/media/upload/initialize", headers=BEARER,
                         json={"total_bytes": 5000, "media_type": "video/mp4", "media_category": "amplify_video"})
    append = httpx.Request("POST", "https://x.test/2/media/upload/123/append", headers=BEARER,
                           data={"segment_index": "0"},
                           files={"media": ("blob", b"\0" * 10, "application/octet-stream")})
    finalize = httpx.Request("POST", "https://x.test/2/media/upload/123/finalize", headers=BEARER)
    status = httpx.Request("GET", "https://x.test/2/media/upload", params={"media_id": "123"}, headers=BEARER)
    for req in (init, append, finalize, status):
        assert validate.openapi("x", req, X_SCOPES) == [], req.url
    # a media id is digits, a segment index a number, and posting needs tweet.write + tweet.read + users.read
    bad_id = httpx.Request("POST", "https://x.test/2/tweets", headers=BEARER,
                           json={"text": "hi", "media": {"media_ids": ["m1"]}})
    assert any("'m1' does not match" in b for b in validate.openapi("x", bad_id, X_SCOPES))
    bad_index = httpx.Request("POST", "https://x.test/2/media/upload/123/append", headers=BEARER,
                              data={"segment_index": "first"}, files={"media": ("b", b"1", "application/octet-stream")})
    assert any("segment_index" in b for b in validate.openapi("x", bad_index, X_SCOPES))
    tweet = httpx.Request("POST", "https://x.test/2/tweets", headers=BEARER, json={"text": "hi"})
    refused = validate.openapi("x", tweet, {"tweet.write"})
    assert refused and "scopes: needs {tweet.read, tweet.write, users.read}" in refused[0]


def test_pinterest_token_requests_carry_only_documented_parameters():
    auth = {"Authorization": "Basic eDp5"}
    pkce = httpx.Request("POST", "https://pin.test/v5/oauth/token", headers=auth,
                         data={"grant_type": "authorization_code", "code": "c", "redirect_uri": "https://a/b",
                               "code_verifier": "v" * 50})
    assert any("'code_verifier' is not a documented parameter" in b
               for b in validate.openapi_form_fields("pinterest", pkce))
    refresh = httpx.Request("POST", "https://pin.test/v5/oauth/token", headers=auth,
                            data={"grant_type": "refresh_token", "refresh_token": "r"})
    assert validate.openapi("pinterest", refresh) == []
    assert any("continuous_refresh=true" in b for b in documented.pinterest_token_extras(refresh))


def test_discovery_checker_holds_youtube_calls_to_the_discovery_document():
    yt_scopes = {"https://www.googleapis.com/auth/youtube.upload"}
    start = httpx.Request("POST", "https://yt.test/upload/youtube/v3/videos", headers={
        **BEARER, "X-Upload-Content-Length": "1000", "X-Upload-Content-Type": "video/mp4"},
        params={"uploadType": "resumable", "part": "snippet,status"},
        json={"snippet": {"title": "T", "categoryId": "24"}, "status": {"privacyStatus": "private"}})
    assert validate.discovery(start, yt_scopes) == []
    bad = httpx.Request("POST", "https://yt.test/upload/youtube/v3/videos", headers=BEARER,
                        params={"uploadType": "resumable", "part": "snippet", "notify": "true"},
                        json={"snippet": {"title": "T", "tittle": "x"}, "status": {"privacyStatus": "hidden"}})
    text = "\n".join(validate.discovery(bad, yt_scopes))
    assert "unknown query parameter 'notify'" in text
    assert "unknown field 'tittle'" in text and "'hidden' is not one of" in text
    playlist = httpx.Request("POST", "https://yt.test/youtube/v3/playlistItems", headers=BEARER,
                             params={"part": "snippet"},
                             json={"snippet": {"playlistId": "PL1", "resourceId": {"kind": "youtube#video",
                                                                                   "videoId": "v"}}})
    # youtube.upload alone does not cover playlistItems.insert: the discovery document lists its scopes
    assert any("scopes: needs" in b for b in validate.discovery(playlist, yt_scopes))


def test_graph_node_spec_checker_knows_edges_params_fields_and_permissions():
    ok = httpx.Request("POST", "https://graph.test/v25.0/9001/feed", headers=BEARER,
                       data={"message": "hi", "link": "https://variety.com/a"})
    assert validate.meta_graph(ok, "Page", "feed", {"pages_manage_posts", "pages_read_engagement"},
                               {"pages_manage_posts", "pages_read_engagement"}) == []
    bad = httpx.Request("POST", "https://graph.test/v25.0/1784/media_publish", headers=BEARER,
                        data={"creation_id": "c1001", "caption": "x"})
    text = "\n".join(validate.meta_graph(bad, "IGUser", "media_publish"))
    assert "creation_id='c1001' is not a valid unsigned int" in text and "unknown parameter 'caption'" in text
    edge = httpx.Request("POST", "https://graph.test/v25.0/9001/reels", headers=BEARER)
    assert "is not an edge of Page" in validate.meta_graph(edge, "Page", "reels")[0]
    fields = httpx.Request("GET", "https://graph.test/v25.0/555", params={"fields": "status_code,colour"},
                           headers=BEARER)
    assert "has no field(s) colour" in validate.meta_graph(fields, "ShadowIGMediaBuilder", None)[0]
    no_perm = validate.meta_graph(ok, "Page", "feed", {"pages_show_list"}, {"pages_manage_posts"})
    assert no_perm and "scopes: needs {pages_manage_posts}" in no_perm[0]


def test_documented_tiktok_rules_name_their_page():
    body = {"post_info": {"title": "t", "privacy_level": "EVERYONE"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": 12 * 1024 * 1024, "chunk_size": 1024,
                            "total_chunk_count": 3}}
    req = httpx.Request("POST", "https://tiktok.test/v2/post/publish/video/init/", json=body, headers=BEARER)
    broken = validate.documented(documented.TIKTOK_VIDEO_INIT, req, {"user.info.basic"})
    text = "\n".join(broken)
    assert documented.TIKTOK_DIRECT_POST_DOC in text
    assert "post_info.privacy_level='EVERYONE' must be one of" in text
    assert "chunk_size 1024 must be 5 MB to 64 MB" in text
    assert "scopes: needs {video.publish}" in text
    pkce = httpx.Request("POST", "https://tiktok.test/v2/oauth/token/", data={
        "client_key": "k", "client_secret": "s", "code": "c", "grant_type": "authorization_code",
        "redirect_uri": "https://app.example.com/platforms/callback", "code_verifier": "v" * 43})
    assert any("mobile and desktop app only" in b for b in validate.documented(documented.TIKTOK_TOKEN, pkce))
    assert documented.authorize("meta", {"client_id": "1", "redirect_uri": "r", "code_challenge": "x"}) == [
        (f"{documented.AUTHORIZE_PARAMS['meta'][2]}: authorization URL parameter 'code_challenge' is not documented "
        "for this flow")]


def test_the_copied_descriptions_are_what_the_extraction_cuts_from_the_official_files(tmp_path):
    env = {**os.environ, "CONTRACTS_OUT_DIR": str(tmp_path), "PLATFORM_SPECS_DIR": str(SPECS)}
    env.pop("META_CODEGEN_GIT_DIR", None)  # the two extra node specs are re-read from the copies
    subprocess.run([sys.executable, str(ROOT / "tests" / "contracts" / "extract.py")], check=True, env=env,
                   capture_output=True)
    here = ROOT / "tests" / "contracts"
    for name in ("x-openapi.subset.json", "pinterest-openapi.subset.json", "youtube-v3-discovery.subset.json"):
        assert filecmp.cmp(tmp_path / name, here / name, shallow=False), name
    for f in (here / "meta-graph").glob("*.json"):
        assert filecmp.cmp(tmp_path / "meta-graph" / f.name, f, shallow=False), f.name
