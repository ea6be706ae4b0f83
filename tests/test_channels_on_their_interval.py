"""YouTube channels are checked on their own interval by the dispatcher (the local YouTube stand-in on a real
port, real Redis and Postgres): a check that finds no new upload never touches the database, a new upload is
recorded in the same tick, an added channel is checked at once, a deleted one no longer."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from budget_helpers import no_database
from rss_helpers import set_settings
from youtube_support import StandInClock, pointed_at

from shared import clock
from shared.local import youtube
from shared.scheduling import dispatch


@pytest.fixture(scope="module")
def standin():
    at = StandInClock(datetime(2026, 3, 1, 13, 0, tzinfo=timezone.utc))  # the newest upload is an hour old
    server, yt = youtube.start(clock=at)
    yield yt, at
    server.stop()


@pytest.fixture
def youtube_base(standin, monkeypatch):
    # these tests drive the ticks themselves (pointed_at sends no QStash wake-up a live API would run a tick for)
    with pointed_at(standin[0], monkeypatch):
        yield standin


@pytest.fixture
def at_clock():
    yield lambda t: clock.set_offset(t - time.time())
    clock.set_offset(None)


def _recorded(cid: str) -> set[str]:
    from shared.db import connection

    with connection() as conn:
        return {r["video_id"] for r in conn.execute(
            "SELECT v.video_id FROM yt_videos v JOIN yt_channels c ON c.id = v.channel_ref WHERE c.id = %s",
            (cid,)).fetchall()}


def test_a_channel_is_checked_on_its_interval_and_only_a_new_upload_wakes_the_database(
        client, auth, clean_state, youtube_base, at_clock, monkeypatch):
    from shared.channels.timing import STATE_KEY
    from shared.redis_client import get_redis

    yt, standin_now = youtube_base
    set_settings(advancedFilters="trailer, official, teaser", excludeShorts=True, regionFilter="")
    created = client.post("/api/channels", headers=auth, json={"channelId": "@ParamountPics", "interval": 10})
    assert created.status_code == 201, created.text
    cid = created.json()["data"]["id"]
    assert f"channels.process|{cid}" in dispatch.pending()  # a new channel is checked at once
    assert get_redis().hget(STATE_KEY, cid)

    first = dispatch.tick()  # the first check records what exists (nothing announced: it is all old)
    assert first["channels.processed"] == 1
    seen = _recorded(cid)
    assert len(seen) == youtube.FEED_SIZE
    due = dispatch.pending()[f"channels.probe|{cid}"]
    assert due % 600 == 0  # on the channel's 10-minute grid
    dispatch.arm([("rss.housekeeping", "all", due + 7200), ("usage.housekeeping", "all", due + 7200)], wake=False)

    with monkeypatch.context() as m:  # nothing uploaded: the check never reaches Postgres
        no_database(m)
        at_clock(due + 5)
        quiet = dispatch.tick()
    assert quiet["channels.unchanged"] == 1 and quiet["window"] is False
    assert dispatch.pending()[f"channels.probe|{cid}"] == due + 600

    standin_now.now += timedelta(hours=3)  # the channel uploads one video
    at_clock(due + 605)
    found = dispatch.tick()
    assert found["channels.uploads"] == 1 and found["window"] is True and found["channels.processed"] == 1
    new = _recorded(cid) - seen
    assert new == {youtube.uploads(youtube.channel_id_for("@ParamountPics"), standin_now.now, yt.every)[0][0]}

    with monkeypatch.context() as m:  # recorded: the next check is quiet again
        no_database(m)
        at_clock(due + 1205)
        assert dispatch.tick()["channels.unchanged"] == 1

    assert client.delete(f"/api/channels/{cid}", headers=auth).status_code in (200, 204)
    assert f"channels.probe|{cid}" not in dispatch.pending() and not get_redis().hget(STATE_KEY, cid)


def test_a_paused_channel_leaves_the_checks_and_a_resumed_one_is_checked_again(client, auth, clean_state,
                                                                                youtube_base):
    from shared.channels.timing import STATE_KEY
    from shared.redis_client import get_redis

    cid = client.post("/api/channels", headers=auth, json={"channelId": "@A24", "interval": 15}).json()["data"]["id"]
    dispatch.tick()
    assert f"channels.probe|{cid}" in dispatch.pending()
    assert client.patch(f"/api/channels/{cid}", headers=auth, json={"status": "inactive"}).status_code == 200
    assert f"channels.probe|{cid}" not in dispatch.pending() and not get_redis().hget(STATE_KEY, cid)
    assert client.patch(f"/api/channels/{cid}", headers=auth, json={"status": "active"}).status_code == 200
    assert f"channels.probe|{cid}" in dispatch.pending() and get_redis().hget(STATE_KEY, cid)


def test_a_lost_copy_is_rebuilt_in_the_housekeeping_window(client, auth, clean_state, youtube_base):
    from shared.channels.timing import STATE_KEY
    from shared.redis_client import get_redis

    cid = client.post("/api/channels", headers=auth, json={"channelId": "@NeonRated", "interval": 10}).json()[
        "data"]["id"]
    dispatch.tick()
    get_redis().hdel(STATE_KEY, cid)
    dispatch.disarm("channels.probe", [cid])
    dispatch.arm([("rss.housekeeping", "all", clock.time())], wake=False)
    report = dispatch.tick()
    assert report["channels.mirrored"] == 1
    assert get_redis().hget(STATE_KEY, cid) and f"channels.probe|{cid}" in dispatch.pending()


def test_editing_a_failing_channel_keeps_its_back_off(client, auth, clean_state, youtube_base):
    from shared.db import connection

    cid = client.post("/api/channels", headers=auth, json={"channelId": "@FocusFeatures", "interval": 10}).json()[
        "data"]["id"]
    dispatch.tick()  # seeded
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    with connection() as conn:  # three failed checks: the next one waits two hours
        conn.execute("UPDATE yt_channels SET consecutive_failures = 3, next_run_at = %s WHERE id = %s", (later, cid))
    assert client.patch(f"/api/channels/{cid}", headers=auth, json={"name": "Focus"}).status_code == 200
    assert dispatch.pending()[f"channels.probe|{cid}"] == pytest.approx(later.timestamp())


def test_a_failing_check_backs_off_without_the_database_and_its_window_records_it(client, auth, clean_state,
                                                                                youtube_base, at_clock):
    """YouTube's feed answering 503: the probe (Redis only) counts the failure, waits longer than the grid, and
    arms one database check in the next window, which records the failure; once the feed answers again the
    channel is back on its grid with its failures forgotten."""
    import json

    from budget_helpers import no_database

    from shared.channels.timing import STATE_KEY
    from shared.db import connection
    from shared.redis_client import get_redis
    from shared.rss.backoff import retry_delay

    yt, _ = youtube_base
    cid = client.post("/api/channels", headers=auth, json={"channelId": "@NeonRated", "interval": 10}).json()[
        "data"]["id"]
    dispatch.tick()  # seeded
    due = dispatch.pending()[f"channels.probe|{cid}"]
    dispatch.arm([("rss.housekeeping", "all", due + 7200), ("usage.housekeeping", "all", due + 7200)], wake=False)
    yt.feed_failure = 503
    try:
        with pytest.MonkeyPatch.context() as m:
            no_database(m)
            at_clock(due + 5)
            failed = dispatch.tick()
        assert failed["channels.check_failed"] == 1 and failed["window"] is False
        assert json.loads(get_redis().hget(STATE_KEY, cid))["x"] == 1
        retry_at = dispatch.pending()[f"channels.probe|{cid}"]
        assert retry_at >= max(due + 600, due + 5 + retry_delay(1).total_seconds())  # never sooner than either
        window_at = dispatch.pending()[f"channels.process|{cid}"]
        assert due + 5 <= window_at <= due + 5 + 3600

        at_clock(window_at + 1)  # the window: the channel's own check records the failure
        assert dispatch.tick()["channels.processed"] == 1
        with connection() as conn:
            row = conn.execute("SELECT consecutive_failures, next_run_at FROM yt_channels WHERE id = %s",
                               (cid,)).fetchone()
        assert row["consecutive_failures"] >= 1
        assert dispatch.pending()[f"channels.probe|{cid}"] >= row["next_run_at"].timestamp() - 1  # kept
    finally:
        yt.feed_failure = None
    at_clock(dispatch.pending()[f"channels.probe|{cid}"] + 1)
    back = dispatch.tick()
    assert back.get("channels.check_failed") is None and back["channels.checked"] == 1
    assert json.loads(get_redis().hget(STATE_KEY, cid))["x"] == 0
