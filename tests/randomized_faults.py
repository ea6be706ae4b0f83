"""The seeded randomized publishing run: publications across all seven platforms with injected faults, published
in parallel threads, some submitted twice at once, workers dying right before the published record is written;
then a drain until every publication has settled. tests/test_publishing_randomized.py runs it with a few hundred
publications and checks the outcome; `python -m bench randomized_faults` runs it with 1,000 and more seeds.

Every fault of every family and a dying worker in every family are in each plan, whatever its size: a smaller run
drops volume, never a kind of fault."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from publishing_fakes.pinterest import BOARD
from publishing_time import make_due, sweep_after_lease

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
# every injected fault, and a worker dying mid-publish, in every family
EVERY_FAULT = [(fam, fault) for fam in WEIGHTS for fault in [*FAULTS[fam], "crash"]]


class WorkerDied(BaseException):
    """Stands for the worker being killed mid-publish: not an Exception, so nothing in the engine catches it."""


@dataclass
class Run:
    n: int
    seed: int
    plan: list[tuple]  # (i, family, fault, submitted twice)
    rows: list[dict]
    ledger: Counter  # posts on the fakes per publication number
    duplicates: dict[str, dict[str, int]]  # per fake: the publications it holds more than one post of
    notes: int  # "Check your ..." notifications
    pool_seconds: float
    seconds: float

    @property
    def states(self) -> Counter:
        return Counter(r["state"] for r in self.rows)

    def problems(self) -> list[str]:
        """What tests/test_publishing_randomized.py asserts, as a list (the bench prints it)."""
        out = [f"{len(self.rows)} rows for {self.n} publications"] if len(self.rows) != self.n else []
        out += [f"state {s}" for s in set(self.states) - {"published", "failed", "unconfirmed"}]
        out += [f"{name} got duplicate posts: {d}" for name, d in self.duplicates.items() if d]
        out += [f"publication {i} posted {k} times" for i, k in self.ledger.items() if k > 1]
        unconfirmed = 0
        for r in self.rows:
            i = int(r["idempotency_key"].split(":")[1])
            if r["state"] == "published" and self.ledger[i] != 1:
                out.append(f"published but not posted: {r}")
            elif r["state"] == "failed" and (not r["last_error"] or self.ledger[i]):
                out.append(f"failed but posted or without a reason: {r}")
            elif r["state"] == "unconfirmed":
                unconfirmed += 1
                if not r["notified"]:
                    out.append(f"unconfirmed, owner not told: {r}")
        if self.notes != unconfirmed:
            out.append(f"{self.notes} notifications for {unconfirmed} unconfirmed")
        if self.states["published"] <= self.n * 0.5:
            out.append(f"only {self.states['published']} of {self.n} published")
        return out


def make_plan(n: int, seed: int) -> list[tuple]:
    """`n` publications: EVERY_FAULT first (so even a small plan has them all), then families by WEIGHTS with a
    fault 45% of the time and a dying worker 10%; 15% of all are submitted twice."""
    assert n >= len(EVERY_FAULT), f"a plan needs at least {len(EVERY_FAULT)} publications to hold every fault"
    rng = random.Random(seed)
    families = list(WEIGHTS)
    plan = []
    for i in range(n):
        if i < len(EVERY_FAULT):
            fam, fault = EVERY_FAULT[i]
        else:
            fam = rng.choices(families, weights=[WEIGHTS[f] for f in families])[0]
            roll = rng.random()
            fault = None
            if roll < 0.45:
                fault = rng.choice(FAULTS[fam])
            elif roll < 0.55:
                fault = "crash"
        dup = rng.random() < 0.15
        plan.append((i, fam, fault, dup))
    return plan


def run(world, db, monkeypatch, *, n: int, seed: int) -> Run:
    """The run against `world` (tests/publishing_fakes, connected here) and the test database."""
    from shared.config import get_config
    from shared.publishing.engine import publications as pubs
    from shared.publishing.engine import runner
    from shared.publishing.gateway import PublishRequest, publish

    started = time.monotonic()
    rng = random.Random(seed)
    world.x.reject_duplicates = False
    for fake in (world.x, world.meta, world.threads, world.tiktok, world.youtube, world.pinterest):
        fake.rate_reset_in = 0.05
    world.meta.video_polls_needed = 1
    world.meta.quota_total = 10 * n  # the IG daily limit is its own test
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
    monkeypatch.setenv("PUBLISH_SETTLE_MAX_CHECKS", "3")  # the drain below makes every check due at once
    get_config.cache_clear()

    plan = make_plan(n, seed)

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
    fakes = {id(f): f for f in world.by_family.values()}.values()
    ledger: Counter = Counter()
    for f in fakes:
        for p in f.posts:
            m = re.search(r"\[pub:(\d+)\]", str(p.get("text") or ""))
            if m:
                ledger[int(m.group(1))] += 1
    notes = db.execute("SELECT count(*) AS n FROM notifications WHERE title LIKE 'Check your%%'").fetchone()["n"]
    return Run(n=n, seed=seed, plan=plan, rows=rows, ledger=ledger, duplicates={f.name: f.duplicates() for f in fakes},
               notes=notes, pool_seconds=t_pool, seconds=time.monotonic() - started)
