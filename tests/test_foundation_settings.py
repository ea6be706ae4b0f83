"""GET/PUT/DELETE /api/settings against real Postgres: defaults, partial writes, secrets, all-or-nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from foundation_helpers import assert_error

# the handbook's references, beside the repo (../shared/reference)
CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "reference" / "frontend-contract.md"


def _rows(db) -> dict:
    return {r["key"]: r["value"] for r in db.execute("SELECT key, value FROM settings")}


def test_inventory_covers_every_key_named_in_the_contract():
    """Every `key` in backticks in contract §4.2-§4.3 is in the inventory (with the {a,b}X{c,d} shorthands
    expanded), so a save from the real frontend is never refused for an unknown key."""
    from shared.settings.inventory import DEFAULTS, SECRET_KEYS

    text = CONTRACT.read_text(encoding="utf-8")
    section = text[text.index("### 4.2 Keys to persist"):text.index("### 4.4")]
    names: set[str] = set()
    for token in re.findall(r"`([^`]+)`", section):
        m = re.fullmatch(r"\{([\w,|]+)\}(\w+)\{([\w,]+)\}", token)  # {today,weekly}Pinterest{Title,Board}
        if m:
            names |= {a + m.group(2) + b for a in re.split(r"[,|]", m.group(1)) for b in m.group(3).split(",")}
            continue
        m = re.fullmatch(r"\{([\w,]+)\}(\w+)", token)  # {x,threads}CommentBlacklist
        if m:
            names |= {a + m.group(2) for a in m.group(1).split(",")}
            continue
        m = re.fullmatch(r"(\w+)\{([\w,]+)\}(\w*)", token)  # designStudioPinterest{Title,Board}Prompt
        if m:
            names |= {m.group(1) + b + m.group(3) for b in m.group(2).split(",")}
            continue
        if re.fullmatch(r"[a-z][A-Za-z0-9_]+", token) and not token.startswith(("gpt", "tmdb_")):
            names.add(token)
    # words in backticks that are values or fields inside a setting, not keys
    not_keys = {"poster", "backdrop", "random", "standard", "serper", "google", "instant", "low", "youtube",
                "article", "tmdb", "platform", "logoPosition", "autoScale", "autoContrastBackdrop",
                "autoContrastOverlay", "active", "usernames", "keywords", "noEmojiOnly", "noLinks",
                "pauseOldPosts", "pauseAfterHours", "videoStudioPinterest", "designStudioPinterest",
                "video", "image", "videoStudio", "engaging"}
    assert len(names) > 200 and "designStudioPinterestBoardPrompt" in names and "xCommentBlacklist" in names
    missing = sorted(n for n in names - not_keys if n not in DEFAULTS
                     and not n.endswith("Pinterest") and n not in ("thumbnailConfig",))
    assert not missing, missing
    assert len(SECRET_KEYS) == 19
    # the {video,image,videoStudio} x {CleanupInterval,StorageRetention} family
    for a in ("video", "image", "videoStudio"):
        assert f"{a}CleanupInterval" in DEFAULTS and f"{a}StorageRetention" in DEFAULTS


def test_get_returns_every_key_with_defaults(client, auth, clean_state):
    from shared.settings.inventory import DEFAULTS

    r = client.get("/api/settings", headers=auth)
    assert r.status_code == 200
    data = r.json()["data"]
    assert data == DEFAULTS
    assert data["timezone"] == "Africa/Lagos" and data["dailyQuotaX"] == 50
    assert data["anniversaryPlatforms"] == {"x": True, "threads": False, "facebook": False, "youtube": False,
                                            "pinterest": False}
    assert data["platformSettings"]["youtube"]["defaultPrivacy"] == "private"


def test_put_is_partial_and_reports_changed_keys(client, auth, clean_state, db):
    r = client.put("/api/settings", headers=auth, json={"dailyQuotaX": 40, "rssCaptionTone": "Casual",
                                                        "timezone": "Africa/Lagos"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] == {"dailyQuotaX": 40, "rssCaptionTone": "Casual", "timezone": "Africa/Lagos"}
    assert body["meta"]["changedKeys"] == ["dailyQuotaX", "rssCaptionTone"]  # timezone equals its default
    assert body["meta"]["notificationTitle"] and "dailyQuotaX" in body["meta"]["notificationMessage"]
    assert _rows(db) == {"dailyQuotaX": 40, "rssCaptionTone": "Casual"}

    r = client.put("/api/settings", headers=auth, json={"quietHoursEnabled": False})
    got = client.get("/api/settings", headers=auth).json()["data"]
    assert got["dailyQuotaX"] == 40 and got["quietHoursEnabled"] is False and got["rssCaptionTone"] == "Casual"

    # writing the same value again changes nothing
    assert client.put("/api/settings", headers=auth, json={"dailyQuotaX": 40}).json()["meta"]["changedKeys"] == []
    # null resets one key to its default
    r = client.put("/api/settings", headers=auth, json={"dailyQuotaX": None})
    assert r.json()["data"] == {"dailyQuotaX": 50} and r.json()["meta"]["changedKeys"] == ["dailyQuotaX"]
    assert "dailyQuotaX" not in _rows(db)


def test_secrets_are_encrypted_masked_and_mask_echo_is_ignored(client, auth, clean_state, db):
    from shared.security.secretbox import get_secretbox

    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    r = client.put("/api/settings", headers=auth, json={"openaiKey": key, "tmdbKey": "short-key"})
    assert r.status_code == 200
    assert r.json()["data"] == {"openaiKey": "sk-p••••6789", "tmdbKey": "••••••••"}
    assert key not in r.text

    stored = _rows(db)["openaiKey"]
    assert set(stored) == {"$enc"} and key not in str(stored)
    assert get_secretbox().decrypt(stored["$enc"], aad="setting:openaiKey") == key
    # a blob copied to another key does not decrypt (aad binds it to its key)
    db.execute("UPDATE settings SET value = %s WHERE key = 'tmdbKey'", (_jsonb(stored),))
    got = client.get("/api/settings", headers=auth)
    assert got.json()["data"]["tmdbKey"] == "" and got.json()["meta"]["undecryptableKeys"] == ["tmdbKey"]

    data = got.json()["data"]
    assert data["openaiKey"] == "sk-p••••6789" and key not in got.text
    # the owner re-enters the unreadable secret: it is replaced
    r = client.put("/api/settings", headers=auth, json={"tmdbKey": "tmdb-new-key-0123456789"})
    assert r.status_code == 200 and r.json()["meta"]["changedKeys"] == ["tmdbKey"]
    assert client.get("/api/settings", headers=auth).json().get("meta") is None

    # the client echoes the whole object back with the mask: the real secret survives
    r = client.put("/api/settings", headers=auth,
                   json={"openaiKey": data["openaiKey"], "serperKey": "••••••••••••••••"})
    assert r.json()["meta"]["changedKeys"] == [] and r.json()["meta"]["ignoredMaskedKeys"] == ["openaiKey", "serperKey"]
    assert get_secretbox().decrypt(_rows(db)["openaiKey"]["$enc"], aad="setting:openaiKey") == key

    # an empty string clears a secret
    r = client.put("/api/settings", headers=auth, json={"openaiKey": ""})
    assert r.json()["meta"]["changedKeys"] == ["openaiKey"] and "openaiKey" not in _rows(db)

    # the activity log names keys, never values
    logs = db.execute("SELECT message, metadata::text AS m FROM activity_logs WHERE service = 'settings'").fetchall()
    assert logs and all(key not in r["m"] and "6789" not in r["m"] for r in logs)
    assert any("openaiKey" in r["m"] for r in logs)


def _jsonb(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def test_unknown_keys_write_nothing(client, auth, clean_state, db):
    client.put("/api/settings", headers=auth, json={"dailyQuotaX": 10})
    before = _rows(db)
    logs_before = db.execute("SELECT count(*) AS n FROM activity_logs").fetchone()["n"]
    r = client.put("/api/settings", headers=auth, json={"dailyQuotaX": 20, "openaiKey": "sk-new-secret-value-123",
                                                        "notASetting": 1, "alsoBogus": "x"})
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert err["details"]["unknownKeys"] == ["alsoBogus", "notASetting"]
    assert "notASetting" in err["message"]
    assert _rows(db) == before
    assert db.execute("SELECT count(*) AS n FROM activity_logs").fetchone()["n"] == logs_before


def test_wrong_types_write_nothing(client, auth, clean_state, db):
    cases = {"dailyQuotaX": "lots", "quietHoursEnabled": "yes", "anniversaryYears": "1,2",
             "todayPlatforms": [1], "openaiKey": 123, "rssCaptionPrompt": "x" * 100_001,
             "thumbnailConfig_x": "{not json"}
    for key, value in cases.items():
        r = client.put("/api/settings", headers=auth, json={"dailyQuotaThreads": 7, key: value})
        err = assert_error(r, 400, "VALIDATION_ERROR")
        assert list(err["details"]["invalidKeys"]) == [key], (key, err)
    assert _rows(db) == {}
    # loose where the frontend is loose: numbers as strings and strings as numbers
    r = client.put("/api/settings", headers=auth, json={"dailyQuotaX": "45", "rssPostingInterval": 15,
                                                        "thumbnailConfig_x": '{"logoPosition": "top-left"}'})
    assert r.status_code == 200, r.text


def test_body_must_be_an_object(client, auth, clean_state, db):
    assert_error(client.put("/api/settings", headers=auth, json=[{"dailyQuotaX": 1}]), 400, "VALIDATION_ERROR")
    assert_error(client.put("/api/settings", headers=auth, content=b'{"dailyQuotaX": 1',
                            ), 400, "VALIDATION_ERROR")
    assert _rows(db) == {}


def test_delete_resets_to_defaults(client, auth, clean_state, db):
    from shared.settings.inventory import DEFAULTS

    client.put("/api/settings", headers=auth, json={"dailyQuotaX": 10, "openaiKey": "sk-aaaaaaaaaaaaaaaaaaaa"})
    r = client.delete("/api/settings", headers=auth)
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["data"]["removedKeys"] == 2
    assert _rows(db) == {}
    assert client.get("/api/settings", headers=auth).json()["data"] == DEFAULTS


def test_read_settings_decrypts_for_server_side_use(client, auth, clean_state):
    from shared.settings.store import read_setting, read_settings

    client.put("/api/settings", headers=auth, json={"serperKey": "serper-secret-000111222", "dailyQuotaX": 3})
    assert read_setting("serperKey") == "serper-secret-000111222"
    s = read_settings(["dailyQuotaX", "todayPlatforms"])
    assert s == {"dailyQuotaX": 3, "todayPlatforms": {"x": True, "threads": True, "facebook": False,
                                                      "youtube": False, "pinterest": False}}
    s["todayPlatforms"]["x"] = False  # callers get copies, never the inventory itself
    assert read_settings(["todayPlatforms"])["todayPlatforms"]["x"] is True


def test_a_secret_is_never_stored_in_clear_when_no_key_is_configured(client, auth, clean_state, db, monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("ENCRYPTION_KEYS", "")
    get_config.cache_clear()
    try:
        r = client.put("/api/settings", headers=auth, json={"dailyQuotaX": 9, "openaiKey": "sk-clear-text-000000"})
    finally:
        monkeypatch.undo()
        get_config.cache_clear()
    err = assert_error(r, 500, "API_ERROR")
    assert "ENCRYPTION_KEYS" in err["message"]
    assert _rows(db) == {}  # the whole patch rolled back, the plain value too


def test_a_change_of_json_type_is_a_change(client, auth, clean_state, db):
    client.put("/api/settings", headers=auth, json={"videoAgeGateHours": 1})
    r = client.put("/api/settings", headers=auth, json={"videoAgeGateHours": True, "rssDailyLimit": "1"})
    assert r.status_code == 400  # videoAgeGateHours is a scalar: true is refused outright
    r = client.put("/api/settings", headers=auth, json={"videoBacklogMode": 1})
    r = client.put("/api/settings", headers=auth, json={"videoBacklogMode": True})
    assert r.json()["meta"]["changedKeys"] == ["videoBacklogMode"] and _rows(db)["videoBacklogMode"] is True
    r = client.put("/api/settings", headers=auth, json={"dailyQuotaX": 50.0})  # the default is the int 50
    assert r.json()["meta"]["changedKeys"] == [] and "dailyQuotaX" not in _rows(db)


@pytest.mark.parametrize("value", ["CEST", "IST", "Mars/Olympus_Mons", "../../etc/passwd", "", 5])
def test_a_timezone_that_is_no_iana_zone_is_refused(client, auth, clean_state, db, value):
    """Python (zoneinfo: comment caps, RSS slots) and Postgres (the dashboard's day) must read the owner's day
    alike: only a zone name both know is stored."""
    r = client.put("/api/settings", headers=auth, json={"timezone": value})
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert list(err["details"]["invalidKeys"]) == ["timezone"]
    assert _rows(db) == {}
    ok = client.put("/api/settings", headers=auth, json={"timezone": "Europe/Paris"})
    assert ok.status_code == 200 and ok.json()["data"]["timezone"] == "Europe/Paris"
