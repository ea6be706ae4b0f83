"""Never twice, with real processes (short run; `make bench` runs the long one): worker OS processes running
the real engine against one Postgres and Redis, every message delivered at least twice, SIGKILLs at random
moments and at the engine's worst ones, platforms on a real socket that accept slowly, time out, drop or fail
after accepting and fail look-ups, the owner re-sending meanwhile; then a settle phase. No publication may be
posted twice or lost, and no `failed` row may hide a post that exists."""

from __future__ import annotations

import pytest
from publishing_mp.harness import Config, run


@pytest.mark.long
def test_real_processes_under_kill_9_never_post_twice_and_lose_nothing(backing, clean_state):
    report = run(Config(publications=150), backing.redis_url)
    print("\n" + report.table())
    assert report.duplicates == {}, report.duplicates
    assert report.losses == [], report.losses
    assert report.false_proofs == [], report.false_proofs
    assert report.unnotified_unconfirmed == 0
    assert not report.worker_errors, report.error_samples
    # the run really went through what it claims
    assert set(report.platforms) == {"x", "threads", "facebook", "instagram", "pinterest", "tiktok", "youtube"}
    assert sum(report.kills.values()) >= 3, report.kills
    assert {"after_claim", "after_accept", "random_moment"} & set(report.kills)
    after_accepting = {"slow_accept", "timeout_after", "drop_after", "error_after"}
    assert len(after_accepting & set(report.faults)) >= 3 and sum(report.faults[k] for k in after_accepting) >= 8, \
        report.faults
    assert report.faults["lookup_503"] + report.faults["lookup_hang"] > 0
    assert report.states["published"] > report.publications * 0.5
