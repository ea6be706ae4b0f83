"""The orchestrator of the carried-ahead kill -9 test: plans RSS posts and schedules TMDb posts (X and Facebook)
an hour ahead in this process, then has real OS processes carry them ahead at once (carried_worker.py: several
`ahead.materialise()` passes racing for the same posts, plus deliveries run early next to them), SIGKILLed right
after the publication was created, after it was staged, inside the hand-over transaction and after its commit; then
brings every slot to now and has processes run the deliveries of the posts whose item is armed (the ones not
carried, and a carried one whose disarm a kill prevented) and send the stages, killed in the delivery and in the
send; then the write-back, the engine's maintenance and the capabilities' safety nets; and counts posts per
(post, platform) in the fakes' ledgers against the rows.

Required: every (post, platform) posted exactly once, at most one publication per idempotency key, every
publication published, every RSS planned post `posted` (its item `published`) and every TMDb post `published`
with each platform `posted`, each row pointing at the publication its key names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from publishing_mp.harness import Worker
from publishing_mp.socket_fakes import FakeServer, FaultPlan
from publishing_mp.staged import NO_DURABILITY_GATE, bring_slot

ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).resolve().parent / "carried_worker.py"
LEASE = 1.5
CARRY_POINTS = ("carry_after_prepare", "carry_after_stage", "carry_before_handover_commit",
                "carry_after_handover_commit")


@dataclass
class Config:
    rss_items: int = 8  # one feed each; X, Facebook or both
    tmdb_posts: int = 6  # X, Facebook or both
    carriers: int = 3  # processes per carry round
    carry_rounds: int = 4  # the last without kills
    kill: float = 0.08  # per kill point and process, in the rounds with kills
    seed: int = 20261130
    early: bool = True  # a delivery job next to the racing carriers in the rounds with kills (a few posts each)
    faults: FaultPlan = field(default_factory=lambda: FaultPlan(client_timeout=3.0, seed=3))


@dataclass
class Report:
    expected: list[tuple[str, str]]  # (idempotency key, platform)
    posts: Counter
    duplicates: dict[str, int]
    losses: list[str]
    disagreements: list[str]
    keys: Counter  # publications per idempotency key
    states: Counter
    kills: Counter
    counters: dict[str, dict[str, int]]
    handed_over: int  # posts that ended with carried_by set (the carry's hand-over committed)
    stages_left: int
    errors: list[str]
    seconds: float
    phases: dict[str, float]

    def table(self) -> str:
        rows = [("posts expected / on the fakes", f"{len(self.expected)} / {sum(self.posts.values())}"),
                ("publication states", dict(self.states)), ("duplicates", len(self.duplicates)),
                ("losses", len(self.losses)), ("rows disagreeing", len(self.disagreements)),
                ("kills (SIGKILL) by point", dict(self.kills)),
                *[(k, v) for k, v in self.counters.items()],
                ("posts handed over by a carry", self.handed_over),
                ("stages left in Redis", self.stages_left), ("errors", len(self.errors)),
                ("seconds", f"{self.seconds:.1f} {self.phases}")]
        return "\n".join(f"  {k:<36} {v}" for k, v in rows)


class CarriedHarness:
    def __init__(self, cfg: Config, redis_url: str):
        import random

        import redis as redis_lib
        from publishing_fakes.world import World

        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.redis_url = redis_url
        self.redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        self.world = World()
        self.server: FakeServer | None = None
        self.zygote: subprocess.Popen | None = None
        self.expected: list[tuple[str, str]] = []
        self.phases: dict[str, float] = {}

    def _hosts(self) -> dict[str, object]:
        return {"x.test": self.world.x, "graph.test": self.world.meta}

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.world.env())
        env.update({
            "PUBLISH_MODE": "live", "PUBLISH_STAGING": "1", "PUBLISH_STAGE_DURABILITY": NO_DURABILITY_GATE,
            "PUBLISH_STAGE_LEASE_SECONDS": str(LEASE),
            "PUBLISH_LEASE_SECONDS": str(LEASE), "PUBLISH_HTTP_TIMEOUT_SECONDS": str(self.cfg.faults.client_timeout),
            "PUBLISH_RETRY_BASE_SECONDS": "0.01", "PUBLISH_RECHECK_BASE_SECONDS": "0.3",
            "PUBLISH_SETTLE_DELAY_SECONDS": "0.3",
            "HARNESS_REDIS_URL": self.redis_url, "HARNESS_FAKE_PORT": str(self.server.port if self.server else 0),
            "HARNESS_FAKE_HOSTS": ",".join(self._hosts()),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        })
        return env

    def _job(self, kind: str, seed: int, p: float = 0.0, forced: str = "-") -> Worker:
        assert self.zygote is not None and self.zygote.stdin and self.zygote.stdout
        self.zygote.stdin.write(f"{kind} {seed} {p} {forced}\n")
        self.zygote.stdin.flush()
        return Worker(int(self.zygote.stdout.readline()))

    @staticmethod
    def _wait(workers: list[Worker], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while any(w.alive() for w in workers):
            if time.monotonic() > deadline:
                raise TimeoutError("a job did not finish")
            time.sleep(0.05)

    # --- the posts ---------------------------------------------------------------------------------------------
    def _plan(self) -> None:
        """RSS items with their planned posts and TMDb posts, an hour or so ahead, armed as the app arms them."""
        from shared.config import get_config

        saved = {k: os.environ.get(k) for k in self._env()}
        os.environ.update({k: v for k, v in self._env().items() if k.startswith(("PUBLISH_", "X_", "META_"))})
        get_config.cache_clear()
        try:
            self.world.connect("x", "facebook", expires_in=timedelta(days=2))
            choices = [("x",), ("facebook",), ("x", "facebook")]
            for i in range(self.cfg.rss_items):
                self._rss_item(i, choices[i % 3])
            for i in range(self.cfg.tmdb_posts):
                self._tmdb_post(i, choices[(i + 1) % 3])
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            get_config.cache_clear()

    @staticmethod
    def _ahead(i: int, n: int, minutes: int) -> timedelta:
        """An hour or so ahead (within the staging horizon: carried); the last one beyond the horizon (not carried:
        its own delivery runs it at the slot, next to the carried posts' sends)."""
        return timedelta(hours=7) if i == n - 1 else timedelta(minutes=minutes)

    def _rss_item(self, i: int, platforms: tuple[str, ...]) -> None:
        import uuid

        from psycopg.types.json import Jsonb

        from shared.db import connection
        from shared.rss import queue

        at = datetime.now(timezone.utc) + self._ahead(i, self.cfg.rss_items, 60 + 3 * i)
        with connection() as db:
            feed = db.execute(
                "INSERT INTO rss_feeds (name, url, auto_post, platforms_enabled) VALUES ('F', %s, true, %s) "
                "RETURNING id", (f"https://f.example/{uuid.uuid4().hex}",
                                 Jsonb({p: p in platforms for p in ("x", "threads", "facebook", "pinterest")}))
            ).fetchone()["id"]
            item = db.execute(
                "INSERT INTO rss_items (feed_id, dedupe_key, title, link, status, caption, caption_source) "
                "VALUES (%s, %s, %s, 'https://news.example/t', 'queued', %s, 'ai') RETURNING id",
                (feed, uuid.uuid4().hex, f"Trailer {i}", f"Trailer number {i} is out [cr:{i}]")).fetchone()["id"]
            posts = [db.execute("INSERT INTO rss_planned_posts (item_id, platform, scheduled_at) VALUES (%s, %s, %s) "
                                "RETURNING id, scheduled_at", (item, p, at)).fetchone() for p in platforms]
        queue.send([queue.message_for(dict(p), at) for p in posts])
        self.expected += [(f"rss:{item}:{p}", p) for p in platforms]

    def _tmdb_post(self, i: int, platforms: tuple[str, ...]) -> None:
        from shared.settings.service import update_settings
        from shared.tmdb.service import create_post

        update_settings({"rehostImages": False})
        at = datetime.now(timezone.utc) + self._ahead(i, self.cfg.tmdb_posts, 61 + 3 * i)
        body = {"tmdbId": 438631 + i, "mediaType": "movie", "title": f"Film {i}", "year": 2021,
                "releaseDate": "2021-10-22", "caption": f"Film {i} turns 5 today [ct:{i}]", "imageUrl": None,
                "scheduledTime": at.isoformat(), "source": "tmdb_anniversary", "status": "scheduled",
                "platforms": [{"x": "X", "facebook": "Facebook"}[p] for p in platforms], "anniversaryYears": 5}
        post_id = create_post(body)["id"]
        self.expected += [(f"tmdb:{post_id}:{p}", p) for p in platforms]

    # --- the run -----------------------------------------------------------------------------------------------
    def run(self) -> Report:
        started = time.monotonic()
        w = self.world
        w.x.reject_duplicates = False  # X's duplicate-content 403 would hide our duplicates
        w.x.remaining = 10 ** 9
        self.server = FakeServer(self._hosts(), w.media, self.cfg.faults).start()
        for key in self.redis.scan_iter("carried:*"):
            self.redis.delete(key)
        self._plan()
        self.zygote = subprocess.Popen([sys.executable, str(JOB)], env=self._env(), cwd=str(ROOT),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       stderr=subprocess.DEVNULL)
        try:
            for phase in (self._carry_rounds, self._bring_slots, self._slot_rounds, self._settle_rounds):
                t0 = time.monotonic()
                phase()
                self.phases[phase.__name__.strip("_")] = round(time.monotonic() - t0, 1)
        finally:
            self.zygote.stdin.close()  # type: ignore[union-attr]
            self.zygote.wait(timeout=30)
            self.server.stop()
        return self._report(time.monotonic() - started)

    def _carry_rounds(self) -> None:
        """First one carrier killed at each chosen point (its first time there; all four race for the same
        posts); then carriers racing each other, killed at random, with a delivery running next to them (what a
        carry still in flight at the slot meets: a carrier stalled past its 3-minute lead, or one that began
        just before the slot); the last round without kills (it adopts or carries what the killed ones
        left)."""
        cfg = self.cfg
        self._wait([self._job("carry", cfg.seed + k, 0.0, point) for k, point in enumerate(CARRY_POINTS)])
        for n in range(1, cfg.carry_rounds):
            last = n == cfg.carry_rounds - 1
            p = 0.0 if last else cfg.kill
            jobs = [self._job("carry", cfg.seed + 100 * n + 10 + k, p) for k in range(cfg.carriers)]
            if cfg.early and not last:
                jobs.append(self._job("early", cfg.seed + 100 * n + 50, p))
            self._wait(jobs)

    def _bring_slots(self) -> None:
        """Time passes: every post's slot is now, with its publication's and its stage's."""
        from shared.db import connection
        from shared.publishing.staging import record

        with connection() as c:
            c.execute("UPDATE rss_planned_posts SET scheduled_at = now() - interval '1 second'")
            c.execute("UPDATE tmdb_posts SET scheduled_at = now() - interval '1 second'")
            c.execute("UPDATE publications SET not_before = now() - interval '1 second' "
                      "WHERE state IN ('planned', 'staged')")
        for pub_id in record.all_ids():
            bring_slot(pub_id)

    def _stages(self) -> Counter:
        from shared.publishing.staging import record

        return Counter(record.read(i).get("state", "gone") for i in record.all_ids())

    def _slot_rounds(self) -> None:
        """At the slot: the deliveries of the armed items and the staged sends, at once; killed in the first two
        rounds."""
        cfg = self.cfg
        for n in range(3):
            p = cfg.kill if n < 2 else 0.0
            if n == 0:  # one delivery alone (with the sends), killed the first time the gateway has answered it
                jobs = [self._job("deliver", cfg.seed + 200, 0.0, "delivery_after_publish")]
            else:
                jobs = [self._job("deliver", cfg.seed + 200 + 10 * n + k, p) for k in range(2)]
            jobs += [self._job("send", cfg.seed + 300 + 10 * n + k, p) for k in range(3)]
            self._wait(jobs)
            if self._stages()["claimed"]:  # a killed sender's claim: it runs out, then another may take it
                time.sleep(LEASE + 0.1)

    def _settle_rounds(self) -> None:
        from shared.db import connection

        time.sleep(LEASE + 0.1)  # the leases of senders killed while `sending` run out
        for _ in range(8):
            self._wait([self._job("writeback", 0)])
            self._wait([self._job("deliver", self.cfg.seed + 999)])
            self._wait([self._job("settle", 0)])
            with connection() as c:
                open_rows = c.execute(
                    "SELECT (SELECT count(*) FROM publications WHERE state IN ('planned','publishing','staged')) "
                    "+ (SELECT count(*) FROM rss_planned_posts WHERE status IN ('planned','publishing','waiting')) "
                    "+ (SELECT count(*) FROM tmdb_posts WHERE status IN ('scheduled','publishing')) AS n"
                ).fetchone()["n"]
            if not open_rows and not self._stages():
                return
            time.sleep(LEASE + 0.1)  # a killed claim runs out
        with connection() as c:
            rows = [*c.execute("SELECT 'publication' AS t, idempotency_key AS k, state AS s FROM publications "
                               "WHERE state IN ('planned','publishing','staged')"),
                    *c.execute("SELECT 'rss' AS t, id::text || ' ' || platform AS k, status || ' ' || "
                               "coalesce(carried_by::text, '-') || ' ' || coalesce(outcome::text, '') AS s "
                               "FROM rss_planned_posts WHERE status IN ('planned','publishing','waiting')"),
                    *c.execute("SELECT 'tmdb' AS t, id::text AS k, status || ' ' || coalesce(carried_by::text, '-') "
                               "|| ' ' || coalesce(platform_results::text, '') AS s FROM tmdb_posts "
                               "WHERE status IN ('scheduled','publishing')")]
        raise AssertionError(f"still open after the settle rounds: {rows}, stages {self._stages()}, "
                             f"errors {self.redis.lrange('carried:errors', 0, 3)}")

    # --- the count ---------------------------------------------------------------------------------------------
    def _report(self, seconds: float) -> Report:
        from shared.db import connection
        from shared.publishing.staging import record

        with connection() as c:
            pubs = c.execute("SELECT * FROM publications").fetchall()
            rss = {(str(r["item_id"]), r["platform"]): r for r in c.execute(
                "SELECT p.*, i.status AS item_status FROM rss_planned_posts p JOIN rss_items i ON i.id = p.item_id")}
            tmdb = {str(r["id"]): r for r in c.execute("SELECT * FROM tmdb_posts")}
        posts: Counter = Counter()
        for fake, platform in ((self.world.x, "x"), (self.world.meta, "facebook")):
            for p in fake.posts:
                m = re.search(r"\[(c[rt]):(\d+)\]", str(p.get("text") or p.get("message") or ""))
                if m:
                    posts[f"{m.group(1)}:{m.group(2)}:{platform}"] += 1
        keys = Counter(str(p["idempotency_key"]) for p in pubs)
        by_key = {str(p["idempotency_key"]): p for p in pubs}
        losses, disagreements = [], []
        tags = self._tags()
        for key, platform in self.expected:
            kind, ref, _ = key.split(":")
            n = posts[tags[key]]
            pub = by_key.get(key)
            if n == 0:
                losses.append(f"{key}: not posted (publication {pub and pub['state']}: "
                              f"{pub and (pub['error_kind'], pub['last_error'], pub['progress'])})")
            if pub is None or pub["state"] != "published":
                disagreements.append(f"{key}: publication {pub and pub['state']}")
                continue
            if kind == "rss":
                row = rss[(ref, platform)]
                if (row["status"] != "posted" or row["item_status"] != "published"
                        or (row["outcome"] or {}).get("id") != pub["platform_post_id"]
                        or (row["carried_by"] is not None and str(row["carried_by"]) != str(pub["id"]))):
                    disagreements.append(f"{key}: planned post {row['status']} (item {row['item_status']}, carried "
                                         f"by {row['carried_by']}, outcome {row['outcome']}) vs {pub['id']}")
            else:
                row = tmdb[ref]
                result = (row["platform_results"] or {}).get(platform) or {}
                carried = (row["carried_by"] or {}).get(platform)
                if (row["status"] != "published" or result.get("status") != "posted"
                        or result.get("id") != pub["platform_post_id"]
                        or (carried is not None and str(carried) != str(pub["id"]))):
                    disagreements.append(f"{key}: TMDb post {row['status']} ({result}, carried by {carried}) vs "
                                         f"{pub['id']} ({pub['platform_post_id']}, created {pub['created_at']})")
        counters = {name: {k: int(v) for k, v in self.redis.hgetall(f"carried:{name}").items()}
                    for name in ("carried", "early", "delivered", "verdicts", "written_back", "safety_net")}
        return Report(expected=list(self.expected), posts=posts,
                      duplicates={k: v for k, v in posts.items() if v > 1}, losses=losses,
                      disagreements=disagreements, keys=keys, states=Counter(p["state"] for p in pubs),
                      kills=Counter({k: int(v) for k, v in self.redis.hgetall("carried:kills").items()}),
                      counters=counters, stages_left=len(record.all_ids()),
                      handed_over=sum(r["carried_by"] is not None for r in [*rss.values(), *tmdb.values()]),
                      errors=list(self.redis.lrange("carried:errors", 0, 20)), seconds=seconds,
                      phases=dict(self.phases))

    def _tags(self) -> dict[str, str]:
        """idempotency key -> the tag its text carries on the fake ("cr:<i>:<platform>" / "ct:<i>:<platform>")."""
        from shared.db import connection

        with connection() as c:
            items = {str(r["id"]): r["caption"] for r in c.execute("SELECT id, caption FROM rss_items")}
            films = {str(r["id"]): r["caption"] for r in c.execute("SELECT id, caption FROM tmdb_posts")}
        out = {}
        for key, platform in self.expected:
            kind, ref, _ = key.split(":")
            m = re.search(r"\[(c[rt]):(\d+)\]", (items if kind == "rss" else films)[ref])
            assert m is not None
            out[key] = f"{m.group(1)}:{m.group(2)}:{platform}"
        return out


def run(cfg: Config, redis_url: str) -> Report:
    return CarriedHarness(cfg, redis_url).run()
