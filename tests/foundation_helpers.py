"""Shared assertions for the foundation tests."""

from __future__ import annotations


def assert_error(resp, status: int, code: str) -> dict:
    """The contract's error shape, and never FastAPI's default `{"detail": ...}` body."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert "detail" not in body, body
    assert body["success"] is False, body
    assert set(body) == {"success", "error"}, body
    err = body["error"]
    assert err["code"] == code, body
    assert isinstance(err["message"], str) and err["message"], body
    assert set(err) <= {"code", "message", "details"}, body
    return err
