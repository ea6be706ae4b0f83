"""Pre-staging off (the default) costs nothing and never weakens the engine: with nothing staged, the maintenance
tick and every connection change (save, refresh, disconnect, key rotation) send no Redis command for staging and
the run route never loads the staged sender; rows still staged when the flag went off are drained (written back
by the maintenance, dropped by a connection change); and a failing staging step runs after the engine's sweeps
and never stops them."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_mp.staged import NO_DURABILITY_GATE, bring_slot

from shared.publishing.engine import publications as pubs
from shared.publishing.engine.service import submit
from shared.publishing.staging import record


def _flag(monkeypatch, on: bool) -> None:
    from shared.config import get_config

    monkeypatch.setenv("PUBLISH_STAGING", "1" if on else "0")
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", NO_DURABILITY_GATE)
    monkeypatch.setenv("PUBLISH_STAGE_LEASE_SECONDS", "30")
    monkeypatch.setenv("PUBLISH_HTTP_TIMEOUT_SECONDS", "5")
    get_config.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_config():
    from shared.config import get_config

    get_config.cache_clear()
    yield
    get_config.cache_clear()


@pytest.fixture
def stage_redis_calls(monkeypatch) -> list[str]:
    """Every Redis command of the staging code goes through record._redis: list who asked for it (and let it
    through, so the guarded code behaves as it would)."""
    import traceback

    calls: list[str] = []
    real = record._redis

    def counted():
        calls.append("".join(traceback.format_stack(limit=6)))
        return real()

    monkeypatch.setattr(record, "_redis", counted)
    return calls


def _scheduled(key: str, in_seconds: int = 3600, platform: str = "x") -> dict:
    at = (datetime.now(timezone.utc) + timedelta(seconds=in_seconds)).isoformat()
    row, how = submit(key=key, platform=platform, content={"text": f"news {key}", "scheduledAt": at},
                      source="compose")
    assert how == "scheduled"
    return pubs.get(str(row["id"]))


def test_off_and_nothing_staged_no_redis_command_for_staging(world, db, monkeypatch, stage_redis_calls):
    from shared.publishing import maintenance
    from shared.publishing.connections import store

    _flag(monkeypatch, False)
    world.connect("x", expires_in=timedelta(days=2))  # store.save: a connection change
    world.connect("threads", expires_in=timedelta(minutes=30))  # refreshed by the maintenance: update_tokens
    row = _scheduled("off1")
    assert row["state"] == "planned"
    out = maintenance.run()
    assert out["tokens"] == {"threads": "refreshed"} and out["staging"] == {}
    store._changed(None)  # what a key rotation calls
    assert store.delete("threads")
    assert stage_redis_calls == [], stage_redis_calls[0]


def test_the_run_route_does_not_load_the_staged_sender_when_off(world, db, monkeypatch):
    from shared.api.routes.publishing_internal import _run
    from shared.publishing.engine.runner import run

    _flag(monkeypatch, False)
    world.connect("x", expires_in=timedelta(days=2))
    row, _ = pubs.create_or_get(key="off-run", target="x", family="x", source="compose", source_ref=None,
                                content={"text": "due now"}, dry_run=False, not_before=None)
    monkeypatch.delitem(sys.modules, "shared.publishing.staging.send", raising=False)
    assert _run(str(row["id"]), run) == {"state": "published"} and len(world.x.posts) == 1
    assert "shared.publishing.staging.send" not in sys.modules


def test_rows_staged_before_the_flag_went_off_are_drained(world, db, monkeypatch):
    from shared import clock
    from shared.publishing import maintenance
    from shared.publishing.connections import store
    from shared.publishing.staging.send import send
    from shared.scheduling import dispatch

    _flag(monkeypatch, True)
    world.connect("x", "facebook", expires_in=timedelta(days=2))
    sent, later, x2 = _scheduled("drain1"), _scheduled("drain2"), _scheduled("drain5", in_seconds=7200)
    fb = _scheduled("drain3", platform="facebook")
    assert {r["state"] for r in (sent, later, x2, fb)} == {"staged"}
    bring_slot(str(sent["id"]))
    assert send(str(sent["id"])) == "published"
    _flag(monkeypatch, False)  # turned off with four stages made: one sent, three not yet due
    assert pubs.any_staged() and pubs.any_staged("x") and not pubs.any_staged("threads")
    out = maintenance.run()
    assert out["staging"] == {"written_back": {"published": 1}}, out  # the others' slots have not come
    assert pubs.get(str(sent["id"]))["state"] == "published"
    # the write-back window a finished send arms drains too (and, off, is not armed again)
    dispatch.tick()  # every capability's first tick: not what is looked at
    bring_slot(str(later["id"]))
    assert send(str(later["id"])) == "published"  # it arms the write-back window within two hours
    dispatch.arm([("publishing.staging", "all", clock.time() - 1)], wake=False)
    report = dispatch.tick(now=clock.time())
    assert report["staging"] == {"written_back": {"published": 1}}, report
    assert "publishing.staging|all" not in dispatch.pending("publishing.staging")
    assert _scheduled("drain4")["state"] == "planned"  # off: a new post is not staged
    conn = store.get("x")
    store.update_tokens("x", conn.account_id, store.Tokens(access_token=conn.access_token, refresh_token=None,
                                                          expires_at=conn.expires_at, scopes=conn.scopes))
    assert pubs.get(str(later["id"]))["state"] == "published"
    assert pubs.get(str(x2["id"]))["state"] == "planned" and not record.exists(str(x2["id"]))
    assert pubs.get(str(fb["id"]))["state"] == "staged"  # another account's stage: its token did not change
    assert store.delete("facebook")
    assert pubs.get(str(fb["id"]))["state"] == "planned" and not pubs.any_staged()
    assert len(world.x.posts) == 2 and not world.meta.posts


def test_a_failing_staging_step_runs_after_the_engines_sweeps_and_stops_none(world, db, monkeypatch):
    from shared.publishing import maintenance
    from shared.publishing.staging import timing

    _flag(monkeypatch, True)
    world.connect("threads", expires_in=timedelta(days=2))
    overdue, _ = pubs.create_or_get(key="overdue", target="threads", family="threads", source="rss",
                                    source_ref=None, content={"text": "overdue"}, dry_run=False, not_before=None)
    db.execute("UPDATE publications SET created_at = now() - interval '1 hour' WHERE id=%s", (overdue["id"],))
    seen: list[str] = []

    def broken_window():
        seen.append(pubs.get(str(overdue["id"]))["state"])  # what the sweeps had done when staging began
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(timing, "window", broken_window)
    out = maintenance.run()
    assert seen == ["published"] and out["overdue"] == 1 and "error" in out["staging"]
    assert len(world.threads.posts) == 1


def test_the_window_is_armed_again_when_staging_is_turned_back_on(world, db, monkeypatch):
    from shared import clock
    from shared.scheduling import dispatch

    item = "publishing.staging|all"
    _flag(monkeypatch, True)
    dispatch.tick()
    assert item in dispatch.pending("publishing.staging")
    _flag(monkeypatch, False)
    dispatch.arm([("publishing.staging", "all", clock.time() - 1)], wake=False)  # its window comes, off
    assert dispatch.tick(now=clock.time())["staging"] == {}
    assert item not in dispatch.pending("publishing.staging")
    _flag(monkeypatch, True)
    dispatch.tick()
    assert item in dispatch.pending("publishing.staging")
