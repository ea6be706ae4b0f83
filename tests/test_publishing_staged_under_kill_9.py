"""Pre-staged posts never twice and never lost, with real processes: 30 staged posts (X and Facebook) sent at
their slot by several OS processes at once (two threads each), SIGKILLed right after a claim, between
`sending` and the platform call, after the platform accepted (by the fake server, before the answer is read)
and before the outcome is written; platforms that accept slowly, time out, drop or fail after accepting,
refuse and rate-limit; then write-backs SIGKILLed after the row left `staged`, before the published settle and
before the record is forgotten; then the engine's own checkers. Every post must exist at most once, every
publication end published, failed with a proof, or unconfirmed (owner told), and no `failed` row may hide a
post that exists."""

from __future__ import annotations

import pytest
from publishing_mp.staged_harness import Config, run


@pytest.mark.long
def test_staged_posts_under_kill_9_are_never_posted_twice_and_never_lost(backing, clean_state):
    report = run(Config(), backing.redis_url)
    print("\n" + report.table())
    assert report.duplicates == {}, report.duplicates
    assert report.losses == [], report.losses
    assert report.false_proofs == [], report.false_proofs
    assert report.unnotified == [], report.unnotified
    assert report.errors == [], report.errors[:3]
    # the run went through what it claims: kills at the protocol's moments, races for the same stage
    assert sum(report.kills.values()) + report.server_kills >= 3, (report.kills, report.server_kills)
    assert report.verdicts["busy"] > 0  # concurrent senders found the stage taken
    assert report.states["published"] >= 15, report.states  # most go through despite all that
