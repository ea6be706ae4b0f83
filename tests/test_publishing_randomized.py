"""A seeded randomized run of 1,000 publications with injected faults, in parallel, with duplicate
submissions: the fakes must count zero duplicate posts, and every publication must end published, failed with
a reason (and then truly absent from the platform), or unconfirmed with a notification."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from publishing_fakes.pinterest import BOARD
from publishing_fakes.world import world  # noqa: F401  (fixture)
from publishing_time import make_due, sweep_after_lease

from shared.publishing.engine import publications as pubs
from shared.publishing.engine import runner
from shared.publishing.gateway import PublishRequest, publish

SEED = 20261128
N = 1000

FAULTS = {
    "x": [("tweet", "timeout_after"), ("tweet", "drop_after"), ("tweet", 503), ("tweet", 429), ("tweet", "connect"),
          ("media", 503), ("media", "connect"), ("media", 401), ("tweet", 401)],
    "threads": [("publish", "timeout_after"), ("publish", 500), ("container", 503), ("container", "connect"),
                ("publish", 429), ("container", 401)],
    "facebook": [("feed", "timeout_after"), ("feed", 500), ("feed", 429), ("feed", "connect"), ("feed", 401)],
    "instagram": [("publish", "timeout_after"), ("container", 503), ("publish", 429), ("limit", 503),
                  ("publish", "drop_after")],
    "pinterest": [("pin", "timeout_after"), ("pin", 503), ("pin", 429), ("pin", "connect")],
    "tiktok": [("upload", "timeout_after"), ("init", 503), ("status", 503), ("upload", 500), ("init", 429)],
    "youtube": [("chunk", "drop_after"), ("start", 503), ("chunk", 500), ("start", 429)],
}
WEIGHTS = {"x": 30, "threads": 20, "facebook": 20, "instagram": 10, "pinterest": 10, "tiktok": 5, "youtube": 5}


class WorkerDied(BaseException):
    pass


def test_randomized_faults_never_duplicate_and_always_settle(world, db, monkeypatch):
    started = time.monotonic()
    rng = random.Random(SEED)
    world.x.reject_duplicates = False
    for fake in (world.x, world.meta, world.threads, world.tiktok, world.youtube, world.pinterest):
        fake.rate_reset_in = 0.05
    world.meta.video_polls_needed = 1
    world.meta.quota_total = 10 * N  # the IG daily limit is its own test
    world.threads.video_polls_needed = 1
    world.connect()
    img = world.media.add("i.jpg", b"\xff\xd8" + b"\x00" * 200, "image/jpeg")
    vid = world.media.add("v.mp4", b"\x09" * 4000, "video/mp4")

    local = threading.local()
    real_settle = pubs.settle_published

    def maybe_dying_settle(*a, **kw):
        if getattr(local, "crash", False) and not getattr(local, "crashed", False):
            local.crashed = True
            raise WorkerDied()
        return real_settle(*a, **kw)
    monkeypatch.setattr(pubs, "settle_published", maybe_dying_settle)
    from shared.config import get_config

    monkeypatch.setenv("PUBLISH_SETTLE_MAX_CHECKS", "3")  # the drain below makes every check due at once
    get_config.cache_clear()

    families = list(WEIGHTS)
    plan = []
    for i in range(N):
        fam = rng.choices(families, weights=[WEIGHTS[f] for f in families])[0]
        roll = rng.random()
        fault = None
        if roll < 0.45:
            fault = rng.choice(FAULTS[fam])
        elif roll < 0.55:
            fault = "crash"
        dup = rng.random() < 0.15
        plan.append((i, fam, fault, dup))

    def content(i, fam):
        marker = f"[pub:{i}]"
        if fam == "x":
            return {"text": f"news {marker}", **({"imageUrl": img} if i % 3 == 0 else {})}
        if fam == "threads":
            return {"text": f"thread {marker}", **({"imageUrl": img} if i % 4 == 0 else {})}
        if fam == "facebook":
            return {"text": f"page {marker}", **({"link": "https://variety.com/x"} if i % 2 else {})}
        if fam == "instagram":
            return {"text": f"ig {marker}", "imageUrl": img}
        if fam == "pinterest":
            return {"title": f"pin {marker}", "text": "d", "imageUrl": img, "boardId": BOARD}
        if fam == "tiktok":
            return {"text": f"tt {marker}", "videoUrl": vid}
        return {"youtubeTitle": f"yt {marker}", "text": "d", "videoUrl": vid}

    def work(item):
        i, fam, fault, _ = item
        if isinstance(fault, tuple):
            world.by_family[fam].fail_next(*fault)
        local.crash, local.crashed = fault == "crash", False
        out = None
        try:
            out = publish(PublishRequest(f"rnd:{i}:{fam}", fam, content(i, fam), "rss"))
        except WorkerDied:
            pass
        finally:
            local.crash = False
        if out is not None and out.details.get("kind") == "auth":
            with db_lock:
                from shared.publishing.connections import store

                conn = store.get(fam)
                if conn is not None and conn.status == "needs_reconnect":
                    world.connect(fam)  # the owner reconnects; later publications can go through

    db_lock = threading.Lock()
    jobs = list(plan) + [p for p in plan if p[3]]  # duplicates submitted again, concurrently
    rng.shuffle(jobs)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, jobs))

    t_pool = time.monotonic() - started
    # drain: rate-limit resets and retries come due; dead workers' leases run out (nobody is running now) and
    # processing checks come due
    for _ in range(300):
        make_due(states=("publishing",))
        sweep_after_lease()
        runner.run_overdue(grace_seconds=0)
        left = db.execute("SELECT count(*) AS n FROM publications WHERE state IN ('planned','publishing')"
                          ).fetchone()["n"]
        if not left:
            break
        time.sleep(0.02)

    rows = db.execute("SELECT idempotency_key, family, state, last_error, notified FROM publications").fetchall()
    assert len(rows) == N
    states = Counter(r["state"] for r in rows)
    assert set(states) <= {"published", "failed", "unconfirmed"}, states

    fakes = {id(f): f for f in world.by_family.values()}.values()
    ledger: Counter = Counter()
    for f in fakes:
        assert f.duplicates() == {}, f"{f.name} got duplicate posts: {f.duplicates()}"
        for p in f.posts:
            m = re.search(r"\[pub:(\d+)\]", str(p.get("text") or ""))
            if m:
                ledger[int(m.group(1))] += 1
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
    notes = db.execute("SELECT count(*) AS n FROM notifications WHERE title LIKE 'Check your%%'").fetchone()["n"]
    assert notes == unconfirmed
    faults_seen = Counter(str(p[2]) for p in plan)
    kinds = Counter((r["family"], r["state"], (r["last_error"] or "")[:60]) for r in rows if r["state"] != "published")
    for k, v in kinds.most_common(25):
        print(v, k)
    elapsed = time.monotonic() - started
    print(f"\nrandomized run: {dict(states)}; posts={sum(ledger.values())}; faults={len(faults_seen)} kinds; "
          f"{elapsed:.1f}s (workers {t_pool:.1f}s)")
    assert states["published"] > N * 0.5  # the faults are the exception, not the rule
