"""Postgres and Redis stopped under polling (real private servers, a real socket): fast honest 503s, 200s from
what does not need the dead service, recovery without a restart. `make bench` (bench/outages.py) runs the same
observation with 30 s outages; here 2 s keep the suite fast."""

from __future__ import annotations

import pytest
from conftest import TEST_PASSWORD

from bench.outages import run_both, summarize


@pytest.mark.long
def test_outages_answer_503_fast_and_recover(live_api, backing, tmp_path, clean_state, monkeypatch):
    from shared import activity

    writes_during = []
    real_log = activity.log
    monkeypatch.setattr(activity, "log", lambda *a, **k: writes_during.append(a) or real_log(*a, **k))
    reports = run_both(live_api.url, backing.env["PUBLIC_BASE_URL"], tmp_path, outage_seconds=2.0,
                       password=TEST_PASSWORD)
    print("\n".join(summarize(reports)))
    pg, redis = reports["postgres"], reports["redis"]
    assert pg.problems() == [] and redis.problems() == []
    # what needs the dead service said so; what does not kept working
    assert {s for s, _, _ in pg.answers["GET /api/notifications (poll)"]} == {503}
    assert {s for s, _, _ in pg.answers["POST /api/auth/login"]} == {200}
    assert {s for s, _, _ in redis.answers["POST /api/internal/cleanup (QStash)"]} == {503}
    assert {s for s, _, _ in redis.answers["GET /api/notifications (poll)"]} == {200}
    # no request tried to write its failure to the database that was down
    assert not any(a[0] == "api" for a in writes_during)
