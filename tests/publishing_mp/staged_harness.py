"""The orchestrator of the staged-post kill -9 test: stages N posts (X and Facebook) in this process, then has
real OS processes send them at their slot (several at once for every stage), SIGKILLed at the protocol's worst
moments, and writes them back (killed too), then lets the engine settle what a killed write-back left; and
counts posts per publication in the fakes' ledgers against the rows.

Required: no post twice, none lost (every publication ends published, failed with a proof that nothing was
posted, or unconfirmed with the owner told), and no false proof (a `failed` row whose post exists)."""

from __future__ import annotations

import os
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
JOB = Path(__file__).resolve().parent / "staged_worker.py"
LEASE = 1.5


@dataclass
class Config:
    publications: int = 30
    senders: int = 3  # processes per send round (two threads each)
    kill: float = 0.1  # per kill point and process, in the rounds with faults
    faulty_rounds: int = 3
    seed: int = 20261130
    faults: FaultPlan = field(default_factory=lambda: FaultPlan(
        client_timeout=0.8, slow_accept=0.04, reject=0.05, rate_limit=0.03, after_accept=0.12, kill_after=0.06,
        lookup_fail=0.1, seed=7))


@dataclass
class Report:
    states: Counter
    posts: dict[str, int]
    duplicates: dict[str, int]
    losses: list[str]
    false_proofs: list[str]
    unnotified: list[str]
    kills: Counter
    server_kills: int
    verdicts: Counter
    written_back: Counter
    faults: Counter
    errors: list[str]
    seconds: float

    def table(self) -> str:
        rows = [("final states", dict(self.states)), ("duplicates", len(self.duplicates)),
                ("losses", len(self.losses)), ("false proofs", len(self.false_proofs)),
                ("kills (SIGKILL) by the process", dict(self.kills)),
                ("kills after the platform accepted", self.server_kills),
                ("send verdicts", dict(self.verdicts)), ("written back", dict(self.written_back)),
                ("platform faults", dict(self.faults)), ("errors", len(self.errors)),
                ("seconds", f"{self.seconds:.1f}")]
        return "\n".join(f"  {k:<36} {v}" for k, v in rows)


class StagedHarness:
    def __init__(self, cfg: Config, redis_url: str):
        import redis as redis_lib
        from publishing_fakes.world import World

        self.cfg = cfg
        self.redis_url = redis_url
        self.redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        self.world = World()
        self.server: FakeServer | None = None
        self.zygote: subprocess.Popen | None = None

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

    def _job(self, kind: str, seed: int, p: float) -> Worker:
        assert self.zygote is not None and self.zygote.stdin and self.zygote.stdout
        self.zygote.stdin.write(f"{kind} {seed} {p}\n")
        self.zygote.stdin.flush()
        return Worker(int(self.zygote.stdout.readline()))

    @staticmethod
    def _wait(workers: list[Worker], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while any(w.alive() for w in workers):
            if time.monotonic() > deadline:
                raise TimeoutError("a job did not finish")
            time.sleep(0.05)

    def _stages(self) -> Counter:
        from shared.publishing.staging import record

        return Counter(record.read(i).get("state", "gone") for i in record.all_ids())

    def _stage_all(self) -> list[str]:
        from shared.config import get_config
        from shared.publishing.engine import publications as pubs
        from shared.publishing.engine.service import submit

        saved = {k: os.environ.get(k) for k in self._env()}
        os.environ.update({k: v for k, v in self._env().items() if k.startswith(("PUBLISH_", "X_", "META_"))})
        get_config.cache_clear()
        try:
            self.world.connect("x", "facebook", expires_in=timedelta(days=2))
            at = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
            ids = []
            for i in range(self.cfg.publications):
                platform = "x" if i % 5 < 3 else "facebook"
                row, _ = submit(key=f"st:{i}", platform=platform, content={"text": f"staged [st:{i}]",
                                                                           "scheduledAt": at}, source="compose")
                row = pubs.get(str(row["id"]))
                assert row is not None and row["state"] == "staged", row
                ids.append(str(row["id"]))
            for pub_id in ids:
                bring_slot(pub_id)
            return ids
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            get_config.cache_clear()

    def run(self) -> Report:
        cfg = self.cfg
        started = time.monotonic()
        w = self.world
        w.x.reject_duplicates = False  # X's duplicate-content 403 would hide our duplicates
        w.x.remaining = 10 ** 9
        for fake in (w.x, w.meta):
            fake.rate_reset_in = 0.3
        self.server = FakeServer(self._hosts(), w.media, cfg.faults).start()
        for key in self.redis.scan_iter("staged:*"):
            self.redis.delete(key)
        ids = self._stage_all()
        self.zygote = subprocess.Popen([sys.executable, str(JOB)], env=self._env(), cwd=str(ROOT),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       stderr=subprocess.DEVNULL)
        try:
            self._send_rounds()
            self.server.calm()
            self._writeback_rounds()
            self._settle_rounds()
        finally:
            self.zygote.stdin.close()  # type: ignore[union-attr]
            self.zygote.wait(timeout=30)
            self.server.stop()
        return self._report(ids, time.monotonic() - started)

    def _send_rounds(self) -> None:
        for n in range(8):
            left = self._stages()
            if not (left["ready"] or left["claimed"]):
                return
            p = self.cfg.kill if n < self.cfg.faulty_rounds else 0.0
            self._wait([self._job("send", self.cfg.seed + 100 * n + k, p) for k in range(self.cfg.senders)])
            if self._stages()["claimed"]:  # a killed sender's claim: it runs out, then another may take it
                time.sleep(LEASE + 0.1)
        raise AssertionError(f"stages still unsent: {self._stages()}")

    def _writeback_rounds(self) -> None:
        from shared.db import connection

        time.sleep(LEASE + 0.1)  # the leases of senders killed while `sending` run out
        for n in range(8):
            with connection() as c:
                staged = c.execute("SELECT count(*) AS n FROM publications WHERE state='staged'").fetchone()["n"]
            if not staged and not sum(self._stages().values()):
                return
            p = self.cfg.kill * 2 if n < self.cfg.faulty_rounds else 0.0
            self._wait([self._job("writeback", self.cfg.seed + 7 + n, p)])
        raise AssertionError(f"not written back: {self._stages()}")

    def _settle_rounds(self) -> None:
        from shared.db import connection

        for _ in range(10):
            with connection() as c:
                open_rows = c.execute("SELECT count(*) AS n FROM publications WHERE state IN "
                                      "('planned','publishing','staged')").fetchone()["n"]
            if not open_rows:
                return
            time.sleep(LEASE + 0.1)  # a killed write-back's claim runs out; a rate limit resets
            self._wait([self._job("settle", 0, 0.0)])
        raise AssertionError("publications still open after the settle rounds")

    def _report(self, ids: list[str], seconds: float) -> Report:
        import re

        from shared.db import connection

        posts: Counter = Counter()
        for fake in (self.world.x, self.world.meta):
            for p in fake.posts:
                m = re.search(r"\[st:(\d+)\]", str(p.get("text") or p.get("message") or ""))
                if m:
                    posts[f"st:{m.group(1)}"] += 1
        with connection() as c:
            rows = c.execute("SELECT * FROM publications WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()
        states: Counter = Counter(r["state"] for r in rows)
        duplicates = {k: v for k, v in posts.items() if v > 1}
        losses, false_proofs, unnotified = [], [], []
        for r in rows:
            key, n = r["idempotency_key"], posts[r["idempotency_key"]]
            if r["state"] == "published" and n == 0:
                losses.append(f"{key}: published without a post")
            elif r["state"] == "failed" and not r["absent_proof"]:
                losses.append(f"{key}: failed without a proof")
            elif r["state"] == "failed" and n > 0:
                false_proofs.append(f"{key}: failed ({r['absent_proof']}) but posted")
            elif r["state"] == "unconfirmed" and not r["notified"]:
                unnotified.append(key)
            elif r["state"] not in ("published", "failed", "unconfirmed"):
                losses.append(f"{key}: ended {r['state']}")
        return Report(states=states, posts=dict(posts), duplicates=duplicates, losses=losses,
                      false_proofs=false_proofs, unnotified=unnotified,
                      kills=Counter({k: int(v) for k, v in self.redis.hgetall("staged:kills").items()}),
                      server_kills=int(self.server.stats.kills["after_accept"]) if self.server else 0,
                      verdicts=Counter({k: int(v) for k, v in self.redis.hgetall("staged:verdicts").items()}),
                      written_back=Counter({k: int(v) for k, v in self.redis.hgetall("staged:written_back").items()}),
                      faults=Counter(dict(self.server.stats.faults)) if self.server else Counter(),
                      errors=list(self.redis.lrange("staged:errors", 0, 20)), seconds=seconds)


def run(cfg: Config, redis_url: str) -> Report:
    return StagedHarness(cfg, redis_url).run()
