"""Hostile input gets a 400 envelope, never a 500, and leaves nothing behind (issue: 500s from input).

One mechanism per kind, whatever the route: the input guard (shared/api/input_guard.py) for NUL characters,
unpaired surrogates, nesting and 64-bit integers in any JSON body or query; the database's own range checks
(data exceptions -> 400, shared/api/app.py) for values a column cannot hold; the SSRF guard's host-name check
for URLs; sealed cursors for the storage browser.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib

import pytest
from foundation_helpers import assert_error


def _rows(db, table: str) -> int:
    return db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


NUL_CASES = [
    ("PUT", "/api/settings", {"rssCaptionPrompt": "before\u0000after"}, "settings"),
    ("POST", "/api/notifications", {"title": "a\u0000b", "message": "m", "type": "info"}, "notifications"),
    ("POST", "/api/rss/feeds", {"name": "Feed\u0000", "url": "https://example.com/feed.xml"}, "rss_feeds"),
    ("POST", "/api/uploads", {"fileName": "trailer\u0000.mp4", "contentType": "video/mp4", "size": 100 << 20,
                              "purpose": "trailers"}, "media_uploads"),
    ("POST", "/api/jobs", {"sourceKey": "trailers/2025/01/a\u0000.mp4"}, "media_jobs"),
    ("POST", "/api/notifications", {"title": "lone \udc00 surrogate", "type": "info"}, "notifications"),
    ("PUT", "/api/settings", {"pollingWindows": {"k\u0000": 1}}, "settings"),
]


@pytest.mark.parametrize("method,path,body,table", NUL_CASES)
def test_nul_and_unpaired_surrogates_are_refused_before_any_write(client, auth, db, method, path,
                                                                  body, table):
    before = _rows(db, table)
    raw = json.dumps(body).encode()  # json escapes them as \\u0000 / \\udc00, as a browser would
    r = client.request(method, path, content=raw, headers={**auth, "Content-Type": "application/json"})
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert err["details"]["field"]
    assert _rows(db, table) == before


@pytest.mark.parametrize("query", ["service=%00", "level=info%00", "limit=5&%00=x"])
def test_nul_in_a_query_filter(client, auth, query):
    assert_error(client.get(f"/api/logs?{query}", headers=auth), 400, "VALIDATION_ERROR")


def test_integers_past_the_column_range(client, auth, db):
    feed = db.execute("INSERT INTO rss_feeds (name, url) VALUES ('F', 'https://example.com/f.xml') "
                      "RETURNING id, display_order").fetchone()
    r = client.put(f"/api/rss/feeds/{feed['id']}", headers=auth, json={"displayOrder": 2**31})
    err = assert_error(r, 400, "VALIDATION_ERROR")  # the database's own range check, one handler for all routes
    assert "out of range" in err["message"]
    assert db.execute("SELECT display_order FROM rss_feeds WHERE id = %s", (feed["id"],)).fetchone()[
        "display_order"] == feed["display_order"]
    assert client.put(f"/api/rss/feeds/{feed['id']}", headers=auth, json={"displayOrder": 2**31 - 1}).status_code == 200
    jobs = _rows(db, "media_jobs")
    err = assert_error(client.post("/api/jobs", headers=auth, json={"sourceKey": "trailers/x.mp4", "fileSize": 2**63}),
                       400, "VALIDATION_ERROR")
    assert err["details"]["field"] == "fileSize" and _rows(db, "media_jobs") == jobs
    for value in ("NaN", "Infinity", "1e400"):
        r = client.post("/api/notifications", headers={**auth, "Content-Type": "application/json"},
                        content=b'{"title": "t", "type": "info", "extra": ' + value.encode() + b"}")
        assert_error(r, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("url", ["https://\u008f\u00a6.example/feed", "http://.T\u00cc/rss", "https://a..b/x",
                                 "https://xn--/feed"])
def test_hosts_that_are_not_valid_idna(client, auth, db, url):
    before = _rows(db, "rss_feeds")
    assert_error(client.post("/api/rss/feeds", headers=auth, json={"name": "F", "url": url}), 400,
                 "VALIDATION_ERROR")
    assert_error(client.post("/api/rss/preview", headers=auth, json={"url": url}), 400, "VALIDATION_ERROR")
    assert _rows(db, "rss_feeds") == before


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [33, 5_000, 200_000])
def test_deeply_nested_json_on_platforms_post(client, auth, db, depth):
    publications = _rows(db, "publications")
    body = b'{"platforms": ["x"], "content": {"text": "hi", "deep": ' + _nested(depth) + b"}}"
    for ctype in ("application/json", "text/plain"):  # the route parses the body itself: same rule
        r = client.post("/api/platforms/post", content=body, headers={**auth, "Content-Type": ctype})
        assert_error(r, 400, "VALIDATION_ERROR")
    form = {"platforms": '["x"]', "content": '{"deep": ' + "[" * depth + "]" * depth + "}"}
    assert_error(client.post("/api/platforms/post", data=form, headers=auth,
                             files={"unused": ("a.txt", b"x", "text/plain")}), 400, "VALIDATION_ERROR")
    assert _rows(db, "publications") == publications


def test_nesting_a_real_request_needs_is_accepted(client, auth):
    r = client.put("/api/settings", headers=auth, json={"pollingWindows": {"weekday": [{"from": "08:00",
                                                                                         "to": "22:00"}]}})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("cursor", ["madeup", "null", "AAAA.0000", "x" * 900])
def test_made_up_browse_cursors(client, auth, backing, cursor):
    from shared.storage.s3 import get_storage

    for i in range(3):  # a non-empty folder: the storage server's token parser is what used to fail
        get_storage().put_bytes(f"templates/cursor-test-{i}.psd", b"8BPS....", "image/vnd.adobe.photoshop")
    r = client.get("/api/design-studio/backblaze/templates", params={"cursor": cursor, "limit": 1}, headers=auth)
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "cursor"}
    first = client.get("/api/design-studio/backblaze/templates", params={"limit": 1}, headers=auth).json()
    nxt = first["meta"]["nextCursor"]
    assert nxt and client.get("/api/design-studio/backblaze/templates", params={"cursor": nxt, "limit": 1},
                              headers=auth).status_code == 200
    # a cursor for one folder does not open another
    assert_error(client.get("/api/video-studio/backblaze/videos", params={"cursor": nxt}, headers=auth), 400,
                 "VALIDATION_ERROR")


def test_an_upload_whose_row_fails_to_insert_leaves_no_multipart_upload(client, auth, monkeypatch):
    from shared.db.outage import DatabaseUnavailable
    from shared.media.uploads import service
    from shared.storage.s3 import get_storage

    storage = get_storage()
    before = {u["UploadId"] for u in storage.list_multipart_uploads("trailers/")}

    class FailingInsert:
        def __enter__(self):
            raise DatabaseUnavailable()

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(service, "connection", lambda: FailingInsert())
    r = client.post("/api/uploads", headers=auth, json={"fileName": "big.mp4", "contentType": "video/mp4",
                                                         "size": 200 << 20, "purpose": "trailers"})
    assert_error(r, 503, "SERVICE_UNAVAILABLE")
    assert {u["UploadId"] for u in storage.list_multipart_uploads("trailers/")} == before


# --- /api/platforms/post: the same allow-list and sniffing as /api/uploads --------------------------------

def _png(note: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + (chunk(b"tEXt", b"Comment\x00" + note) if note else b"")
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _publish_objects() -> set[str]:
    from shared.storage.s3 import get_storage

    return {o["Key"] for o in get_storage().list("publish/uploads/", limit=1000).get("Contents", [])}


def _post(client, auth, platforms, name, ctype, data):
    return client.post("/api/platforms/post", headers=auth,
                       data={"platforms": json.dumps(platforms), "content": json.dumps({"text": "New trailer"})},
                       files={"mediaFile": (name, io.BytesIO(data), ctype)})


@pytest.mark.parametrize("name,ctype,data", [
    ("page.html", "text/html", b"<html><script>alert(1)</script></html>"),
    ("trailer.png", "image/png", b"<html>not an image</html>" * 4),
    ("clip.mp4", "video/mp4", _png()),
    ("x.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
])
def test_platforms_post_refuses_what_uploads_refuse_and_stores_nothing(client, auth, db, name,
                                                                       ctype, data):
    before, publications = _publish_objects(), _rows(db, "publications")
    r = _post(client, auth, ["x"], name, ctype, data)
    assert_error(r, 400, "VALIDATION_ERROR")
    assert _publish_objects() == before
    assert _rows(db, "publications") == publications


def test_a_refused_request_keeps_no_object(client, auth, db):
    before = _publish_objects()
    r = _post(client, auth, ["myspace"], "still.png", "image/png", _png(os.urandom(8).hex().encode()))
    assert_error(r, 400, "VALIDATION_ERROR")  # unknown platform: refused after the file was checked
    assert _publish_objects() == before


def test_an_accepted_image_is_stored_once(client, auth, db):
    before = _publish_objects()
    r = _post(client, auth, ["x"], "still.png", "image/png; charset=binary", _png(os.urandom(8).hex().encode()))
    assert r.status_code == 200, r.text
    assert len(_publish_objects() - before) == 1  # kept: the publication refers to it
