"""The orchestrator: N publications across the seven platforms, published by worker OS processes running the
real engine against one Postgres and Redis, while things go wrong the way they do in production.

- Every message is delivered at least twice (QStash is at-least-once), sometimes at the same moment; the
  engine's own delayed messages (rate-limit resets, retries, processing checks) go through a real QStash
  emulator and are likewise delivered twice. A message a killed worker was holding is delivered again.
- Workers die by SIGKILL: at random moments (this process), right after a sender's claim and right before
  the published record is written (the worker itself), right after the platform accepted (the fake server).
  A replacement starts each time.
- The platforms (tests/publishing_fakes on a real socket, socket_fakes.py) accept slowly, time out after
  accepting, drop the connection after accepting, answer 500 after accepting, refuse, rate-limit, fail
  look-ups, and take so long over some YouTube uploads that they outlive the lease.
- Workers stall: SIGSTOP past the lease, then SIGCONT (their claims are taken over while they live).
- The owner re-sends from Compose and approves RSS retries while all this happens.
Then a settle phase (no faults, no kills, maintenance ticks with short back-offs) and the count: posts per
publication in the fakes' ledgers against the rows.

Required: no duplicates (a publication posted twice), no losses (neither posted nor visibly failed or
unconfirmed), and no false proof (a row `failed` as "nothing was posted" whose post exists).
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publishing_mp.socket_fakes import FakeServer, FaultPlan
from publishing_mp.worker import INBOX, processing_key

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "worker.py"
FAMILIES = ("x", "threads", "facebook", "instagram", "pinterest", "tiktok", "youtube")
WEIGHTS = (26, 16, 16, 12, 10, 10, 10)


@dataclass
class Config:
    publications: int = 150
    workers: int = 3
    threads_per_worker: int = 2
    seed: int = 20261209
    feed_seconds: float = 6.0  # the first deliveries are spread over this long
    random_kill_every: float = 6.0  # mean seconds between random-moment kills (0: none)
    freeze_every: float = 8.0  # mean seconds between freezes (SIGSTOP past the lease, then SIGCONT; 0: none)
    kill_after_claim: float = 0.015
    kill_before_record: float = 0.015
    faults: FaultPlan = field(default_factory=lambda: FaultPlan(
        client_timeout=2.0, slow_accept=0.05, refuse=0.03, reject=0.03, rate_limit=0.02, after_accept=0.12,
        kill_after=0.02, lookup_fail=0.15, slow_upload=0.3))
    compose_resend: float = 0.4  # of compose publications, re-sent later by the owner
    rss_retry: float = 0.4  # of RSS publications, an approved retry later
    lease_seconds: float = 4.0
    settle_timeout: float = 300.0  # an upper bound for a loaded machine; a normal run settles in seconds
    youtube_video_bytes: int = 700 * 1024  # three 256 KiB chunks
    verbose: bool = bool(os.environ.get("HARNESS_VERBOSE"))


@dataclass
class Report:
    publications: int
    platforms: Counter
    messages: Counter
    faults: Counter
    kills: Counter
    states: Counter
    duplicates: dict[str, int]
    losses: list[str]
    false_proofs: list[str]
    unconfirmed: int
    unnotified_unconfirmed: int
    rearms: int
    takeovers: int
    late_results: int
    worker_errors: Counter
    error_samples: list[str]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    worker_starts: int = 0

    def table(self) -> str:
        def line(name: str, value: Any) -> str:
            return f"  {name:<34} {value}"
        rows = [
            line("publications", self.publications),
            line("  by platform", dict(sorted(self.platforms.items()))),
            line("messages handled (redeliveries incl.)", sum(self.messages.values())),
            line("  by kind", _by_kind(self.messages)),
            line("faults by kind", dict(sorted(self.faults.items()))),
            line("kills (SIGKILL) and freezes", dict(sorted(self.kills.items()))),
            line("worker processes started", self.worker_starts),
            line("take-overs after a lease expired", self.takeovers),
            line("late answers kept as evidence", self.late_results),
            line("re-arms (proven absent)", self.rearms),
            line("final states", dict(sorted(self.states.items()))),
            line("duplicates", len(self.duplicates)),
            line("losses", len(self.losses)),
            line("false proofs (failed but posted)", len(self.false_proofs)),
            line("unconfirmed rows", self.unconfirmed),
            line("worker errors", dict(self.worker_errors) or 0),
            line("seconds", f"{self.seconds:.1f} (" + ", ".join(f"{k} {v:.1f}" for k, v in self.phases.items())
                 + ")"),
        ]
        return "\n".join(rows)

    @property
    def ok(self) -> bool:
        return not self.duplicates and not self.losses and not self.false_proofs and not self.unnotified_unconfirmed


def _by_kind(messages: Counter) -> dict[str, int]:
    out: Counter = Counter()
    for k, v in messages.items():
        out[k.split(":")[0]] += v
    return dict(sorted(out.items()))


class Worker:
    """A worker process forked by the zygote (not our child: liveness by signal 0)."""

    def __init__(self, pid: int):
        self.pid = pid

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return _state(self.pid) not in ("Z", "X", None)

    def signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _content(i: int, family: str, media: dict[str, str]) -> dict[str, Any]:
    marker = f"[pub:{i}]"
    if family == "x":
        return {"text": f"news {marker}", **({"imageUrl": media["img"]} if i % 3 == 0 else {})}
    if family == "threads":
        return {"text": f"thread {marker}", **({"imageUrl": media["img"]} if i % 4 == 0 else {})}
    if family == "facebook":
        return {"text": f"page {marker}", **({"link": "https://variety.com/x"} if i % 2 else {})}
    if family == "instagram":
        return {"text": f"ig {marker}", "imageUrl": media["img"]}
    if family == "pinterest":
        return {"title": f"pin {marker}", "text": "d", "imageUrl": media["img"], "boardId": "b1"}
    if family == "tiktok":
        return {"text": f"tt {marker}", "videoUrl": media["tt"]}
    return {"youtubeTitle": f"yt {marker}", "text": "d", "videoUrl": media["yt"]}


class Harness:
    def __init__(self, cfg: Config, redis_url: str):
        import redis as redis_lib
        from publishing_fakes.world import World

        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        self.redis_url = redis_url
        self.world = World()
        self.queue: list[tuple[float, int, str]] = []
        self.queue_lock = threading.Lock()
        self.seq = 0
        self.procs: dict[int, Worker] = {}
        self.zygote: subprocess.Popen | None = None
        self.starts = 0
        self.kills: Counter = Counter()
        self.calm = threading.Event()
        self.done = threading.Event()
        self.server: FakeServer | None = None
        self.qstash = None
        self.phases: dict[str, float] = {}

    # --- setup ------------------------------------------------------------------------------------
    def _hosts(self) -> dict[str, object]:
        w = self.world
        return {"x.test": w.x, "graph.test": w.meta, "threads.test": w.threads, "tiktok.test": w.tiktok,
                "tiktok-upload.test": w.tiktok, "yt.test": w.youtube, "oauth.yt.test": w.youtube,
                "pin.test": w.pinterest, "pin-upload.test": w.pinterest}

    def _start_qstash(self) -> dict[str, str]:
        """A QStash emulator of our own whose deliveries come to the relay (then to the inbox, twice)."""
        import secrets

        from shared.config import get_config
        from shared.local import services
        from shared.local.qstash_emulator import create_emulator

        token, cur, nxt = (secrets.token_urlsafe(32), "sig_" + secrets.token_urlsafe(32),
                           "sig_" + secrets.token_urlsafe(32))
        emulator = create_emulator(token, cur, nxt, retry_base_seconds=0.2, tick_seconds=0.05,
                                   rewrite_base=(get_config().public_base_url, self.server.base_url))
        # a worker killed while publishing a message leaves a half-read request behind: expected, not news
        uvicorn_log = logging.getLogger("uvicorn.error")
        self._restore_log = (uvicorn_log, uvicorn_log.level)
        uvicorn_log.setLevel(logging.CRITICAL)
        self.qstash = services.ServerThread(emulator.app).start()
        return {"QSTASH_URL": self.qstash.url, "QSTASH_TOKEN": token, "QSTASH_CURRENT_SIGNING_KEY": cur,
                "QSTASH_NEXT_SIGNING_KEY": nxt}

    def _relay(self, path: str, body: bytes) -> None:
        kind = path.rstrip("/").rsplit("/", 1)[-1]
        if kind not in ("run", "settle"):
            return
        args = json.loads(body or b"{}")
        for delay in (0.0, self.rng.uniform(0, 1.5)):  # at least once: every delivery comes twice
            self.push({"kind": kind, "args": {"publicationId": args.get("publicationId")}}, delay)

    def push(self, message: dict, delay: float = 0.0) -> None:
        with self.queue_lock:
            self.seq += 1
            heapq.heappush(self.queue, (time.monotonic() + delay, self.seq, json.dumps(message)))

    def _worker_env(self, extra: dict[str, str]) -> dict[str, str]:
        cfg = self.cfg
        env = dict(os.environ)
        env.update(self.world.env())
        env.update(extra)
        env.update({
            "PUBLISH_MODE": "live", "PUBLISH_LEASE_SECONDS": str(cfg.lease_seconds),
            "PUBLISH_HTTP_TIMEOUT_SECONDS": str(cfg.faults.client_timeout),
            "PUBLISH_RETRY_BASE_SECONDS": "0.01", "PUBLISH_POLL_INTERVAL_SECONDS": "0.05",
            "PUBLISH_POLL_BUDGET_SECONDS": "1", "PUBLISH_SETTLE_DELAY_SECONDS": "0.5",
            "PUBLISH_RECHECK_BASE_SECONDS": "0.3", "PUBLISH_SETTLE_MAX_CHECKS": "6",
            "HARNESS_REDIS_URL": self.redis_url, "HARNESS_FAKE_PORT": str(self.server.port),
            "HARNESS_FAKE_HOSTS": ",".join(self._hosts()), "HARNESS_THREADS": str(cfg.threads_per_worker),
            "HARNESS_KILL_AFTER_CLAIM": str(cfg.kill_after_claim),
            "HARNESS_KILL_BEFORE_RECORD": str(cfg.kill_before_record),
            "HARNESS_YOUTUBE_CHUNK_BYTES": str(256 * 1024),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        })
        return env

    def _spawn(self) -> None:
        """A new worker process, forked by the zygote (which imported the engine once)."""
        if self.zygote is None:
            self.zygote = subprocess.Popen([sys.executable, str(WORKER), "--zygote"], env=self.env, cwd=str(ROOT),
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                           stderr=None if self.cfg.verbose else subprocess.DEVNULL)
        self.zygote.stdin.write("spawn\n")
        self.zygote.stdin.flush()
        pid = int(self.zygote.stdout.readline())
        self.procs[pid] = Worker(pid)
        self.starts += 1

    # --- the phases -------------------------------------------------------------------------------
    def run(self) -> Report:
        import resource

        cfg = self.cfg
        started = self.t0 = time.monotonic()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        w = self.world
        w.x.reject_duplicates = False  # X's duplicate-content 403 would hide our duplicates
        w.x.remaining = 10 ** 9
        for fake in (w.x, w.meta, w.threads, w.tiktok, w.youtube, w.pinterest):
            fake.rate_reset_in = 0.3
        w.meta.video_polls_needed = 1
        w.meta.quota_total = 10 * cfg.publications
        w.threads.video_polls_needed = 1
        self.server = FakeServer(self._hosts(), w.media, cfg.faults, relay=self._relay).start()
        qstash_env = self._start_qstash()
        w.connect()  # tokens the fakes accept, stored (encrypted) where the workers read them
        base = self.server.base_url
        w.media.add("i.jpg", b"\xff\xd8" + b"\x00" * 200, "image/jpeg")
        w.media.add("tt.mp4", b"\x09" * 4000, "video/mp4")
        w.media.add("yt.mp4", bytes(range(256)) * (cfg.youtube_video_bytes // 256), "video/mp4")
        media = {"img": f"{base}/i.jpg", "tt": f"{base}/tt.mp4", "yt": f"{base}/yt.mp4"}
        for key in self.redis.scan_iter("harness:*"):
            self.redis.delete(key)
        self.env = self._worker_env(qstash_env)

        plan = self._plan(media)
        for _ in range(cfg.workers):
            self._spawn()
        threads = [threading.Thread(target=f, daemon=True) for f in (self._feeder, self._supervisor,
                                                                      self._killer, self._freezer, self._ticker)]
        for t in threads:
            t.start()
        try:
            self._wait_main_phase()
            self.phases["main"] = time.monotonic() - started
            self.calm.set()
            self.server.calm()
            self.redis.set("harness:calm", "1")
            self._wait_settled()
            self.phases["settle"] = time.monotonic() - started - self.phases["main"]
        finally:
            self.done.set()
            self._stop_workers()
            self.server.stop()
            self.qstash.stop()
            self._restore_log[0].setLevel(self._restore_log[1])
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        self.phases["orchestrator cpu"] = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        return self._report(plan, time.monotonic() - started)

    def _plan(self, media: dict[str, str]) -> list[dict]:
        cfg, rng = self.cfg, self.rng
        plan = []
        for i in range(cfg.publications):
            family = rng.choices(FAMILIES, weights=WEIGHTS)[0]
            source = rng.choice(("rss", "compose", "media"))
            content = _content(i, family, media)
            key = f"mp:{i}:{family}"
            at = rng.uniform(0, cfg.feed_seconds)
            if source == "compose":
                first = {"kind": "compose", "args": {"platform": family, "content": content, "key": key}}
            else:
                first = {"kind": "publish", "args": {"idempotency_key": key, "platform": family, "content": content,
                                                     "source": source}}
            # at least once: the same message again, at once (concurrent) or a little later
            for delay in (at, at + rng.choice((0.0, rng.uniform(0.1, 3.0)))):
                self.push(first, delay)
            if source == "compose" and rng.random() < cfg.compose_resend:
                self.push(first, at + rng.uniform(0.5, 6.0))  # the owner presses send again
            if source == "rss" and rng.random() < cfg.rss_retry:
                retry = {"kind": "rss_retry", "args": first["args"]}
                for delay in (at + rng.uniform(0.5, 6.0),) * 2:
                    self.push(retry, delay)
            plan.append({"i": i, "family": family, "key": key, "source": source})
        return plan

    def _feeder(self) -> None:
        while not self.done.is_set():
            now = time.monotonic()
            batch = []
            with self.queue_lock:
                while self.queue and self.queue[0][0] <= now:
                    batch.append(heapq.heappop(self.queue)[2])
            if batch:
                self.redis.lpush(INBOX, *batch)
            time.sleep(0.02)

    def _ticker(self) -> None:
        """The maintenance schedule (every 30 min in production), delivered at least once, too."""
        while not self.done.is_set():
            self.push({"kind": "maintenance", "args": {"grace": 2.0}})
            self.push({"kind": "maintenance", "args": {"grace": 2.0}}, 0.2)
            time.sleep(0.7)

    def _supervisor(self) -> None:
        while not self.done.is_set():
            for pid, p in list(self.procs.items()):
                if p.alive():
                    continue
                del self.procs[pid]
                # the messages it held are delivered again (QStash retries what got no answer)
                while self.redis.rpoplpush(processing_key(pid), INBOX):
                    pass
                if not self.done.is_set():
                    self._spawn()
            time.sleep(0.1)

    def _victims(self, every: float):
        """A live worker now and then (mean `every` seconds apart) until the calm begins."""
        while every > 0 and not self.calm.is_set():
            time.sleep(self.rng.uniform(0.3 * every, 1.7 * every))
            live = [p for p in self.procs.values() if p.alive()]
            if live and not self.calm.is_set():
                yield self.rng.choice(live)

    def _killer(self) -> None:
        for victim in self._victims(self.cfg.random_kill_every):
            victim.signal(signal.SIGKILL)
            self.kills["random_moment"] += 1

    def _freezer(self) -> None:
        """A worker stalls (a long pause, a starved VM) past its lease: its claims are taken over while it is
        still alive, and whatever it does when it wakes up must not move a row it no longer holds."""
        for victim in self._victims(self.cfg.freeze_every):
            victim.signal(signal.SIGSTOP)
            self.kills["freeze_past_lease"] += 1
            time.sleep(self.cfg.lease_seconds + 1.5)
            victim.signal(signal.SIGCONT)

    def _busy(self) -> bool:
        with self.queue_lock:
            pending = any(json.loads(m[2])["kind"] != "maintenance" for m in self.queue)
        if pending or self.redis.llen(INBOX):
            return True
        return any(self.redis.llen(processing_key(pid)) for pid in self.procs)

    def _progress(self) -> None:
        if not self.cfg.verbose:
            return
        from shared.db import connection

        with connection() as c:
            states = {r["state"]: r["n"] for r in c.execute(
                "SELECT state, count(*) AS n FROM publications GROUP BY state")}
        with self.queue_lock:
            queued = len(self.queue)
        print(f"[harness {time.monotonic() - self.t0:6.1f}s] queued={queued} inbox={self.redis.llen(INBOX)} "
              f"workers={len(self.procs)} states={states} requests={self.server.stats.requests}", flush=True)

    def _wait_main_phase(self) -> None:
        deadline = time.monotonic() + self.cfg.feed_seconds + 30 + self.cfg.publications * 0.5
        last = 0.0
        while time.monotonic() < deadline:
            time.sleep(0.3)
            if time.monotonic() - last > 2:
                last = time.monotonic()
                self._progress()
            with self.queue_lock:
                waiting = any(json.loads(m[2])["kind"] not in ("maintenance", "run", "settle") for m in self.queue)
            if not waiting and not self.redis.llen(INBOX):
                return

    def _wait_settled(self) -> None:
        """No faults now: wait until nothing is planned or publishing, every unconfirmed row was re-checked
        since the calm began, and nothing is in flight."""
        from shared.db import connection

        calm_at = time.time()
        deadline = time.monotonic() + self.cfg.settle_timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with connection() as c:
                left = c.execute(
                    """SELECT count(*) FILTER (WHERE state IN ('planned','publishing')) AS active,
                              count(*) FILTER (WHERE state='unconfirmed' AND to_jsonb(p)->>'next_check_at' IS NOT NULL
                                               AND updated_at < to_timestamp(%s) + interval '3 seconds') AS unchecked
                       FROM publications p""", (calm_at,)).fetchone()
            if not left["active"] and not left["unchecked"] and self.server.idle() and not self._busy():
                return

    def _stop_workers(self) -> None:
        for p in self.procs.values():
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(p.alive() for p in self.procs.values()):
            time.sleep(0.1)
        for p in self.procs.values():
            p.signal(signal.SIGKILL)
        if self.zygote is not None:
            self.zygote.stdin.close()
            try:
                self.zygote.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.zygote.kill()

    # --- the count ----------------------------------------------------------------------------------
    def _report(self, plan: list[dict], seconds: float) -> Report:
        import re

        from shared.db import connection

        ledger: Counter = Counter()
        fakes = {id(f): f for f in self.world.by_family.values()}.values()
        for fake in fakes:
            for post in fake.posts:
                m = re.search(r"\[pub:(\d+)\]", str(post.get("text") or ""))
                if m:
                    ledger[int(m.group(1))] += 1
        with connection() as c:
            rows = {r["idempotency_key"]: r for r in c.execute(
                "SELECT idempotency_key, state, notified, jsonb_array_length(COALESCE(to_jsonb(p)->'late_results', "
                "'[]'::jsonb)) AS late FROM publications p "
                "WHERE idempotency_key LIKE 'mp:%%' OR idempotency_key LIKE 'api:mp:%%'")}
            logs = c.execute(
                """SELECT count(*) FILTER (WHERE message LIKE 'took over %%') AS takeovers,
                          count(*) FILTER (WHERE message LIKE 'running the %% publication again%%') AS rearms
                   FROM activity_logs WHERE service='publishing'""").fetchone()
        states: Counter = Counter()
        duplicates, losses, false_proofs = {}, [], []
        unconfirmed = unnotified = late = 0
        for p in plan:
            row = rows.get(p["key"]) or rows.get(f"api:{p['key']}:{_target(p['family'])}")
            posts = ledger[p["i"]]
            state = row["state"] if row else "missing"
            states[state] += 1
            late += 1 if row and row["late"] else 0
            if posts > 1:
                duplicates[p["key"]] = posts
            if state == "failed" and posts:
                false_proofs.append(p["key"])
            if state == "unconfirmed":
                unconfirmed += 1
                unnotified += 0 if row["notified"] else 1
            if not posts and state not in ("failed", "unconfirmed"):  # incl. "published" with nothing posted
                losses.append(f"{p['key']} ({state})")
        errors = Counter({k: int(v) for k, v in self.redis.hgetall("harness:errors").items()})
        kills = Counter(self.kills)
        kills.update({k: int(v) for k, v in self.redis.hgetall("harness:kills").items()})
        kills.update(self.server.stats.kills)
        return Report(
            publications=len(plan), platforms=Counter(p["family"] for p in plan),
            messages=Counter({k: int(v) for k, v in self.redis.hgetall("harness:handled").items()}),
            faults=Counter(self.server.stats.faults), kills=kills, states=states, duplicates=duplicates,
            losses=losses, false_proofs=false_proofs, unconfirmed=unconfirmed, unnotified_unconfirmed=unnotified,
            rearms=int(logs["rearms"]), takeovers=int(logs["takeovers"]), late_results=late, worker_errors=errors,
            error_samples=self.redis.lrange("harness:error_log", 0, 4), seconds=seconds, phases=dict(self.phases),
            worker_starts=self.starts)


def _target(family: str) -> str:
    from shared.publishing.platforms import normalize_target

    return normalize_target(family)


def run(cfg: Config, redis_url: str) -> Report:
    return Harness(cfg, redis_url).run()
