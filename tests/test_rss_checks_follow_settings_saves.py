"""The feed checks (shared/rss/timing.py probe) never wake Postgres: they judge whether a new item would be posted
now with a copy of a few settings kept in Redis. A settings save refreshes that copy at once; before, the checks
went on with the old quiet hours or time zone until the next rebuild or housekeeping (up to 6 hours), and a fresh
Redis judged with the defaults (quiet hours 00-07 in Africa/Lagos: the RSS end-to-end test failed at night)."""

import json
from datetime import datetime, timezone

from owner_time import owner_zone_at_midday


def _copy(redis_raw) -> dict | None:
    from shared.rss.timing import SETTINGS_META
    from shared.scheduling.dispatch import META_KEY

    raw = redis_raw.hget(META_KEY, SETTINGS_META)
    return json.loads(raw) if raw else None


def test_a_save_refreshes_the_copy_the_checks_judge_with(client, auth, clean_state, redis_raw):
    from shared.rss.timing import _quiet

    tz = owner_zone_at_midday()
    hour = datetime.now(tz).hour
    now = datetime.now(timezone.utc)
    r = client.put("/api/settings", headers=auth, json={
        "timezone": tz.key, "quietHoursEnabled": True, "quietHoursStart": hour, "quietHoursEnd": (hour + 2) % 24})
    assert r.status_code == 200, r.text
    copy = _copy(redis_raw)
    assert copy is not None and copy["timezone"] == tz.key and copy["quietHoursStart"] == hour
    assert _quiet(now, copy)  # it is quiet now in the owner's zone

    assert client.put("/api/settings", headers=auth, json={"quietHoursEnabled": False}).status_code == 200
    copy = _copy(redis_raw)
    assert copy["quietHoursEnabled"] is False and copy["timezone"] == tz.key
    assert not _quiet(now, copy)

    assert client.put("/api/settings", headers=auth, json={"rssUrgentProcessing": False}).status_code == 200
    assert _copy(redis_raw)["rssUrgentProcessing"] is False


def test_a_save_of_other_keys_sends_nothing_to_the_copy(client, auth, clean_state, redis_raw):
    assert client.put("/api/settings", headers=auth, json={"dailyQuotaX": 7}).status_code == 200
    assert _copy(redis_raw) is None


def test_the_save_hook_follows_every_key_the_checks_read():
    from shared.rss.timing import SETTING_KEYS
    from shared.settings.service import CHANGE_HOOKS

    assert set(CHANGE_HOOKS["shared.rss.timing:on_settings_changed"]) == set(SETTING_KEYS)
