"""Bad input gets the contract's error shape with the right status, and nothing is written.

(Unknown settings keys and wrong setting types: test_foundation_settings.py; forged, expired and wrong-URL
QStash signatures: test_foundation_cleanup_schedules.py.)
"""

from __future__ import annotations

import json

import httpx
import pytest
from foundation_helpers import assert_error

MB = 1_000_000


def _counts(db) -> tuple[int, int, int]:
    return tuple(db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                 for t in ("settings", "notifications", "activity_logs"))


def _big_settings_body(size: int) -> bytes:
    return json.dumps({"rssCaptionPrompt": "x" * size}).encode()


@pytest.mark.parametrize("method,path", [("PUT", "/api/settings"), ("POST", "/api/notifications"),
                                         ("POST", "/api/auth/login"), ("PUT", f"/api/notifications/{'0' * 8}")])
def test_malformed_json(client, auth, clean_state, db, method, path):
    before = _counts(db)
    r = client.request(method, path, headers={**auth, "Content-Type": "application/json"},
                       content=b'{"title": "x", "password": ')
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert "JSON" in err["message"]
    assert _counts(db) == before


def test_wrong_types(client, auth, clean_state, db):
    before = _counts(db)
    assert_error(client.post("/api/notifications", headers=auth, json={"title": ["a"], "type": "info"}), 400,
                 "VALIDATION_ERROR")
    assert_error(client.post("/api/notifications", headers=auth, json="just a string"), 400, "VALIDATION_ERROR")
    err = assert_error(client.put(f"/api/notifications/{'0' * 8}", headers=auth, json={"read": "maybe"}), 400,
                       "VALIDATION_ERROR")
    assert err["details"][0]["field"] == "read"
    assert_error(client.get("/api/logs?limit=-1", headers=auth), 400, "VALIDATION_ERROR")
    assert _counts(db) == before


@pytest.mark.parametrize("path", ["/api/settings", "/api/notifications", "/api/auth/login"])
def test_oversized_body_with_content_length(client, auth, clean_state, db, path):
    before = _counts(db)
    body = _big_settings_body(MB + 10)
    r = client.request("PUT" if path == "/api/settings" else "POST", path, content=body,
                       headers={**auth, "Content-Type": "application/json"})
    err = assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    assert err["details"] == {"limitBytes": MB}
    assert _counts(db) == before


def test_just_under_the_limit_is_accepted(client, auth, clean_state, db):
    # a 99,000-character prompt in a body under 1 MB is a legitimate save
    r = client.put("/api/settings", headers=auth, json={"rssCaptionPrompt": "p" * 99_000})
    assert r.status_code == 200


def _chunks(data: bytes, size: int = 64 * 1024):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_oversized_chunked_body_in_process(client, auth, clean_state, db):
    before = _counts(db)
    r = client.put("/api/settings", headers={**auth, "Content-Type": "application/json"},
                   content=_chunks(_big_settings_body(MB + 10)))
    assert "content-length" not in {k.lower() for k in r.request.headers}
    err = assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    assert err["details"] == {"limitBytes": MB}
    assert _counts(db) == before


def test_oversized_chunked_body_over_real_http(live_api, auth, clean_state, db):
    """Through uvicorn on a real socket, with Transfer-Encoding: chunked and no Content-Length."""
    before = _counts(db)
    with httpx.Client(base_url=live_api.url, timeout=10) as c:
        r = c.put("/api/settings", headers={**auth, "Content-Type": "application/json"},
                  content=_chunks(_big_settings_body(MB + 200_000)))
    assert r.request.headers.get("transfer-encoding") == "chunked"
    err = assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    assert err["details"] == {"limitBytes": MB}
    assert _counts(db) == before


def test_lying_content_length_is_still_counted(live_api, auth, clean_state, db):
    """A client that declares a small Content-Length cannot push more: uvicorn stops at the declared length,
    so what reaches the handler is a truncated (invalid) body, never an oversized one."""
    import socket

    before = _counts(db)
    body = _big_settings_body(2 * MB)
    head = (f"PUT /api/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", live_api.port), timeout=10) as s:
        s.sendall(head + body[:100])
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    status = int(raw.split(b" ", 2)[1])
    assert status == 400
    assert _counts(db) == before


def test_unknown_routes_and_methods_use_the_contract_shape(client, auth):
    assert_error(client.get("/api/does-not-exist", headers=auth), 404, "NOT_FOUND")
    assert_error(client.get("/nothing-here"), 404, "NOT_FOUND")
    r = client.patch("/api/settings", headers=auth, json={})
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert "PUT" in r.headers.get("allow", "")
    assert_error(client.post("/health"), 405, "METHOD_NOT_ALLOWED")


def test_unexpected_errors_are_api_error_without_internals(client, auth, monkeypatch, clean_state, db):
    from shared.services import logs

    def broken(*a, **k):
        raise RuntimeError("password=hunter2 leaked in an exception")

    monkeypatch.setattr(logs, "list_logs", broken)
    r = client.get("/api/logs", headers=auth)
    err = assert_error(r, 500, "API_ERROR")
    assert "hunter2" not in r.text and err["message"] == "internal error"
    rows = db.execute("SELECT level, message, metadata FROM activity_logs WHERE service = 'api'").fetchall()
    assert [(r["level"], r["message"]) for r in rows] == [("error", "Unexpected RuntimeError on GET /api/logs")]
    assert "hunter2" not in str(rows)
