"""A staged post's request goes out only once its `sending` checkpoint is confirmed durable
(shared/publishing/staging/durability.py): proven against a real Redis primary with a real replica (two
redis-server processes) behind the Upstash REST bridge, the replica killed with SIGKILL. While the replica
acknowledges, the post is sent from Redis at its slot; once it is gone, `WAIT 1` times out, nothing reaches the
platform, the stage is released, and the database path publishes it on time, once. A Redis that cannot confirm
at all is found in the awake window, and nothing is staged there. The bridge's WAIT covers writes made on other
connections, as Upstash documents it (its REST calls have no connection)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_mp.staged import bring_slot, no_database

from shared.local import services
from shared.publishing.engine import publications as pubs
from shared.publishing.engine.service import submit
from shared.publishing.staging import durability, record
from shared.publishing.staging.durability import Requirement, parse
from shared.publishing.staging.send import send
from shared.publishing.staging.writeback import write_back

REDIS = shutil.which("redis-server")


def test_the_requirement_is_read_from_the_setting_and_judges_redis_replies():
    assert parse("waitaof:1:1") == Requirement("WAITAOF", 1, 1)
    assert parse(" WAIT:2 ") == Requirement("WAIT", 0, 2)
    assert parse("none") == durability.NONE
    for bad in ("wait:0", "waitaof:0:0", "waitaof:2:1", "waitaof:1", "wait", "fsync", "wait:x", ""):
        with pytest.raises(ValueError, match="PUBLISH_STAGE_DURABILITY"):
            parse(bad)
    assert parse("waitaof:0:2") == Requirement("WAITAOF", 0, 2) and parse("waitaof:1:0") == Requirement("WAITAOF", 1, 0)
    replicas_only, local_only = Requirement("WAITAOF", 0, 2), Requirement("WAITAOF", 1, 0)
    assert replicas_only.args(500) == ["WAITAOF", "0", "2", "500"] and local_only.args(500)[1:3] == ["1", "0"]
    assert replicas_only.met([0, 2]) and not replicas_only.met([1, 1]) and not replicas_only.met([2, 0])
    assert local_only.met([1, 0]) and not local_only.met([0, 3])
    both = Requirement("WAITAOF", 1, 1)
    assert both.args(1000) == ["WAITAOF", "1", "1", "1000"]
    assert both.met([1, 1]) and both.met([1, 2])
    assert not both.met([1, 0]) and not both.met([0, 1]) and not both.met(None) and not both.met("OK")
    one = Requirement("WAIT", 0, 1)
    assert one.args(250) == ["WAIT", "1", "250"]
    assert one.met(1) and one.met("2") and not one.met(0) and not one.met([1, 1])


class _Proc:
    def __init__(self, args: list[str]):
        self.port = services.free_port()
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        services.wait_for_port("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


@pytest.fixture
def replicated(monkeypatch, tmp_path: Path):
    """The app's Redis is a real primary with one real replica, reached through the REST bridge."""
    import redis as redis_py

    from shared.config import get_config
    from shared.local.upstash_bridge import create_bridge
    from shared.redis_client import reset_redis_client
    from shared.scheduling import dispatch

    if REDIS is None:
        pytest.fail("redis-server is needed for this test (the machine's Redis server binary)")
    primary = _Proc(["--dir", str(tmp_path), "--repl-diskless-sync-delay", "0"])  # a replica links at once
    replica = _Proc(["--dir", str(tmp_path), "--replicaof", "127.0.0.1", str(primary.port)])
    deadline = time.monotonic() + 15
    while redis_py.Redis.from_url(replica.url).info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica never linked to its primary"
        time.sleep(0.05)
    bridge = services.ServerThread(create_bridge(primary.url, "gate-token")).start()
    monkeypatch.setenv("UPSTASH_REDIS_REST_URL", bridge.url)
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "gate-token")
    monkeypatch.setenv("PUBLISH_STAGING", "1")
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", "wait:1")
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY_TIMEOUT_MS", "300")
    monkeypatch.setenv("PUBLISH_STAGE_LEASE_SECONDS", "30")
    monkeypatch.setenv("PUBLISH_HTTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setattr(dispatch, "_publish_wakeup", lambda at: None)  # this test drives the windows itself
    get_config.cache_clear()
    reset_redis_client()
    durability._NO_UNTIL.clear()  # a "no" an earlier test's Redis gave is not this one's
    deadline = time.monotonic() + 15
    while durability._ask(["WAIT", "1", "500"], 0.5) != 1:  # linked is not yet acknowledging: wait for its acks
        assert time.monotonic() < deadline, "the replica never acknowledged a write"
    try:
        yield primary, replica
    finally:
        get_config.cache_clear()
        reset_redis_client()
        durability._NO_UNTIL.clear()
        bridge.stop()
        replica.kill()
        primary.kill()


def _scheduled(key: str, in_seconds: int = 3600, platform: str = "x") -> dict:
    at = (datetime.now(timezone.utc) + timedelta(seconds=in_seconds)).isoformat()
    row, how = submit(key=key, platform=platform, content={"text": f"news {key}", "scheduledAt": at},
                      source="compose")
    assert how == "scheduled"
    return pubs.get(str(row["id"]))


def test_the_bridges_wait_covers_writes_made_on_other_connections(replicated):
    import redis as redis_py

    from shared.publishing.staging.durability import _ask
    from shared.redis_client import get_redis

    primary, replica = replicated
    r = get_redis()
    r.set("gate:probe", "1")
    assert _ask(["WAIT", "1", "1000"], 1.0) == 1
    # a replica still connected but not acknowledging (SIGSTOP), and a write made on another connection (as
    # another REST call may be): plain Redis would answer 1 at once, since the waiting connection's own writes
    # were all acknowledged; the bridge, like Upstash, waits for that write too: 0 after the timeout
    os.kill(replica.proc.pid, signal.SIGSTOP)
    try:
        redis_py.Redis.from_url(primary.url).set("gate:probe", "stalled")
        started = time.monotonic()
        assert _ask(["WAIT", "1", "300"], 0.3) == 0
        assert time.monotonic() - started >= 0.25
    finally:
        os.kill(replica.proc.pid, signal.SIGCONT)
    assert _ask(["WAIT", "1", "2000"], 2.0) == 1  # it catches up and acknowledges
    replica.kill()
    r.set("gate:probe", "2")
    started = time.monotonic()
    assert _ask(["WAIT", "1", "300"], 0.3) == 0  # nobody acknowledges now: the timeout, then 0
    assert time.monotonic() - started >= 0.25


def test_a_post_is_sent_from_its_stage_only_while_a_replica_confirms_the_checkpoint(world, db, replicated):
    _, replica = replicated
    world.connect("x", expires_in=timedelta(days=2))
    first, second = _scheduled("g1"), _scheduled("g2")
    assert first["state"] == second["state"] == "staged"
    bring_slot(str(first["id"]))
    with no_database() as attempts:
        assert send(str(first["id"])) == "published"
    assert attempts == [] and len(world.x.posts) == 1

    replica.kill()  # SIGKILL: the checkpoint of the next send can no longer be confirmed
    bring_slot(str(second["id"]))
    with no_database() as attempts:
        assert send(str(second["id"])) == "release"
    assert attempts == []
    assert len(world.x.posts) == 1  # the request never went out
    outcome = record.decode(record.read(str(second["id"]))["outcome"], {})
    assert outcome["errorKind"] == "not_durable" and "WAIT 1 answered 0" in outcome["reason"]
    from shared.scheduling import dispatch

    armed, _ = dispatch.next_armed(["publishing.staging"])  # a window now, not in two hours: the post is due
    assert float(armed["publishing.staging"]) <= time.time() + 1

    assert write_back() == {"published": 1, "planned": 1}
    back = pubs.get(str(second["id"]))
    assert back["state"] == "planned" and back["stage_token"] is None
    from shared.publishing.engine.runner import run

    # Redis cannot confirm the release either: the database path waits for the grace (the next test says why)
    assert back["not_before"].timestamp() > time.time() + 500
    db.execute("UPDATE publications SET not_before = now() - interval '1 second' WHERE id = %s", (second["id"],))
    assert run(str(second["id"])).state == "published"  # the grace is over: the database path publishes it, once
    assert len(world.x.posts) == 2
    assert {p["text"] for p in world.x.posts} == {"news g1", "news g2"}
    assert any("not confirmed durable" in r["message"] or "WAIT 1" in r["message"] for r in db.execute(
        "SELECT message FROM activity_logs WHERE metadata->>'publicationId' = %s", (str(second["id"]),)))


def test_a_redis_that_cannot_confirm_is_found_in_the_window_and_nothing_is_staged(world, db, replicated,
                                                                                 monkeypatch):
    from shared.config import get_config
    from shared.publishing.staging import stage as stage_mod
    from shared.publishing.staging.stage import stage_due

    monkeypatch.setattr(stage_mod, "_inert_noted", False)
    world.connect("x", expires_in=timedelta(days=2))
    # this Redis (7.0, no append-only file) cannot answer WAITAOF: an error is a no, never a yes
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", "waitaof:1:0")
    get_config.cache_clear()
    confirmed, why = durability.confirm()
    assert confirmed is False and "unknown command" in why.lower() and "pipeline" not in why  # Redis's own words
    row = _scheduled("g3")
    assert row["state"] == "planned" and not record.exists(str(row["id"]))  # the request that scheduled it
    assert stage_due() == {"staged": 0, "skipped": 1, "not_durable": 1}  # and the window
    assert pubs.get(str(row["id"]))["state"] == "planned"
    # the owner reads it in the activity log, once a day however many windows and instances find it
    inert = "SELECT message FROM activity_logs WHERE message LIKE 'Pre-staging is inactive%%'"
    notes = db.execute(inert).fetchall()
    assert len(notes) == 1 and "waitaof:1:0" in notes[0]["message"], notes
    stage_mod._inert_noted = False  # another instance: the shared Redis key says it was said today
    durability._NO_UNTIL.clear()
    assert stage_due()["not_durable"] == 1 and len(db.execute(inert).fetchall()) == 1
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", "wait:1")  # the replica confirms: staged
    get_config.cache_clear()
    assert stage_due()["staged"] == 1 and pubs.get(str(row["id"]))["state"] == "staged"


def test_a_post_released_unconfirmed_is_run_by_the_database_only_after_its_grace(world, db, replicated):
    """The replica stops acknowledging at the slot: the post is released unsent. Should the primary now fail
    over to that lagging replica, the stage would read `ready` again and a Redis sender could claim it within
    its grace. So unless Redis confirms the release, the database path runs the post only after the grace
    (no claim is taken then, whatever Redis lost): one post, never two."""
    from shared.publishing.engine.runner import run
    from shared.redis_client import get_redis

    _, replica = replicated
    world.connect("facebook")
    row = _scheduled("g4", platform="facebook")
    assert row["state"] == "staged"
    pub_id = str(row["id"])
    slot = bring_slot(pub_id)
    snapshot = get_redis().hgetall(record.key(pub_id))  # what the lagging replica holds: the stage `ready`
    replica.kill()
    assert send(pub_id) == "release" and not world.meta.posts
    assert write_back() == {"planned": 1}
    back = pubs.get(pub_id)
    grace_until = float(snapshot["grace_until"])
    assert back["state"] == "planned" and back["not_before"].timestamp() == pytest.approx(grace_until + 1, abs=1)
    assert run(pub_id).details == {"claimed": False} and not world.meta.posts  # not before the grace is over
    # the failover: the claim, `sending`, `done(release)` and the forget are lost; the stage reads `ready`
    get_redis().hset(record.key(pub_id), values=snapshot)
    get_redis().zadd(record.INDEX_KEY, {pub_id: float(snapshot["slot"])})
    from publishing_mp.staged import pass_grace

    pass_grace(pub_id)  # the grace is over: a Redis sender refuses it ...
    assert send(pub_id) == "late" and not world.meta.posts
    from shared.api.routes.publishing_internal import _run

    # ... and the run message that comes then finds the stage late and runs the database path: once
    assert _run(pub_id, run) == {"state": "published"}
    assert len(world.meta.posts) == 1 and slot
    assert not world.violations()


def test_an_owner_change_handing_a_post_back_to_its_delivery_waits_until_the_cancel_is_confirmed(
        world, db, replicated, monkeypatch):
    """A carried RSS/TMDb post released by an owner's change goes back to its own delivery at its slot, outside
    the write-back's grace logic: so the cancel must be confirmed durable first, else the change waits (409)."""
    from shared.config import get_config
    from shared.publishing.staging.owner import BeingPublished, CancelNotConfirmed, unstage

    _, replica = replicated
    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled("g5")
    pub_id = str(row["id"])
    assert row["state"] == "staged"
    replica.kill()
    with pytest.raises(CancelNotConfirmed) as refused:
        unstage(pub_id, run_message=False)
    assert isinstance(refused.value, BeingPublished) and "try again" in str(refused.value)
    assert record.read(pub_id)["state"] == "cancelled"  # no sender can take it ...
    assert pubs.get(pub_id)["state"] == "staged"  # ... and the row is not handed back yet
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", "none")  # Redis confirms again (here: nothing to confirm)
    get_config.cache_clear()
    assert unstage(pub_id, run_message=False) == "planned"  # the owner's retry goes through
    assert pubs.get(pub_id)["state"] == "planned" and not record.exists(pub_id) and not world.x.posts
