"""Fetcher + parser against a local HTTP server serving real-world-shaped feeds, and the SSRF guard."""

import asyncio

import pytest
import rss_samples as S

from shared.local.feed_server import FeedServer
from shared.net.fetch import FetchError, FetchLimits, fetch, make_client
from shared.net.guard import BlockedURL, check_addresses, resolve_public_sync
from shared.rss.parser import NotAFeed, parse_feed


@pytest.fixture(scope="module")
def server():
    srv = FeedServer().start()
    yield srv
    srv.stop()


def run(coro):
    return asyncio.run(coro)


async def _get(url, **kw):
    async with make_client() as c:
        return await fetch(c, url, **kw)


def get(url, **kw):
    return run(_get(url, **kw))


def test_rss2_content_encoded_and_media(server):
    url = server.route("/rss2.xml", S.RSS2_CONTENT_MEDIA)
    r = get(url)
    feed = parse_feed(r.body, content_type=r.content_type, url=r.url)
    assert feed.title == "Screen News Daily" and feed.version == "rss20" and feed.image.endswith("logo.png")
    first = feed.entries[0]
    assert first.guid == "sn-10001" and "<strong>finale</strong>" in first.content_html
    assert first.published_at.isoformat() == "2026-03-01T10:00:00+00:00"
    srcs = [(i.source, i.url) for i in first.images]
    assert srcs[0] == ("media_content", "https://cdn.screennews.example/dune3-hero.jpg")
    assert ("media_thumbnail", "https://cdn.screennews.example/dune3-thumb.jpg") in srcs
    assert feed.entries[1].images[0].source == "enclosure"


def test_atom_xml_base_resolves_relative_links(server):
    url = server.route("/atom.xml", S.ATOM_XML_BASE, content_type="application/atom+xml")
    r = get(url)
    feed = parse_feed(r.body, content_type=r.content_type, url=r.url)
    assert feed.version == "atom10"
    assert feed.entries[0].link == "https://trailers.example/blog/posts/batman-2-teaser"
    assert 'href="https://trailers.example/blog/posts/more"' in feed.entries[0].safe_html()
    assert feed.entries[1].link == "https://trailers.example/other/entry-two"
    assert 'src="https://trailers.example/other/pic.png"' in feed.entries[1].safe_html()
    from shared.rss.images import first_content_image

    assert first_content_image(feed.entries[1].body_html, feed.entries[1].body_base) == \
        "https://trailers.example/other/pic.png"


def test_windows_1252_from_prolog_and_header(server):
    for ct in ("application/rss+xml", "application/rss+xml; charset=windows-1252"):
        url = server.route("/cp1252.xml", S.WIN1252, content_type=ct)
        r = get(url)
        feed = parse_feed(r.body, content_type=r.content_type, url=r.url)
        assert feed.title == "Café Cinéma – News"
        assert feed.entries[0].title == "Amélie returns – “official” news"


def test_bom(server):
    url = server.route("/bom.xml", S.BOM_UTF8, content_type="text/xml")
    feed = parse_feed(get(url).body, content_type="text/xml", url=url)
    assert feed.title == "BOM Feed ★" and feed.entries[0].title == "Star ★ item"


def test_gzip_response_is_decoded(server):
    url = server.route("/gz.xml", S.RSS2_CONTENT_MEDIA, gzip=True)
    r = get(url)
    assert r.headers.get("content-encoding") == "gzip"
    assert len(parse_feed(r.body, content_type=r.content_type, url=url).entries) == 2


def test_conditional_get_304_and_unchanged_validators(server):
    url = server.route("/cond.xml", S.RSS2_CONTENT_MEDIA, etag='"v1"', last_modified="Sun, 01 Mar 2026 10:00:00 GMT")
    first = get(url)
    assert not first.not_modified and first.etag == '"v1"'
    again = get(url, etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.status_code == 304 and again.body == b""
    # a server that ignores If-None-Match but sends the same ETag: treated as not modified, body not read
    server.route("/cond.xml", S.RSS2_CONTENT_MEDIA, etag='"v1"', ignore_conditional=True)
    same = get(url, etag='"v1"')
    assert same.status_code == 200 and same.not_modified
    server.route("/lm.xml", S.RSS2_CONTENT_MEDIA, last_modified="Sun, 01 Mar 2026 10:00:00 GMT",
                 ignore_conditional=True)
    assert get(server.url("/lm.xml"), last_modified="Sun, 01 Mar 2026 10:00:00 GMT").not_modified


def test_permanent_vs_temporary_redirects(server):
    target = server.route("/new-home.xml", S.RSS2_CONTENT_MEDIA)
    server.route("/moved.xml", redirect_to="/new-home.xml", status=301)
    r = get(server.url("/moved.xml"))
    assert r.url == target and r.permanent_redirect_to == target
    server.route("/temp.xml", redirect_to="/new-home.xml", status=302)
    r2 = get(server.url("/temp.xml"))
    assert r2.url == target and r2.permanent_redirect_to is None
    server.route("/p308.xml", redirect_to="/temp.xml", status=308)
    assert get(server.url("/p308.xml")).permanent_redirect_to is None  # a temporary hop in the chain


def test_redirect_loop_is_capped(server):
    for i in range(7):
        server.route(f"/loop{i}", redirect_to=f"/loop{i + 1}", status=302)
    with pytest.raises(FetchError) as e:
        get(server.url("/loop0"))
    assert e.value.kind == "too_many_redirects"


def test_slow_server_hits_total_timeout(server):
    url = server.route("/slow.xml", S.RSS2_CONTENT_MEDIA, slow_seconds=1.0)
    with pytest.raises(FetchError) as e:
        get(url, limits=FetchLimits(total_timeout=0.3, read_timeout=5))
    assert e.value.kind == "timeout"


def test_endless_body_is_capped_while_streaming(server):
    url = server.route("/endless.xml", endless=True)
    with pytest.raises(FetchError) as e:
        get(url, limits=FetchLimits(max_bytes=1024 * 1024))
    assert e.value.kind == "too_large"


def test_html_page_is_not_a_feed_and_names_discovered_feed(server):
    url = server.route("/page.html", S.HTML_PAGE, content_type="text/html")
    r = get(url)
    with pytest.raises(NotAFeed) as e:
        parse_feed(r.body, content_type=r.content_type, url=r.url)
    assert "HTML page" in e.value.message and e.value.discovered == [server.url("/feed.xml")]


def test_truncated_xml_keeps_complete_items(server):
    url = server.route("/cut.xml", S.TRUNCATED)
    feed = parse_feed(get(url).body, content_type="application/rss+xml", url=url)
    assert feed.bozo
    assert [e.link for e in feed.entries][:2] == ["https://cut.example/1", "https://cut.example/2"]


def test_http_errors_and_browser_ua_retry_on_403(server):
    with pytest.raises(FetchError) as e:
        get(server.url("/does-not-exist"))
    assert e.value.kind == "http_status" and e.value.status_code == 404
    url = server.route("/ua.xml", S.RSS2_CONTENT_MEDIA, forbid_default_ua=True)
    r = get(url)
    assert r.status_code == 200
    uas = server.user_agents["/ua.xml"]
    assert uas[0].startswith("Screndly/") and "Mozilla" in uas[1]


# --- SSRF guard ---------------------------------------------------------------------------------
def test_guard_is_on_by_default_with_a_fresh_config(monkeypatch, server):
    from shared.config import Config

    monkeypatch.delenv("ALLOW_PRIVATE_NETWORK_FETCH", raising=False)
    assert Config().allow_private_network_fetch is False
    with pytest.raises(FetchError) as e:
        run(_get(server.url("/rss2.xml"), allow_private=Config().allow_private_network_fetch))
    assert e.value.kind == "blocked" and "non-public" in e.value.message


def test_guard_rechecks_every_redirect_hop(server):
    # a public-looking start that redirects to an internal address is refused at the hop
    server.route("/to-metadata", redirect_to="http://169.254.169.254/latest/meta-data/", status=302)

    async def go():
        async with make_client() as c:
            from shared.net import fetch as f

            orig = f.resolve_public

            async def first_allowed(url, allow_private):
                return await orig(url, allow_private=url.startswith(server.base))
            f.resolve_public = first_allowed
            try:
                return await f.fetch(c, server.url("/to-metadata"), allow_private=False)
            finally:
                f.resolve_public = orig
    with pytest.raises(FetchError) as e:
        run(go())
    assert e.value.kind == "blocked" and "169.254.169.254" in e.value.message


@pytest.mark.parametrize("addr", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                  "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "::1", "fe80::1",
                                  "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:10.0.0.1"])
def test_guard_refuses_internal_addresses(addr):
    with pytest.raises(BlockedURL):
        check_addresses("h", [addr], allow_private=False)
    assert check_addresses("h", [addr], allow_private=True) == addr


@pytest.mark.parametrize("addr", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"])
def test_guard_allows_public_addresses(addr):
    assert check_addresses("h", [addr], allow_private=False) == addr


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x.example/", "http://user:pw@x.example/", "gopher://a",
                                 "http://[::1]/", "http://localhost:1/"])
def test_guard_refuses_schemes_credentials_and_local_names(url):
    with pytest.raises(BlockedURL):
        resolve_public_sync(url, allow_private=False)


def test_guard_resolves_names():
    assert resolve_public_sync("http://127.0.0.1:8080/a?b=1", allow_private=True).ip == "127.0.0.1"
    assert resolve_public_sync("http://localhost:8080/x", allow_private=True).ip in ("127.0.0.1", "::1")


def test_connect_time_check_catches_what_the_pre_check_missed(server, monkeypatch):
    """DNS rebinding: the name looked public at the pre-check, then resolves inside at connect time."""
    from shared.net import fetch as f

    orig = f.resolve_public

    async def fooled(url, allow_private):
        return await orig(url, allow_private=True)
    monkeypatch.setattr(f, "resolve_public", fooled)

    async def go():
        async with make_client(allow_private=False) as c:
            return await f.fetch(c, server.url("/rss2.xml"), allow_private=False)
    with pytest.raises(FetchError) as e:
        run(go())
    assert e.value.kind == "blocked" and "127.0.0.1" in e.value.message
