"""Ledger dedupe: rule 10 as a pure decision, and two refreshes run by separate OS processes at the same moment
that add every title once (the unique cycle key, not a read-then-write)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rss_helpers import set_settings
from tmdb_support import early_morning_zone, start_fake, tmdb_config

from shared.tmdb.ledger import Past, recent_block

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 5, 20, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("module, history, window, blocked", [
    ("today", [], 30, False),
    ("today", [Past("weekly", "scheduled", NOW - timedelta(days=3))], 30, True),
    ("today", [Past("weekly", "published", NOW - timedelta(days=31))], 30, False),
    ("today", [Past("weekly", "deleted", NOW - timedelta(days=1))], 30, False),  # deleted: never posted
    ("today", [Past("weekly", "failed", NOW - timedelta(days=1))], 30, False),
    ("today", [Past("today", "claimed", NOW - timedelta(minutes=1))], 30, True),  # a refresh in flight
    ("weekly", [Past("monthly", "published", NOW - timedelta(days=2))], 0, False),  # window 0: no rule
    ("anniversary", [Past("today", "published", NOW - timedelta(days=45))], 30, True),  # 60-day block
    ("anniversary", [Past("today", "published", NOW - timedelta(days=61))], 30, False),
    ("anniversary", [Past("anniversary", "published", NOW - timedelta(days=45))], 30, False),
])
def test_rule_10(module, history, window, blocked):
    assert (recent_block(module, history, NOW, window) is not None) is blocked


_REFRESH = r"""
import json, sys, time
sys.path.insert(0, {root!r})
start = {start!r}
from shared.tmdb import service
while time.time() < start:
    time.sleep(0.002)
report = service.refresh({{"todayAutoPost": True, "weeklyAutoPost": True, "monthlyAutoPost": True,
                          "anniversaryAutoPost": True}}, trigger="test")
print(json.dumps({{"added": report.added, "errors": report.errors}}))
"""


def test_two_overlapping_refreshes_in_separate_processes_add_each_title_once(backing, live_api, clean_state):
    from shared.db import connection
    from shared.local.tmdb_fake import FAKE_KEY

    tz = early_morning_zone()
    _fake, server = start_fake(datetime.now(tz).date())
    try:
        with tmdb_config(server.url):
            set_settings(timezone=tz.key, tmdbKey=FAKE_KEY)
            sent_before = backing.emulator.state.published_count
            code = _REFRESH.format(root=str(ROOT), start=time.time() + 2.0)
            ps = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=dict(os.environ)) for _ in range(2)]
            results = []
            for p in ps:
                out, err = p.communicate(timeout=120)
                assert p.returncode == 0, err.decode()[-2000:]
                results.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        server.stop()
    with connection() as conn:
        posts = conn.execute("SELECT cycle_key, tmdb_id, media_type FROM tmdb_posts").fetchall()
        keys = conn.execute("SELECT count(*) AS n FROM tmdb_ledger").fetchone()["n"]
        scheduled = conn.execute("SELECT count(*) AS n FROM tmdb_posts WHERE status = 'scheduled'").fetchone()["n"]
    from shared.scheduling import dispatch

    armed = len(dispatch.pending("tmdb.post"))
    titles = [(p["media_type"], p["tmdb_id"]) for p in posts]
    assert len(titles) == len(set(titles)) == keys > 0  # every title once, one ledger row each
    assert sum(r["added"] for r in results) == len(posts)
    # each post armed once as a dispatcher item, whichever process placed it: no QStash message per post (at
    # most a wake-up per process for an earliest post before the hourly safety net)
    assert armed == scheduled == len(posts) and backing.emulator.state.published_count - sent_before <= 2
