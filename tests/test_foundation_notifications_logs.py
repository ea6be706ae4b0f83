"""/api/notifications and /api/logs: shapes, ordering, filters, and that each poll is one indexed query."""

from __future__ import annotations

from foundation_helpers import assert_error


def test_notification_lifecycle(client, auth, clean_state, db):
    r = client.post("/api/notifications", headers=auth, json={"title": "Render done", "message": "3 clips",
                                                               "type": "success", "source": "video_studio",
                                                               "actionPage": "video-studio"})
    assert r.status_code == 201, r.text
    created = r.json()["data"]
    assert created["source"] == "videostudio" and created["read"] is False
    assert set(created) == {"id", "type", "title", "message", "timestamp", "createdAt", "read", "source",
                            "actionPage"}
    assert created["timestamp"] == created["createdAt"] and created["timestamp"].endswith("Z")

    from shared import activity

    second = activity.notify("info", "Feed added", "Variety", source="rss")
    items = client.get("/api/notifications", headers=auth).json()["data"]
    assert [n["id"] for n in items] == [second, created["id"]]  # newest first

    r = client.put(f"/api/notifications/{created['id']}", headers=auth, json={"read": True})
    assert r.status_code == 200 and r.json()["data"]["read"] is True
    r = client.post("/api/notifications/mark-all-read", headers=auth)
    assert r.status_code == 200 and r.json() == {"success": True, "data": {"updated": 1}}
    assert all(n["read"] for n in client.get("/api/notifications", headers=auth).json()["data"])

    assert client.delete(f"/api/notifications/{created['id']}", headers=auth).json()["data"] == {"deleted": True}
    assert_error(client.delete(f"/api/notifications/{created['id']}", headers=auth), 404, "NOT_FOUND")
    assert_error(client.put("/api/notifications/local-123", headers=auth, json={"read": True}), 404, "NOT_FOUND")
    assert client.delete("/api/notifications", headers=auth).json()["data"] == {"deleted": 1}
    assert client.get("/api/notifications", headers=auth).json()["data"] == []


def test_notification_limit_and_validation(client, auth, clean_state, db):
    db.execute("INSERT INTO notifications (type, title, created_at) "
               "SELECT 'info', 'n' || g, now() - g * interval '1 minute' FROM generate_series(1, 80) g")
    assert len(client.get("/api/notifications", headers=auth).json()["data"]) == 50
    items = client.get("/api/notifications?limit=5", headers=auth).json()["data"]
    assert [n["title"] for n in items] == ["n1", "n2", "n3", "n4", "n5"]
    assert_error(client.get("/api/notifications?limit=0", headers=auth), 400, "VALIDATION_ERROR")
    assert_error(client.get("/api/notifications?limit=abc", headers=auth), 400, "VALIDATION_ERROR")
    assert_error(client.post("/api/notifications", headers=auth, json={"title": "x", "type": "party"}),
                 400, "VALIDATION_ERROR")
    assert_error(client.post("/api/notifications", headers=auth, json={"message": "no title"}), 400,
                 "VALIDATION_ERROR")
    assert db.execute("SELECT count(*) AS n FROM notifications").fetchone()["n"] == 80


def test_logs_filters_and_shape(client, auth, clean_state):
    from shared import activity

    activity.log("rss", "info", "fetched Variety", {"items": 3})
    activity.log("rss", "error", "Deadline timed out", {"apiKey": "sk-should-not-appear"})
    activity.log("tmdb", "warn", "quota low")
    data = client.get("/api/logs", headers=auth).json()["data"]
    assert [d["message"] for d in data] == ["quota low", "Deadline timed out", "fetched Variety"]
    assert set(data[0]) == {"id", "timestamp", "level", "message", "service", "metadata"}
    assert data[1]["metadata"] == {"apiKey": "[redacted]"}
    assert [d["message"] for d in client.get("/api/logs?service=rss", headers=auth).json()["data"]] == [
        "Deadline timed out", "fetched Variety"]
    assert [d["message"] for d in client.get("/api/logs?service=rss&level=error", headers=auth).json()["data"]] == [
        "Deadline timed out"]
    assert [d["message"] for d in client.get("/api/logs?level=warning", headers=auth).json()["data"]] == ["quota low"]
    assert len(client.get("/api/logs?limit=1&service=&level=", headers=auth).json()["data"]) == 1
    assert_error(client.get("/api/logs?level=loud", headers=auth), 400, "VALIDATION_ERROR")
    assert_error(client.get("/api/logs?limit=100000", headers=auth), 400, "VALIDATION_ERROR")


def _plan(db, sql: str, params: tuple) -> str:
    rows = db.execute("EXPLAIN " + sql, params).fetchall()
    return "\n".join(r["QUERY PLAN"] for r in rows)


def test_polled_queries_use_their_index_with_10k_rows(clean_state, db):
    from shared.services.logs import logs_query

    db.execute("INSERT INTO activity_logs (service, level, message, created_at) "
               "SELECT (ARRAY['rss','tmdb','media','auth'])[1 + g % 4], "
               "(ARRAY['debug','info','warn','error'])[1 + g % 4],"
               " 'row ' || g, now() - g * interval '1 second' FROM generate_series(1, 10000) g")
    db.execute("INSERT INTO notifications (type, title, created_at) "
               "SELECT 'info', 'n' || g, now() - g * interval '1 second' FROM generate_series(1, 10000) g")
    db.execute("ANALYZE activity_logs")
    db.execute("ANALYZE notifications")

    plan = _plan(db, *logs_query(50, None, None))
    assert "Index Scan using activity_logs_created_idx" in plan and "Sort" not in plan, plan
    plan = _plan(db, *logs_query(50, "rss", None))
    assert "activity_logs_service_idx" in plan and "Sort" not in plan, plan
    plan = _plan(db, *logs_query(50, None, "error"))
    assert "activity_logs_level_idx" in plan and "Sort" not in plan, plan
    plan = _plan(db, "SELECT id FROM notifications ORDER BY created_at DESC LIMIT %s", (50,))
    assert "Index Scan using notifications_created_idx" in plan and "Sort" not in plan, plan


def test_notify_helper_normalises_the_source(clean_state, db):
    from shared import activity

    nid = activity.notify("success", "Rendered", source="Video_Studio ")
    assert db.execute("SELECT source FROM notifications WHERE id = %s", (nid,)).fetchone()["source"] == "videostudio"
