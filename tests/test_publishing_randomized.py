"""A seeded randomized run of 300 publications with injected faults, in parallel, with duplicate submissions:
the fakes must count zero duplicate posts, and every publication must end published, failed with a reason (and
then truly absent from the platform), or unconfirmed with a notification.

Every fault of every platform and a worker dying in every family are in the plan (tests/randomized_faults.py);
the volume, 1,000 publications under three seeds, runs in `python -m bench randomized_faults`."""

from __future__ import annotations

from collections import Counter

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from randomized_faults import EVERY_FAULT, run

SEED = 20261128
N = 300


@pytest.mark.long
def test_randomized_faults_never_duplicate_and_always_settle(world, db, monkeypatch):
    res = run(world, db, monkeypatch, n=N, seed=SEED)
    plan, rows, ledger = res.plan, res.rows, res.ledger
    # the smaller run still injects every kind of fault, in every family
    assert {(fam, fault) for _, fam, fault, _ in plan} >= set(EVERY_FAULT)
    assert sum(1 for p in plan if p[3]) > 0  # and submits some twice
    assert len(rows) == N
    states = Counter(r["state"] for r in rows)
    assert set(states) <= {"published", "failed", "unconfirmed"}, states

    for name, duplicates in res.duplicates.items():
        assert duplicates == {}, f"{name} got duplicate posts: {duplicates}"
    assert max(ledger.values()) == 1

    unconfirmed = 0
    for r in rows:
        i = int(r["idempotency_key"].split(":")[1])
        if r["state"] == "published":
            assert ledger[i] == 1, r
        elif r["state"] == "failed":
            assert r["last_error"], r
            assert ledger[i] == 0, ("failed but posted", r)
        else:
            unconfirmed += 1
            assert r["notified"], r
    assert res.notes == unconfirmed
    faults_seen = Counter(str(p[2]) for p in plan)
    kinds = Counter((r["family"], r["state"], (r["last_error"] or "")[:60]) for r in rows if r["state"] != "published")
    for k, v in kinds.most_common(25):
        print(v, k)
    print(f"\nrandomized run: {dict(states)}; posts={sum(ledger.values())}; faults={len(faults_seen)} kinds; "
          f"{res.seconds:.1f}s (workers {res.pool_seconds:.1f}s)")
    assert states["published"] > N * 0.5  # the faults are the exception, not the rule
    assert res.problems() == []  # the bench's verdict agrees
