"""Media URLs (imageUrls, videoUrl, thumbnails) are fetched behind the SSRF guard, redirects re-checked per
hop, reads capped; only our own bucket's endpoint is exempt. The suite allows private networks (its fakes run
on 127.0.0.1); these tests switch that off with a fresh Config, like production."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)

from shared.publishing.engine.errors import BadContent
from shared.publishing.gateway import PublishRequest, publish
from shared.publishing.media.probe import probe
from shared.publishing.media.source import MediaSource

JPEG = b"\xff\xd8\xff\xc0\x00\x11\x08\x04\x38\x04\x38\x03" + b"\x00" * 9 + b"\x00" * 500


@pytest.fixture
def internal_server():
    """A real HTTP server on loopback: the 'internal service' an attacker would point us at."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(JPEG)))
            self.end_headers()
            self.wfile.write(JPEG)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def production_guard(world, monkeypatch):
    """allow_private_network_fetch off, and media.test resolving to a public address (DNS is the only double:
    respx still answers for it)."""
    from shared.config import get_config
    from shared.net import guard

    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK_FETCH", "false")
    get_config.cache_clear()
    assert get_config().allow_private_network_fetch is False
    real = guard._getaddrinfo
    monkeypatch.setattr(guard, "_getaddrinfo",
                        lambda host, port: ["93.184.216.34"] if host.endswith(".test") else real(host, port))
    yield world
    get_config.cache_clear()


def _redirect_to(world, path: str, location: str) -> str:
    world.media.routes.insert(0, ("GET", re.compile(re.escape(path) + "$"), "redirect",
                                  lambda request: httpx.Response(302, headers={"location": location})))
    return f"https://media.test{path}"


def test_loopback_media_url_is_refused_and_never_requested(production_guard, internal_server, db):
    world, (base, hits) = production_guard, internal_server
    world.connect("x")
    out = publish(PublishRequest("ssrf-1", "x", {"text": "poster", "imageUrl": f"{base}/p.jpg"}, "rss"))
    assert out.status == "failed" and "refused" in out.error, out
    assert hits == [] and world.x.posts == [] and world.x.calls == []
    _facts, problem = probe(f"{base}/p.jpg", "image")
    assert problem and "non-public address" in problem and hits == []
    with pytest.raises(BadContent, match="refused"):
        _ = MediaSource(f"{base}/v.mp4").size
    with pytest.raises(BadContent, match="refused"):
        _ = MediaSource("http://169.254.169.254/latest/meta-data/").size
    assert hits == []


def test_redirect_to_an_internal_address_is_refused(production_guard, internal_server, db):
    world, (base, hits) = production_guard, internal_server
    world.connect("x")
    url = _redirect_to(world, "/bounce.jpg", f"{base}/p.jpg")
    out = publish(PublishRequest("ssrf-2", "x", {"text": "poster", "imageUrl": url}, "rss"))
    assert out.status == "failed" and "refused" in out.error, out
    with pytest.raises(BadContent, match="refused"):
        _ = MediaSource(url).size
    with pytest.raises(BadContent, match="refused"):
        list(MediaSource(_redirect_to(world, "/bounce.mp4", "http://[::1]/v.mp4")).chunks(1024))
    assert hits == [] and world.x.posts == []


def test_public_media_and_public_redirects_still_work(production_guard, db):
    world = production_guard
    world.connect("x")
    img = world.media.add("ok.jpg", JPEG, "image/jpeg")
    url = _redirect_to(world, "/moved.jpg", img)
    out = publish(PublishRequest("ssrf-3", "x", {"text": "poster", "imageUrl": url}, "rss"))
    assert out.status == "published", out
    media = world.x.media[world.x.posts[0]["media_ids"][0]]
    assert sum(media["segments"]) == len(JPEG)


def test_our_own_bucket_on_a_private_endpoint_is_exempt(production_guard, client, auth):
    """In development B2 is moto on 127.0.0.1: presigned URLs of our bucket must still be readable."""
    world = production_guard
    world.connect("x")
    r = client.post("/api/platforms/post", headers=auth, data={
        "platforms": '["X"]', "content": '{"text": "poster from our bucket"}'},
        files={"mediaFile": ("poster.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["results"][0]["status"] == "posted", r.json()
    media = world.x.media[world.x.posts[0]["media_ids"][0]]
    assert sum(media["segments"]) == len(JPEG)


def _endless(served: list[int], piece: int = 64 * 1024, cap: int = 64 * 1024 * 1024):
    def gen():
        while served[0] < cap:
            served[0] += piece
            yield b"\x00" * piece
    return gen()


def test_a_server_ignoring_range_is_never_read_past_the_cap(world):
    served = [0]

    def ignores_range(request):
        # no length, no Content-Range: an endless 200 body, whatever Range asked for
        return httpx.Response(200, headers={"content-type": "image/jpeg"}, content=_endless(served))
    world.media.routes.insert(0, ("GET", re.compile("/endless.jpg$"), "endless", ignores_range))
    facts, problem = probe("https://media.test/endless.jpg", "image")
    assert problem is None and facts.mime == "image/jpeg"
    assert served[0] <= 128 * 1024, served  # the first 64 KB, not the body

    served2 = [0]
    declared = 1024 * 1024

    def overlong(request):  # announces 1 MB, ignores Range, then keeps sending
        return httpx.Response(200, headers={"content-type": "video/mp4", "content-length": str(declared)},
                              content=_endless(served2))
    world.media.routes.insert(0, ("GET", re.compile("/overlong.mp4$"), "overlong", overlong))
    src = MediaSource("https://media.test/overlong.mp4")
    assert src.size == declared and served2[0] <= 128 * 1024
    got = sum(len(c) for c in src.chunks(256 * 1024))
    assert got == declared and served2[0] <= 2 * declared, served2


def test_dns_rebinding_between_check_and_connect_is_refused(internal_server, monkeypatch):
    """The pre-check sees a public address, the connection would go to loopback: the guarded backend
    resolves again at connect time and refuses (no respx here: a real socket would be opened)."""
    from shared.net import guard
    from shared.publishing.media.fetch import MediaFetcher

    base, hits = internal_server
    port = base.rsplit(":", 1)[1]
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(guard, "_getaddrinfo", lambda host, p: next(answers))
    src = MediaSource(f"http://rebind.example:{port}/p.jpg", MediaFetcher(timeout=5, allow_private=False))
    with pytest.raises(BadContent, match="non-public address"):
        _ = src.size
    assert hits == []
