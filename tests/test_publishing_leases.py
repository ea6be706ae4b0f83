"""Claims are leases with a heartbeat, and every write after a claim is fenced by its token: a live upload
longer than the lease is never taken over; a take-over (after a real expiry) only looks the post up; a late
answer from a superseded worker is kept as evidence and never moves the row; only a proven-absent failure is
re-armed, by every path that can re-arm."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import expire_leases, make_due

from shared.publishing.engine import publications as pubs
from shared.publishing.engine import runner
from shared.publishing.engine.service import submit
from shared.publishing.gateway import PublishRequest, publish


@pytest.fixture
def short_lease(monkeypatch):
    from shared.config import get_config

    monkeypatch.setenv("PUBLISH_LEASE_SECONDS", "1")
    get_config.cache_clear()
    yield 1.0
    get_config.cache_clear()


def _last_chunk(request: httpx.Request) -> bool:
    m = re.match(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("content-range", ""))
    return bool(m) and int(m.group(2)) + 1 == int(m.group(3))


class SlowLastChunk:
    """YouTube's last chunk takes as long as the test says (an upload longer than the lease)."""

    def __init__(self, fake):
        self.fake, self.real = fake, next(fn for _, _, n, fn in fake.routes if n == "chunk")
        self.entered, self.release, self.slowed = threading.Event(), threading.Event(), False
        fake.routes = [(m, rx, n, self.handle if n == "chunk" else fn) for m, rx, n, fn in fake.routes]

    def handle(self, request, sid):
        if _last_chunk(request) and not self.slowed:
            self.slowed = True
            self.entered.set()
            self.release.wait(30)
        return self.real(request, sid)


def _youtube(world, key):
    content = {"text": "d", "youtubeTitle": f"Trailer [pub:{key}]",
               "videoUrl": world.media.add(f"{key}.mp4", b"\x07" * 5000, "video/mp4")}
    return PublishRequest(key, "youtube", content, "compose")


def _in_background(fn):
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("out", fn()), daemon=True)
    t.start()
    return t, box


def test_the_sweeper_leaves_a_live_upload_longer_than_the_lease_alone(world, db, short_lease):
    """The issue's second sequence, live worker: today's checkpoint never refreshed the claim, so the sweeper
    took over mid-upload, read the incomplete session as absent, a re-send uploaded it again, and the first
    worker's late success overwrote the row."""
    world.connect("youtube")
    slow = SlowLastChunk(world.youtube)
    request = _youtube(world, "live")
    t, box = _in_background(lambda: publish(request))
    assert slow.entered.wait(20)
    time.sleep(short_lease * 2)  # the upload outlives the lease twice over; the heartbeat keeps it
    runner.sweep_stuck()  # the maintenance tick
    submit(key=request.idempotency_key, platform="youtube", content=request.content, source="compose",
           retry_failed=True)  # the owner presses send again meanwhile
    slow.release.set()
    t.join(30)
    assert len(world.youtube.posts) == 1 and len(world.youtube.sessions) == 1
    row = db.execute("SELECT * FROM publications").fetchone()
    assert row["state"] == "published" and row["platform_post_id"] == world.youtube.posts[0]["video_id"]
    assert box["out"].status == "published"
    assert row["late_results"] == []  # nobody was superseded


def test_a_take_over_only_looks_up_and_a_late_answer_is_evidence_not_a_write(world, db, short_lease, monkeypatch):
    """The holder stalls (its heartbeat stops, as in a frozen process) mid-upload: after the lease really
    expired the sweeper takes over, looks the session up (incomplete: unknown, so unconfirmed) and sends
    nothing; a re-send cannot re-arm it; the stalled worker's late success is recorded as evidence (post id in
    the log) without moving the row, and a checker then settles the row from that evidence."""
    try:
        from shared.publishing.engine.lease import Lease

        monkeypatch.setattr(Lease, "beat", lambda self: False)  # the holder is frozen: no heartbeat
    except ImportError:  # a claim without any heartbeat is frozen anyway
        pass
    world.connect("youtube")
    slow = SlowLastChunk(world.youtube)
    request = _youtube(world, "frozen")
    t, _box = _in_background(lambda: publish(request))
    assert slow.entered.wait(20)
    time.sleep(short_lease * 1.5)  # the lease really expires
    runner.sweep_stuck()
    row = db.execute("SELECT * FROM publications").fetchone()
    assert len(world.youtube.sessions) == 1 and world.youtube.posts == []  # the take-over sent nothing
    submit(key=request.idempotency_key, platform="youtube", content=request.content, source="compose",
           retry_failed=True)
    assert len(world.youtube.sessions) == 1, "a re-send started a second upload"
    assert row["state"] == "unconfirmed" and row["absent_proof"] is None, row
    slow.release.set()  # the frozen worker wakes up; its last chunk creates the video
    t.join(30)
    assert len(world.youtube.posts) == 1
    vid = world.youtube.posts[0]["video_id"]
    row = db.execute("SELECT * FROM publications").fetchone()
    assert [e["postId"] for e in row["late_results"]] == [vid]
    logged = db.execute("SELECT metadata FROM activity_logs WHERE message LIKE %s",
                        ("%from a worker that had lost its claim%",)).fetchall()
    assert [m["metadata"]["postId"] for m in logged] == [vid]
    # the evidence made the row due: a checker (here the late worker's follow-up) settled it from it
    assert row["state"] == "published" and row["platform_post_id"] == vid, row
    notes = db.execute("SELECT count(*) AS n FROM notifications WHERE title LIKE 'Check your%'").fetchone()["n"]
    assert notes == 1  # told once, when it became unconfirmed


def test_every_write_after_a_claim_is_fenced_by_the_token(world, db):
    row, _ = pubs.create_or_get(key="fence", target="x", family="x", source="rss", source_ref=None,
                                content={"text": "fenced"}, dry_run=False, not_before=None)
    pid = str(row["id"])
    claimed = pubs.claim(pid, 60)
    stale = "00000000-0000-0000-0000-000000000000"
    from datetime import datetime, timezone

    writes = [
        lambda t: pubs.settle_published(pid, t, "p1", None, {}),
        lambda t: pubs.settle_failed(pid, t, "content", "no", "refused"),
        lambda t: pubs.settle_unconfirmed(pid, t, "?", None),
        lambda t: pubs.park(pid, t, datetime.now(timezone.utc)),
        lambda t: pubs.release(pid, t, datetime.now(timezone.utc), "transient", "later"),
        lambda t: pubs.settle_dry_run(pid, t, {}),
    ]
    for write in writes:
        assert write(stale) is None
    assert pubs.checkpoint(pid, stale, {"commit_sent": True}, 60) == 0
    assert pubs.heartbeat(pid, stale, 60) is False
    now = pubs.get(pid)
    assert now["state"] == "publishing" and now["progress"].get("commit_sent") is None
    assert str(now["claim_token"]) == str(claimed["claim_token"])
    with pytest.raises(ValueError):  # a failure without proof that nothing was posted cannot be written
        pubs.settle_failed(pid, str(claimed["claim_token"]), "unknown", "?", "")


def test_a_checker_cannot_send_anything_but_a_look_up():
    from shared.publishing.engine.errors import ClaimLost
    from shared.publishing.engine.lease import Lease

    lease = Lease("p", "t", seconds=60, role="checker", started=time.monotonic(), send_margin=5)
    lease.before_send("confirm")
    for phase in ("prepare", "commit"):
        with pytest.raises(ClaimLost):
            lease.before_send(phase)


def test_a_sender_whose_lease_cannot_be_extended_stops_before_sending(world, db, short_lease, monkeypatch):
    """The heartbeat cannot reach the database while the lease runs out: rather than send a request that
    may outlive its lease, the worker stops; the post is sent by whoever holds the row next."""
    from shared.publishing.engine.lease import Lease

    world.connect("x")
    monkeypatch.setattr(Lease, "beat", lambda self: False)
    img = world.media.add("l.jpg", b"\xff\xd8" + b"\x00" * 200, "image/jpeg")
    real_routes = list(world.x.routes)

    def slowed(fn):
        def slow_upload(request, **kw):
            time.sleep(short_lease * 0.8)  # the lease runs low while preparing
            return fn(request, **kw)
        return slow_upload
    world.x.routes = [(m, rx, n, slowed(fn) if n == "media" else fn) for m, rx, n, fn in world.x.routes]
    out = publish(PublishRequest("stall", "x", {"text": "stalled [pub:stall]", "imageUrl": img}, "rss"))
    assert world.x.posts == [] and not any(n == "tweet" for n, _ in world.x.calls)
    assert out.details["state"] == "publishing"
    monkeypatch.undo()
    world.x.routes = real_routes
    expire_leases()
    assert runner.sweep_stuck()["published"] == 1  # never sent: run again, by a new claim
    assert len(world.x.posts) == 1


@pytest.mark.parametrize("kind,proof", [("transient", None), ("transient", "not_sent"), ("unknown", None),
                                        ("unknown", "platform_state")])
def test_only_a_proven_absent_failure_is_re_armed_by_any_path(world, db, kind, proof):
    """The gateway's retry of failures that may clear up (transient, auth, not connected), Compose re-send and
    the approved RSS retry all go through one re-arm, which refuses a failure without proof that nothing was
    posted, whatever its message says."""
    from shared.rss.queue import confirmed_absent, retry_verdict

    world.connect("x")
    content = {"text": f"re-arm {kind} {proof} [pub:rearm]"}
    row, _ = submit(key="rearm", platform="x", content=content, source="rss")
    assert row["state"] == "published"
    world.x.posts.clear()
    db.execute("UPDATE publications SET state='failed', error_kind=%s, absent_proof=%s, "
               "last_error='nothing was posted. Safe to post again.' WHERE id=%s", (kind, proof, row["id"]))
    out = publish(PublishRequest("rearm", "x", content, "rss"))
    gateway_reruns = kind == "transient" and proof is not None
    assert len(world.x.posts) == (1 if gateway_reruns else 0)
    if not gateway_reruns:  # what an approved RSS retry reads: the structured flag, not the words
        assert out.status == "failed" and confirmed_absent(out) is bool(proof)
        verdict = retry_verdict({"outcome": {"kind": kind, "publicationId": str(row["id"]),
                                             "provenAbsent": out.details.get("provenAbsent")}, "error": out.error})
        assert verdict[0] is (bool(proof) or kind == "transient")
    again, _ = submit(key="rearm", platform="x", content=content, source="compose", retry_failed=True)
    assert len(world.x.posts) == (1 if proof else 0)  # re-armed once with proof, never without
    assert again["state"] == ("published" if proof else "failed")
    submit(key="rearm", platform="x", content=content, source="compose", retry_failed=True)
    assert len(world.x.posts) == (1 if proof else 0)


def test_a_parked_post_is_checked_by_one_checker_at_a_time(world, db):
    """Settle messages are delivered at least once, often together: one checker claims the due row."""
    world.connect("tiktok")
    world.tiktok.fail_next("status", *([503] * 40))  # status checks cannot run: the run parks the row
    out = publish(PublishRequest("parked", "tiktok", {"text": "t [pub:parked]", "videoUrl": world.media.add(
        "p.mp4", b"\x05" * 4000, "video/mp4")}, "rss"))
    assert out.status == "scheduled" and out.details.get("processing"), out
    world.tiktok.faults.clear()
    pid = out.details["publicationId"]
    assert runner.settle(pid).details.get("stale") is True  # not due yet: the message came too early
    make_due(pid)
    barrier = threading.Barrier(6)

    def deliver():
        barrier.wait()
        return runner.settle(pid)
    threads = [threading.Thread(target=deliver) for _ in range(6)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    row = pubs.get(pid)
    assert row["checks"] == 1 and len(world.tiktok.posts) == 1
