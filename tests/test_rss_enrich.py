"""Captions (template, OpenAI via a local fake, cache), Serper images via a local fake, rehosting to S3 (moto)."""

import pytest
import rss_samples as S
from rss_fakes import FakeOpenAI, FakeSerper, png_bytes
from rss_helpers import set_settings

from shared.local.feed_server import FeedServer
from shared.local.services import ServerThread


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    srv.route("/img/poster.png", png_bytes(1000, 1500), content_type="image/png")
    srv.route("/img/small.png", png_bytes(120, 90), content_type="image/png")
    srv.route("/plain/1", "<html><head><title>no images</title></head><body>x</body></html>",
              content_type="text/html")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def openai_fake(backing):
    fake = FakeOpenAI(key="sk-test")
    t = ServerThread(fake.app).start()
    yield fake, t.url
    t.stop()


@pytest.fixture
def point_apis(monkeypatch, openai_fake):
    from shared.config import get_config

    monkeypatch.setenv("OPENAI_BASE_URL", openai_fake[1] + "/v1")
    get_config.cache_clear()
    yield
    monkeypatch.delenv("OPENAI_BASE_URL")
    get_config.cache_clear()


def test_template_caption_rules():
    from shared.rss.captions import hashtags_from_title, template_caption
    from shared.rss.textlength import x_length

    link = "https://news.example.com/" + "long-slug-" * 20
    c = template_caption(title="Netflix renews Stranger Things spinoff", summary_html="<p>" + "Big news. " * 60 +
                         "</p>", link=link, platform="x")
    assert c.startswith("Netflix renews Stranger Things spinoff") and c.endswith(link) and x_length(c) <= 280
    assert "#Netflix" in hashtags_from_title("Netflix renews Stranger Things spinoff")
    t = template_caption(title="Short", summary_html="", link=None, platform="threads")
    assert t.startswith("Short")


def test_ai_caption_endpoint_cache_and_template_fallback(client, auth, clean_state, openai_fake, point_apis):
    fake, _ = openai_fake
    body = {"articleTitle": "Dune Part Three trailer", "feedName": "Screen News", "summary": "It is here.",
            "platform": "X", "model": "gpt-5.4-nano", "customSystemPrompt": "Be brief.", "customTemperature": 0.3}
    # no key: the template answers
    r = client.post("/api/ai/generate/rss-caption", json=body, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["source"] == "template"
    assert r.json()["data"]["content"].startswith("Dune Part Three trailer")
    set_settings(openaiKey="sk-test", rssCaptionTone="Exciting")
    n = len(fake.requests)
    d = client.post("/api/ai/generate/rss-caption", json=body, headers=auth).json()["data"]
    assert d["content"] == fake.reply and d["source"] == "ai" and d["model"] == "gpt-5.4-nano"
    sent = fake.requests[-1]
    assert sent["model"] == "gpt-5.4-nano" and sent["temperature"] == 0.3
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "Dune Part Three trailer" in sent["messages"][1]["content"]
    d2 = client.post("/api/ai/generate/rss-caption", json=body, headers=auth).json()["data"]
    assert d2["source"] == "ai_cached" and len(fake.requests) == n + 1  # cached: no second call
    # a wrong key is an upstream error with the contract shape
    set_settings(openaiKey="sk-wrong")
    r = client.post("/api/ai/generate/rss-caption", json={**body, "articleTitle": "Other"}, headers=auth)
    assert r.status_code == 502 and "rejected the API key" in r.json()["error"]["message"]
    assert client.post("/api/ai/generate/rss-caption", json={}, headers=auth).status_code == 400


def test_ai_caption_retries_without_temperature_for_models_that_reject_it(clean_state, openai_fake, point_apis):
    import asyncio

    import httpx

    from shared.ai.openai_chat import chat

    fake, _ = openai_fake
    fake.reject_temperature = True
    try:
        async def go():
            async with httpx.AsyncClient() as c:
                return await chat(c, "sk-test", model="gpt-5.4-nano", messages=[{"role": "user", "content": "hi"}],
                                  temperature=0.7)
        res = asyncio.run(go())
        assert res.content == fake.reply and "temperature" not in fake.requests[-1]
    finally:
        fake.reject_temperature = False


def test_an_answer_cut_off_at_the_token_limit_is_never_used_as_a_caption(client, auth, clean_state, server,
                                                                          openai_fake, point_apis, db):
    """A reasoning model can spend max_completion_tokens thinking and stop mid-sentence (finish_reason "length"):
    the owner's button says so, and the automatic path falls back to the template, never a cut caption."""
    fake, _ = openai_fake
    cut = "Dune Part Three is finally here and it looks like the"
    fake.reply, fake.finish_reason = cut, "length"
    try:
        set_settings(openaiKey="sk-test")
        body = {"articleTitle": "Dune Part Three trailer cut", "feedName": "Screen News", "summary": "It is here.",
                "platform": "X", "model": "gpt-5.4-nano"}
        r = client.post("/api/ai/generate/rss-caption", json=body, headers=auth)
        assert r.status_code == 502 and "cut off" in r.json()["error"]["message"]
        url = server.route("/cut.xml", S.rss_items("Cut", [("c0", "Seed", server.url("/plain/0"))]))
        feed = client.post("/api/rss/feeds", json={"url": url}, headers=auth).json()["data"]
        server.route("/cut.xml", S.rss_items("Cut", [("c1", "Dune Part Three trailer arrives", server.url("/plain/1")),
                                                     ("c0", "Seed", server.url("/plain/0"))]))
        client.post(f"/api/rss/feeds/{feed['id']}/refresh", json={}, headers=auth)
        item = client.get("/api/rss/activity", headers=auth).json()["data"]["items"][0]
        assert item["captionSource"] == "template" and cut not in item["caption"]
        assert item["caption"].startswith("Dune Part Three trailer arrives")
        assert db.execute("SELECT count(*) AS n FROM activity_logs WHERE message LIKE 'AI caption failed, template "
                          "used: OpenAI''s answer was cut off%'").fetchone()["n"] == 1
    finally:
        fake.reply, fake.finish_reason = "A caption written by the model #Trailer", "stop"


def test_pipeline_uses_ai_caption_serper_images_and_rehosts(client, auth, clean_state, server, openai_fake,
                                                              point_apis, monkeypatch, backing):
    from shared.config import get_config
    from shared.storage.s3 import get_storage

    serper = FakeSerper([
        {"title": "fan art", "imageUrl": "https://www.pinterest.com/pin/1.jpg", "imageWidth": 2000,
         "imageHeight": 1000, "domain": "pinterest.com", "position": 1},
        {"title": "small", "imageUrl": server.url("/img/small.png"), "imageWidth": 120, "imageHeight": 90,
         "domain": "x.com", "position": 2},
        {"title": "poster", "imageUrl": server.url("/img/poster.png"), "imageWidth": 1000, "imageHeight": 1500,
         "domain": "imdb.com", "position": 3},
    ])
    st = ServerThread(serper.app).start()
    monkeypatch.setenv("SERPER_BASE_URL", st.url)
    get_config.cache_clear()
    try:
        set_settings(openaiKey="sk-test", serperKey="serper-test")
        url = server.route("/enrich.xml", S.rss_items("Enrich", [("e0", "Seed", server.url("/plain/0"))]))
        feed = client.post("/api/rss/feeds", json={"url": url, "rehostImages": True, "imageCount": "1"},
                           headers=auth).json()["data"]
        server.route("/enrich.xml", S.rss_items("Enrich", [("e1", "Superman sequel casting news",
                                                            server.url("/plain/1")),
                                                           ("e0", "Seed", server.url("/plain/0"))]))
        client.post(f"/api/rss/feeds/{feed['id']}/refresh", json={}, headers=auth)
        item = client.get("/api/rss/activity", headers=auth).json()["data"]["items"][0]
        assert serper.requests[-1] == {"q": "Superman sequel casting news", "num": 10, "gl": "us", "hl": "en"}
        assert item["imageSource"] == "serper" and item["selectedImages"][0]["reason"].startswith(
            "Serper image search")
        # rehosted under a content-hash key: the stored bytes are the poster's
        import hashlib

        digest = hashlib.sha256(png_bytes(1000, 1500)).hexdigest()
        assert digest in item["imageUrl"]
        head = get_storage().head(f"images/rss/{digest}.png")
        assert head is not None and head["ContentType"] == "image/png"
        assert item["caption"].startswith(FakeOpenAI().reply) and item["captionSource"] == "ai"
        assert item["caption"].rstrip().endswith(server.url("/plain/1"))
    finally:
        st.stop()
        monkeypatch.delenv("SERPER_BASE_URL")
        get_config.cache_clear()


def test_sniff_image_formats():
    import struct

    from shared.rss.images import sniff_image

    assert sniff_image(png_bytes(800, 450)).width == 800
    gif = b"GIF89a" + struct.pack("<HH", 640, 360) + b"\x00" * 10
    assert (sniff_image(gif).mime, sniff_image(gif).height) == ("image/gif", 360)
    jpeg = (b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9 +
            b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 720, 1280) + b"\x03" + b"\x00" * 9)
    info = sniff_image(jpeg)
    assert (info.mime, info.width, info.height) == ("image/jpeg", 1280, 720)
    vp8x = b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 8 + (1919).to_bytes(3, "little") + (1079).to_bytes(3,
                                                                                                            "little")
    assert (sniff_image(vp8x).width, sniff_image(vp8x).height) == (1920, 1080)
    assert sniff_image(b"<html>") is None and sniff_image(b"") is None
