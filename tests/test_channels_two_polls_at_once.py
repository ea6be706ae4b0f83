"""Two polls of a new channel at once (the dispatcher's `channels.process` armed by the POST, and a due poll):
the one that waited for the other's lock reads the channel again, so it knows the first check has seeded it and
evaluates the uploads since as new. Before, it checked with the row it read before the lock: every upload since
was recorded "seen on first check" and never evaluated (a missed trailer; found as a flaky contract walk)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from youtube_standin import youtube_at


def test_a_poll_that_waited_for_the_first_check_evaluates_what_came_since(client, auth, clean_state, monkeypatch):
    from shared.channels import poller
    from shared.scheduling import dispatch

    # the POST arms `channels.process` now: no QStash wake-up, or a background tick (the API serves deliveries in
    # this process) could poll the channel between the two polls this test orders
    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)
    with youtube_at(monkeypatch, datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)) as clock:
        r = client.post("/api/channels", headers=auth, json={"name": "", "channelId": "@NetflixUS"})
        assert r.status_code == 201, r.text
        cid = r.json()["data"]["id"]
        real_acquire, other_ran, calls = poller.locks.acquire, [], []

        def acquire_after_another_poll(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:  # another poll took the lock first, made the first check, and a day of uploads passed
                other_ran.append(asyncio.run(poller.poll_due_channels(ids=[cid])))
                clock.now += timedelta(days=1)
            return real_acquire(*args, **kwargs)

        monkeypatch.setattr(poller.locks, "acquire", acquire_after_another_poll)
        out = asyncio.run(poller.poll_due_channels(ids=[cid]))
        assert other_ran and other_ran[0]["detections"] == 0  # the first check only remembers what exists
        assert out["checked"] == 1 and out["detections"] > 0, out
        found = client.get("/api/channels/activity", headers=auth).json()["data"]
        assert found, "a day of uploads brings detections"
