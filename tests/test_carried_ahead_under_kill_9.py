"""RSS planned posts and TMDb posts carried ahead (shared/publishing/staging/ahead.py) never twice and never lost,
with real processes: 8 RSS items and 6 TMDb posts (X, Facebook or both: 18 posts; one of each beyond the staging
horizon) carried by several OS processes at once, SIGKILLed right after `gateway.prepare` created the publication,
after the stage, inside the hand-over transaction (before its commit) and after it (before the dispatcher item is
disarmed), with deliveries run next to them (what a carry still in flight meets at the slot); then, at the slot,
the deliveries of every item still armed racing the staged sends, SIGKILLed after the gateway answered a delivery
and after a send's claim; then the write-back, the engine's maintenance and the safety nets
(tests/publishing_mp/carried_harness.py, carried_worker.py).
Every post must be on its platform once, under one publication per key, and every RSS and TMDb row must end
agreeing with that publication."""

from __future__ import annotations

import pytest
from publishing_mp.carried_harness import CARRY_POINTS, Config, run


@pytest.mark.long
def test_posts_carried_ahead_under_kill_9_are_posted_once_and_their_rows_agree(backing, clean_state, monkeypatch):
    from shared.scheduling import dispatch

    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)  # the harness drives every step itself
    report = run(Config(), backing.redis_url)
    print("\n" + report.table())
    assert report.errors == [], report.errors[:3]
    assert report.duplicates == {}, report.duplicates
    assert report.losses == [], report.losses
    assert {k: n for k, n in report.keys.items() if n > 1} == {}  # at most one publication per key
    assert set(report.keys) == {key for key, _ in report.expected}  # and exactly the ones the posts name
    assert report.disagreements == [], report.disagreements
    assert report.stages_left == 0
    # the run went through what it claims: a kill at every chosen point of the carry and in the delivery,
    # posts carried and handed over, stale deliveries finding them
    assert all(report.kills[p] >= 1 for p in (*CARRY_POINTS, "delivery_after_publish")), report.kills
    assert report.counters["verdicts"].get("published", 0) > 0, report.counters
    assert report.handed_over > 0, report.table()
    assert sum(report.counters["early"].values()) > 0, report.counters  # deliveries ran next to the carriers
