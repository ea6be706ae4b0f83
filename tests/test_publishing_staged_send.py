"""Pre-staged posts end to end on real Postgres and Redis with the platform fakes: a scheduled post is staged
while the database is awake (row `staged`, token sealed, never plaintext in Redis), is sent at its slot with no
database statement at all (the pool refuses), and the write-back settles it through the engine. What was not
sent goes back to the database path; what may have been sent is only looked up; owner and connection changes
cancel a stage first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_mp.staged import (  # noqa: F401  (staging: fixture)
    NO_DURABILITY_GATE,
    bring_slot,
    expire_stage_lease,
    no_database,
    pass_grace,
    staging,
)

from shared.publishing.engine import publications as pubs
from shared.publishing.engine.service import submit
from shared.publishing.staging import record
from shared.publishing.staging.owner import BeingPublished, unstage
from shared.publishing.staging.send import send
from shared.publishing.staging.writeback import write_back


def _scheduled(world, key: str, platform: str = "x", content: dict | None = None, in_seconds: int = 3600) -> dict:
    at = (datetime.now(timezone.utc) + timedelta(seconds=in_seconds)).isoformat()
    row, how = submit(key=key, platform=platform, content={**(content or {"text": f"news {key}"}),
                                                            "scheduledAt": at}, source="compose")
    assert how == "scheduled"
    return pubs.get(str(row["id"]))


def _activity(db, pub_id: str) -> list[str]:
    return [r["message"] for r in db.execute(
        "SELECT message FROM activity_logs WHERE metadata->>'publicationId' = %s ORDER BY id", (pub_id,)).fetchall()]


def test_a_staged_post_is_sent_at_its_slot_without_the_database_and_written_back(world, db, staging):
    from shared.redis_client import get_redis

    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "s1")
    pub_id = str(row["id"])
    assert row["state"] == "staged" and row["stage_token"] is not None
    rec = record.read(pub_id)
    assert rec["state"] == "ready" and rec["token"] == str(row["stage_token"])
    from shared.publishing.connections import store

    secret = store.get("x").access_token
    assert all(secret not in v for v in get_redis().hgetall(record.key(pub_id)).values())  # sealed, not plain
    # the database path cannot run it meanwhile: its claim wants `planned`
    from shared.publishing.engine.runner import run

    assert run(pub_id).details == {"claimed": False} and not world.x.posts
    # a repeated request with the same key answers from the record: scheduled, nothing sent
    from shared.publishing.gateway import PublishRequest, publish

    again = publish(PublishRequest("s1", "x", {"text": "news s1"}, "compose"))
    assert again.status == "scheduled" and not world.x.posts
    bring_slot(pub_id)
    from shared.api.routes.publishing_internal import _run

    with no_database() as attempts:
        first = _run(pub_id, run)  # the QStash run message at the slot: sent from Redis
        again = _run(pub_id, run)  # its redelivery
        verdict = send(pub_id)  # and the dispatcher's item for the same slot
    assert attempts == []
    assert first == {"state": "staged", "staged": "published"}
    assert again["staged"] == "busy" and verdict == "busy"
    assert len(world.x.posts) == 1
    assert pubs.get(pub_id)["state"] == "staged"  # nothing recorded in Postgres yet
    assert write_back() == {"published": 1}
    settled = pubs.get(pub_id)
    assert settled["state"] == "published" and settled["platform_post_id"] == str(world.x.posts[0]["id"])
    assert settled["stage_token"] is None and settled["claim_token"] is None
    assert not record.exists(pub_id)
    assert any(m.startswith("published to x") for m in _activity(db, pub_id))
    assert write_back() == {}  # idempotent: nothing left


def test_a_refused_post_fails_with_proof_and_a_stage_nobody_sent_goes_back_to_the_database_path(world, db,
                                                                                                staging):
    world.connect("x", expires_in=timedelta(days=2))
    refused, unsent = _scheduled(world, "r1"), _scheduled(world, "u1")
    world.x.fail_next("tweet", 400)
    bring_slot(str(refused["id"]))
    with no_database() as attempts:
        assert send(str(refused["id"])) == "failed"
    assert attempts == []
    pass_grace(str(unsent["id"]))
    with no_database():
        assert send(str(unsent["id"])) == "late"  # past slot + grace: never sent late from Redis
    assert write_back() == {"failed": 1, "planned": 1}
    failed = pubs.get(str(refused["id"]))
    assert failed["state"] == "failed" and failed["absent_proof"] == "refused"
    planned = pubs.get(str(unsent["id"]))
    assert planned["state"] == "planned" and planned["stage_token"] is None
    from shared.publishing.engine.runner import run

    assert run(str(unsent["id"])).state == "published"  # the database path runs it, once
    assert len(world.x.posts) == 1


def test_a_sender_that_died_while_sending_is_settled_by_lookup_never_resent(world, db, staging):
    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "d1")
    pub_id = str(row["id"])
    bring_slot(pub_id)
    # the platform accepts, then the sender dies before it records the answer (its process is gone)
    from shared.publishing.staging import send as send_module

    real_finish = record.finish

    class Died(BaseException):
        pass

    def die(*a, **kw):
        raise Died

    send_module.record.finish = die  # type: ignore[attr-defined]
    try:
        with pytest.raises(Died):
            send(pub_id)
    finally:
        send_module.record.finish = real_finish  # type: ignore[attr-defined]
    assert len(world.x.posts) == 1 and record.read(pub_id)["state"] == "sending"
    assert write_back() == {"wait": 1}  # its lease still runs: the sender could still answer
    expire_stage_lease(pub_id)
    assert send(pub_id) == "busy"  # `sending`: nobody sends it again
    counts = write_back()
    assert counts == {"published": 1}, counts  # the look-up found it
    assert pubs.get(pub_id)["platform_post_id"] == str(world.x.posts[0]["id"])
    assert len(world.x.posts) == 1


def test_a_lost_stage_record_is_settled_by_lookup(world, db, staging):
    from shared.redis_client import get_redis

    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "l1")
    pub_id = str(row["id"])
    pass_grace(pub_id)
    get_redis().delete(record.key(pub_id))  # Redis lost it (we cannot know whether it was sent)
    counts = write_back()
    assert counts == {"lost:unconfirmed": 1}, counts
    assert pubs.get(pub_id)["state"] == "unconfirmed" and not world.x.posts


def test_a_lost_record_of_a_sent_post_is_found_by_the_lookup_from_what_the_stage_saved(world, db, staging):
    """Redis lost the record after the staged sender posted: the row still has what the look-up needs (the text
    and the slot's window, saved when it was staged), so the post is found, not left unconfirmed."""
    from shared.redis_client import get_redis

    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "l2")
    pub_id = str(row["id"])
    hints = row["progress"]["staged_lookup"]
    assert hints["text_key"] == "news l2" and hints["commit_by"] > hints["commit_at"]
    bring_slot(pub_id)
    with no_database():
        assert send(pub_id) == "published"
    get_redis().delete(record.key(pub_id), record.OUTCOMES_KEY)  # the record and its outcome are gone
    with db.cursor() as cur:  # the grace has passed (the record is gone, so only the row's time moves)
        cur.execute("UPDATE publications SET not_before = now() - interval '1 hour' WHERE id = %s", (pub_id,))
    counts = write_back()
    assert counts == {"lost:published": 1}, counts
    settled = pubs.get(pub_id)
    assert settled["platform_post_id"] == str(world.x.posts[0]["id"]) and len(world.x.posts) == 1
    assert "staged_lookup" not in settled["progress"]


def test_owner_changes_cancel_the_stage_first_and_wait_while_it_is_sent(world, db, staging):
    world.connect("x", expires_in=timedelta(days=2))
    a, b = _scheduled(world, "o1"), _scheduled(world, "o2")
    assert unstage(str(a["id"])) == "planned"
    assert pubs.get(str(a["id"]))["state"] == "planned" and not record.exists(str(a["id"]))
    bring_slot(str(b["id"]))
    assert record.claim(str(b["id"]), "someone", 60)[0] == "ok"
    with pytest.raises(BeingPublished):
        unstage(str(b["id"]))
    assert pubs.get(str(b["id"]))["state"] == "staged"


def test_a_token_refresh_or_disconnect_drops_the_accounts_stages(world, db, staging):
    from shared.publishing.connections import store

    world.connect("x", "facebook", expires_in=timedelta(days=2))
    x_row = _scheduled(world, "t1")
    fb_row = _scheduled(world, "t2", platform="facebook", content={"text": "page post"})
    assert fb_row["state"] == "staged"
    conn = store.get("x")
    store.update_tokens("x", conn.account_id, store.Tokens(access_token="new", refresh_token=None,
                                                          expires_at=conn.expires_at, scopes=conn.scopes))
    assert pubs.get(str(x_row["id"]))["state"] == "planned" and not record.exists(str(x_row["id"]))
    assert pubs.get(str(fb_row["id"]))["state"] == "staged"
    store.delete("facebook")
    assert pubs.get(str(fb_row["id"]))["state"] == "planned"


def test_the_dispatchers_item_at_the_slot_sends_without_opening_a_window(world, db, staging):
    from shared import clock
    from shared.scheduling import dispatch

    world.connect("x", "facebook", expires_in=timedelta(days=2))
    dispatch.tick()  # every capability's first tick (bootstraps with the database): not what is measured
    x_row = _scheduled(world, "k1")
    fb_row = _scheduled(world, "k2", platform="facebook", content={"text": "page post k2"})
    assert dispatch.pending("publishing.send").keys() == {f"publishing.send|{x_row['id']}",
                                                          f"publishing.send|{fb_row['id']}"}
    slot = max(bring_slot(str(x_row["id"])), bring_slot(str(fb_row["id"])))
    dispatch.arm([("publishing.send", str(x_row["id"]), slot), ("publishing.send", str(fb_row["id"]), slot)],
                 wake=False)
    with no_database() as attempts:
        report = dispatch.tick(now=clock.time())
    assert attempts == [], attempts[0]
    assert report["window"] is False and report.get("ran.publishing.send") == 2, report
    assert len(world.x.posts) == 1 and len(world.meta.posts) == 1
    # the write-back waits for a window; one is due within two hours at the latest (one for all the sends)
    armed = dispatch.pending("publishing.staging")["publishing.staging|all"]
    assert armed <= clock.time() + 2 * 3600 + 5
    assert write_back() == {"published": 2}
    assert {pubs.get(str(r["id"]))["state"] for r in (x_row, fb_row)} == {"published"}


def test_a_sender_that_lost_its_stage_before_sending_sends_nothing(world, db, staging, monkeypatch):
    from shared.publishing.engine.runner import run
    from shared.publishing.staging import send as send_module

    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "p1")
    pub_id = str(row["id"])
    bring_slot(pub_id)
    real = record.to_sending

    def paused(*args, **kwargs):  # the sender stalls past its lease; the write-back takes the stage back
        expire_stage_lease(pub_id)
        assert write_back() == {"planned": 1}
        return real(*args, **kwargs)

    monkeypatch.setattr(send_module.record, "to_sending", paused)
    assert send(pub_id) == "lost" and not world.x.posts
    monkeypatch.setattr(send_module.record, "to_sending", real)
    assert run(pub_id).state == "published"  # the database path, once
    assert len(world.x.posts) == 1


def test_a_window_stages_what_is_due_within_the_horizon_and_nothing_else(world, db, monkeypatch):
    from shared.config import get_config
    from shared.publishing.staging.timing import window

    world.connect("x", "instagram", expires_in=timedelta(days=2))
    near = _scheduled(world, "w1", in_seconds=1800)  # staging off: planned, as before this feature
    far = _scheduled(world, "w2", in_seconds=12 * 3600)
    video = _scheduled(world, "w3", platform="instagram",
                       content={"text": "ig", "imageUrl": world.media.add("w3.jpg", b"\xff\xd8" + b"\0" * 99,
                                                                          "image/jpeg")})
    assert {r["state"] for r in (near, far, video)} == {"planned"}
    monkeypatch.setenv("PUBLISH_STAGING", "1")
    monkeypatch.setenv("PUBLISH_STAGE_DURABILITY", NO_DURABILITY_GATE)
    get_config.cache_clear()
    try:
        report = window()
    finally:
        get_config.cache_clear()
    assert report["staged"] == {"staged": 1, "skipped": 0}, report  # Instagram is never a candidate
    assert pubs.get(str(near["id"]))["state"] == "staged"
    assert pubs.get(str(far["id"]))["state"] == "planned" and pubs.get(str(video["id"]))["state"] == "planned"


def test_a_post_moved_to_another_time_while_being_staged_is_not_staged(world, db, staging, monkeypatch):
    """The record is written for the slot the row had when it was read; if the row's time changes before it is
    staged, the stage is dropped (the record would send it at the old time)."""
    world.connect("x", expires_in=timedelta(days=2))
    real_stage = pubs.stage
    calls: list[str] = []

    def moved_first(pub_id, *args):
        calls.append(pub_id)
        db.execute("UPDATE publications SET not_before = not_before + interval '10 minutes' WHERE id = %s",
                   (pub_id,))
        return real_stage(pub_id, *args)

    monkeypatch.setattr(pubs, "stage", moved_first)
    row = _scheduled(world, "m1")
    monkeypatch.setattr(pubs, "stage", real_stage)
    assert calls == [str(row["id"])]  # it got as far as staging the row
    assert row["state"] == "planned" and row["stage_token"] is None and not record.exists(str(row["id"]))


def test_a_token_refresh_between_record_create_and_row_stage_puts_the_row_back_to_planned(world, db, staging,
                                                                                          monkeypatch):
    """From the review: stage_one writes the record (pending), then another process refreshes the X token, whose
    drop_account cancels the pending record and writes it back while the row is still planned (stale, then
    forgotten); then the row is staged and ready() finds no record. The stage must give the row back to the
    database path at once, not leave a staged row no sender can claim (after the grace the write-back would
    hand it to the look-up: the owner told a never-sent post may have been posted)."""
    from shared.publishing.connections import store
    from shared.publishing.engine.runner import run
    from shared.scheduling import dispatch

    world.connect("x", expires_in=timedelta(days=2))
    real_stage = pubs.stage

    def stage_with_a_refresh_landing_first(pub_id, token, *args):
        conn = store.get("x")
        fresh = world.x.issue_tokens("owner", scopes=conn.scopes)["access_token"]  # one the fake accepts
        store.update_tokens("x", conn.account_id, store.Tokens(access_token=fresh, refresh_token=None,
                                                              expires_at=conn.expires_at, scopes=conn.scopes))
        return real_stage(pub_id, token, *args)

    monkeypatch.setattr(pubs, "stage", stage_with_a_refresh_landing_first)
    at = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    row, how = submit(key="race1", platform="x", content={"text": "race one", "scheduledAt": at},
                      source="compose")
    monkeypatch.setattr(pubs, "stage", real_stage)
    assert how == "scheduled"
    pub_id = str(row["id"])
    now_row = pubs.get(pub_id)
    assert now_row["state"] == "planned" and now_row["stage_token"] is None
    assert not record.exists(pub_id) and f"publishing.send|{pub_id}" not in dispatch.pending("publishing.send")
    pass_grace(pub_id)
    write_back()
    assert pubs.get(pub_id)["state"] == "planned" and not world.x.posts  # nothing was ever sent
    res = run(pub_id)
    assert res.state == "published" and len(world.x.posts) == 1, pubs.get(pub_id)["last_error"]  # database path, once


def _replace_token_under_the_stage(world, db) -> None:
    """A refresh or reconnect that raced a stage being sent (drop_account found it busy): the account holds a new
    token and X no longer accepts the one the stage sealed."""
    from shared.publishing.connections import store

    conn = store.get("x")
    with world.x.lock:
        world.x.tokens.discard(conn.access_token)
    new = world.x.issue_tokens("owner", scopes=world.x.grants.get(conn.access_token, frozenset()) or
                               frozenset(conn.scopes))["access_token"]
    db.execute("UPDATE platform_connections SET access_token_enc = %s WHERE platform = 'x'",
               (store._box().encrypt(new, store._aad("x", conn.account_id, "access")),))


def test_a_401_for_a_token_replaced_after_the_stage_goes_back_to_the_database_path_not_to_reconnect(world, db,
                                                                                                  staging):
    from shared.publishing.connections import store
    from shared.publishing.engine.runner import run

    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "old-token")
    pub_id = str(row["id"])
    _replace_token_under_the_stage(world, db)
    bring_slot(pub_id)
    with no_database():
        assert send(pub_id) == "failed"  # X refused the sealed token: nothing posted
    assert not world.x.posts
    assert write_back() == {"planned": 1}
    assert store.get("x").status == "connected"  # the account is fine: no "reconnect X" for the owner
    assert not db.execute("SELECT 1 FROM notifications WHERE title LIKE 'Reconnect%%'").fetchall()
    pass_grace(pub_id)
    assert run(pub_id).state == "published"  # the database path, with the account's current token, once
    assert len(world.x.posts) == 1


def test_a_401_for_the_accounts_current_token_still_asks_for_a_reconnect(world, db, staging):
    from shared.publishing.connections import store

    world.connect("x", expires_in=timedelta(days=2))
    row = _scheduled(world, "current-token")
    pub_id = str(row["id"])
    with world.x.lock:
        world.x.tokens.discard(store.get("x").access_token)  # revoked on X's side
    bring_slot(pub_id)
    with no_database():
        assert send(pub_id) == "failed"
    assert write_back() == {"failed": 1}
    assert store.get("x").status == "needs_reconnect" and pubs.get(pub_id)["state"] == "failed"
