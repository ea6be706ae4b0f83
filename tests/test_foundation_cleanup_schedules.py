"""The daily cleanup (registry + route) and the QStash schedule sync, against the QStash emulator."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from foundation_helpers import assert_error


def _seed(db):
    db.execute("INSERT INTO activity_logs (service, level, message, created_at) VALUES "
               "('rss', 'info', 'old', now() - interval '200 hours'), "
               "('rss', 'info', 'fresh', now() - interval '1 hour')")
    db.execute("INSERT INTO notifications (type, title, read, created_at) VALUES "
               "('info', 'old read', true, now() - interval '200 hours'),"
               "('info', 'old unread', false, now() - interval '200 hours'),"
               "('info', 'ancient unread', false, now() - interval '800 hours'),"
               "('info', 'new read', true, now() - interval '1 hour')")


def _left(db):
    logs = sorted(r["message"] for r in db.execute("SELECT message FROM activity_logs WHERE service = 'rss'"))
    notes = sorted(r["title"] for r in db.execute("SELECT title FROM notifications"))
    return logs, notes


def test_cleanup_prunes_by_retention_settings(client, auth, clean_state, db):
    from shared.maintenance.cleanup import registered_steps, run_cleanup

    _seed(db)
    result = run_cleanup()
    assert result["steps"]["foundation.logs"]["deleted"] == 1
    assert result["steps"]["foundation.notifications"] == {**result["steps"]["foundation.notifications"],
                                                           "status": "ok", "readDeleted": 1, "unreadDeleted": 1}
    assert _left(db) == (["fresh"], ["new read", "old unread"])
    summary = db.execute("SELECT level, message FROM activity_logs WHERE service = 'cleanup'").fetchall()
    assert summary[-1]["level"] == "info" and f"{len(registered_steps())} step(s) ok" in summary[-1]["message"]


def test_cleanup_honours_owner_settings(client, auth, clean_state, db):
    from shared.maintenance.cleanup import run_cleanup

    _seed(db)
    client.put("/api/settings", headers=auth, json={"cleanupEnabled": False})
    assert run_cleanup()["skipped"]
    assert _left(db) == (["fresh", "old"], ["ancient unread", "new read", "old read", "old unread"])

    client.put("/api/settings", headers=auth, json={"cleanupEnabled": True, "logsRetention": "300",
                                                    "notificationRetention": 0})
    run_cleanup()  # logs kept 300 h; read notifications kept forever (0)
    assert _left(db) == (["fresh", "old"], ["new read", "old read", "old unread"])


def test_a_failing_step_does_not_stop_the_others(clean_state, db, monkeypatch):
    from shared.maintenance import cleanup

    def boom(ctx):
        raise RuntimeError("bucket unreachable")

    monkeypatch.setitem(cleanup._STEPS, "test.boom", cleanup.CleanupStep("test.boom", boom))
    monkeypatch.setitem(cleanup._STEPS, "test.weekly", cleanup.CleanupStep(
        "test.weekly", lambda ctx: {"ran": True}, interval_setting="videoCleanupInterval"))
    _seed(db)
    monday = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    from shared.settings.store import upsert

    upsert(db, "videoCleanupInterval", "weekly")
    result = cleanup.run_cleanup(now=monday)
    boom = result["steps"]["test.boom"]
    assert boom["status"] == "error" and "bucket unreachable" in boom["error"]
    assert result["steps"]["test.weekly"]["status"] == "not_due"
    assert result["steps"]["foundation.logs"]["status"] == "ok"
    weekly = cleanup.run_cleanup(now=monday + timedelta(days=6))["steps"]["test.weekly"]
    assert weekly["status"] == "ok" and weekly["ran"] is True
    row = db.execute("SELECT metadata FROM activity_logs WHERE message = 'Cleanup step test.boom failed' "
                     "LIMIT 1").fetchone()
    assert "bucket unreachable" in row["metadata"]["error"]


@pytest.mark.parametrize("interval,day,due", [
    ("daily", date(2026, 11, 30), True), ("weekly", date(2026, 11, 29), True), ("weekly", date(2026, 11, 30), False),
    ("monthly", date(2026, 12, 1), True), ("monthly", date(2026, 12, 2), False), ("never", date(2026, 12, 1), False),
    (None, date(2026, 12, 2), True), ("fortnightly", date(2026, 12, 2), True),
])
def test_is_due(interval, day, due):
    from shared.maintenance.cleanup import is_due

    assert is_due(interval, day) is due


# --- QStash schedules ------------------------------------------------------------------------------

def _ours(backing) -> dict:
    from shared.messaging.schedules import ID_PREFIX

    return {sid: (s.destination, s.cron, s.body, s.retries)
            for sid, s in backing.emulator.state.schedules.items() if sid.startswith(ID_PREFIX)}


def test_sync_is_idempotent_and_deletes_retired_schedules(backing):
    from shared.messaging import schedules

    extra = schedules.Schedule("rss-tick-test", "/api/internal/rss/tick", "*/5 * * * *", {"kind": "tick"})
    first = schedules.sync([*schedules.SCHEDULES, extra])
    state1 = _ours(backing)
    assert "screndly-cleanup" in state1 and "screndly-rss-tick-test" in state1
    assert state1["screndly-cleanup"][1] == "0 3 * * *"
    assert state1["screndly-cleanup"][0].endswith("/api/internal/cleanup")

    second = schedules.sync([*schedules.SCHEDULES, extra])
    assert _ours(backing) == state1
    assert second.created == [] and second.updated == [] and second.deleted == []
    assert set(second.unchanged) == set(first.created + first.updated + first.unchanged)

    # change a cron: updated in place, same id
    changed = schedules.Schedule("rss-tick-test", "/api/internal/rss/tick", "*/10 * * * *", {"kind": "tick"})
    assert schedules.sync([*schedules.SCHEDULES, changed]).updated == ["screndly-rss-tick-test"]
    assert _ours(backing)["screndly-rss-tick-test"][1] == "*/10 * * * *"

    # retired from the list: deleted; schedules without our prefix are left alone
    backing.emulator.state.schedules.pop("someone-else", None)
    from shared.messaging.schedules import _client

    _client().schedule.create(destination="https://example.org/x", cron="0 0 * * *", schedule_id="someone-else")
    third = schedules.sync()
    assert third.deleted == ["screndly-rss-tick-test"]
    assert "screndly-rss-tick-test" not in _ours(backing) and "someone-else" in backing.emulator.state.schedules
    backing.emulator.state.schedules.pop("someone-else")


def test_sync_refuses_bad_schedules():
    from shared.messaging.schedules import Schedule, validate

    with pytest.raises(ValueError, match="invalid cron"):
        validate([Schedule("x", "/api/internal/x", "every day")])
    with pytest.raises(ValueError, match="/api/internal/"):
        validate([Schedule("x", "/api/settings", "0 3 * * *")])
    with pytest.raises(ValueError, match="twice"):
        validate([Schedule("x", "/api/internal/x", "0 3 * * *"), Schedule("x", "/api/internal/y", "0 4 * * *")])
    validate([Schedule("tz", "/api/internal/x", "CRON_TZ=Africa/Lagos 0 9 * * *")])


def test_sync_command_prints_a_report(backing, capsys):
    from shared.messaging.schedules import main

    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "screndly-cleanup" in out and "schedules:" in out


def _wait_delivery(backing, message_id: str, timeout: float = 8.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        hits = [d for d in backing.emulator.state.deliveries if d.get("messageId") == message_id and "status" in d]
        if hits:
            return hits[-1]
        time.sleep(0.05)
    raise AssertionError(f"no delivery of {message_id}")


def test_triggered_cleanup_schedule_reaches_the_live_api_signed(backing, live_api, clean_state, db):
    from shared.messaging import schedules

    schedules.sync()
    _seed(db)
    r = httpx.post(backing.env["QSTASH_URL"] + "/_emulator/schedules/screndly-cleanup/trigger")
    assert r.status_code == 200
    delivery = _wait_delivery(backing, r.json()["messageId"])
    assert delivery["status"] == 200
    assert _left(db) == (["fresh"], ["new read", "old unread"])


def _signed(backing, path: str, body: bytes, **kw) -> dict[str, str]:
    from shared.local.qstash_emulator import sign

    url = kw.pop("url", backing.env["PUBLIC_BASE_URL"] + path)
    key = kw.pop("key", backing.env["QSTASH_CURRENT_SIGNING_KEY"])
    return {"Upstash-Signature": sign(body, url, key, **kw), "Upstash-Message-Id": "msg_test_1",
            "Content-Type": "application/json"}


def test_redelivered_message_runs_once(backing, client, clean_state, db):
    body = b"{}"
    headers = _signed(backing, "/api/internal/cleanup", body)
    headers["Upstash-Message-Id"] = "msg_dup_1"
    first = client.post("/api/internal/cleanup", content=body, headers=headers)
    assert first.status_code == 200 and "steps" in first.json()["data"]
    _seed(db)
    # QStash signs every delivery attempt anew; the message id is what repeats
    again = {**_signed(backing, "/api/internal/cleanup", body), "Upstash-Message-Id": "msg_dup_1"}
    second = client.post("/api/internal/cleanup", content=body, headers=again)
    assert second.json()["data"] == {"duplicate": True, "messageId": "msg_dup_1"}
    assert _left(db)[0] == ["fresh", "old"]  # the duplicate did not prune


def test_next_signing_key_is_accepted(backing, client, clean_state):
    body = b"{}"
    headers = _signed(backing, "/api/internal/cleanup", body, key=backing.env["QSTASH_NEXT_SIGNING_KEY"])
    headers["Upstash-Message-Id"] = "msg_next_key"
    assert client.post("/api/internal/cleanup", content=body, headers=headers).status_code == 200


@pytest.mark.parametrize("case", ["absent", "forged", "expired", "wrong-url", "tampered-body", "garbage"])
def test_bad_signatures_are_refused_and_nothing_runs(backing, client, clean_state, db, case):
    _seed(db)
    body = b'{"x":1}'
    path = "/api/internal/cleanup"
    headers = {"Content-Type": "application/json", "Upstash-Message-Id": f"msg_bad_{case}"}
    if case == "forged":
        headers.update(_signed(backing, path, body, key="sig_" + "f" * 40))
    elif case == "expired":
        headers.update(_signed(backing, path, body, ttl=-5))
    elif case == "wrong-url":
        headers.update(_signed(backing, path, body, url="https://attacker.example" + path))
    elif case == "tampered-body":
        headers.update(_signed(backing, path, b'{"x":2}'))
    elif case == "garbage":
        headers["Upstash-Signature"] = "not.a.jwt"
    headers["Upstash-Message-Id"] = f"msg_bad_{case}"
    r = client.post(path, content=body, headers=headers)
    assert_error(r, 401, "UNAUTHORIZED")
    assert _left(db) == (["fresh", "old"], ["ancient unread", "new read", "old read", "old unread"])
    assert db.execute("SELECT count(*) AS n FROM activity_logs WHERE service = 'cleanup'").fetchone()["n"] == 0
