"""The orchestrator: worker OS processes run real dispatcher ticks against one Redis and one Postgres while items
are armed, moved and dropped the way the app does it, and ticks die or stall.

- Workers tick on short timers, and all at once on a burst (overlapping ticks).
- Workers die by SIGKILL at random moments (this process) and at chosen points (the worker itself: right after
  the pop leased items, inside a handler, right before the commit, right after it). A replacement starts each
  time.
- Workers stall: SIGSTOP past the lease, then SIGCONT (their items are taken over while they live).
- The owner (this process) moves items earlier and later, to far in the future, drops them, and moves items
  that a tick holds right now to "now" (then bursts); handlers re-arm their items and arm shared siblings for
  now (the same-tick claim).
Then a settle phase (no kills, no freezes, no changes, no deliberate pauses in handlers) until no test item is due
or leased and the ticks in flight then have ended (a generous bound, not a fixed wait: on a loaded machine it takes
longer), and the count. Work left at the bound fails the test as such ("stuck", with what the settle waited for),
before any version is called lost.

"Twice", precisely. At least once is the design: a tick that dies (or stalls past its lease) leaves its items
to be run again after the lease, and that is correct. What is not:
- an overlap: two runs of one item while both runners hold it. A run holds its item from its start until it
  ended (or, if its process died or stalled, until its tick's lease ran out): [start, min(end, lease)]. No
  two such intervals of one item may intersect;
- a re-run after a commit: a tick ran version V of an item (one armed due time), and committed within its lease
  with the item unchanged (not moved from outside meanwhile): V is consumed. No run of V may start after that.
Lost, precisely: the last version the owner armed for an item (and each child its runs re-arm) has a run by
the end; a sibling armed by a tick that committed runs after it was armed; a version moved far ahead is still
armed at exactly its time with its payload; nothing of the test is left due or leased.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch_mp import kinds
from dispatch_mp.worker import BUSY, GO
from shared.scheduling import dispatch

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "worker.py"
KILL_POINTS = ("after_lease", "in_handler", "before_commit", "after_commit")
FAR = 3600.0  # a version moved this far ahead stays armed through the test


@dataclass
class Config:
    workers: int = 4
    seed: int = 20261130
    lease_seconds: float = 2.0
    items: int = 36
    early_items: int = 12
    siblings: int = 4  # few: ticks running at once arm the same one for now (the claim's lease check)
    chaos_seconds: float = 6.0
    # the chaos goes on past chaos_seconds, up to this long, until every kill point was hit and a random kill and a
    # freeze happened (a loaded machine runs fewer ticks in the same time: the doomed workers reach their points late)
    chaos_extra_seconds: float = 12.0
    op_every: float = 0.06  # mean seconds between the owner's changes
    random_kill_every: float = 0.9  # mean seconds between random-moment kills (0: none)
    freeze_every: float = 1.0  # mean seconds between freezes past the lease (0: none)
    kill_odds: dict[str, float] = field(default_factory=lambda: {
        "after_lease": 0.02, "in_handler": 0.02, "before_commit": 0.02, "after_commit": 0.02})
    # a bound only: the settle ends when the work is done (seconds, on an idle machine), and it takes longer only
    # on a loaded one (every tick slower); what it waited for is printed when the bound passes
    settle_timeout: float = 90.0
    verbose: bool = bool(os.environ.get("HARNESS_VERBOSE"))


@dataclass
class Report:
    runs: int
    ticks_committed: int
    kills: Counter
    ops: Counter
    overlaps: list[str]
    lease_cuts: list[str]
    reruns_after_commit: list[str]
    losses: list[str]
    moved_wrong: list[str]
    stuck: list[str]
    reruns_after_a_dead_runner: int
    last_changes: Counter
    stale_starts: int
    stale_after_commit: int
    stale_overlaps: int
    overruns: int
    overruns_unexplained: int
    early_picks: int
    early_picked: int
    same_tick_claims: int
    timelines: list[str]
    loss_timelines: list[str]
    taken_over_after_lease: int
    not_yet: int
    worker_errors: int
    error_samples: list[str]
    worker_starts: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    settle_log: list[str] = field(default_factory=list)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def ok(self) -> bool:
        return not (self.overlaps or self.lease_cuts or self.reruns_after_commit or self.losses or self.moved_wrong
                    or self.stuck or self.worker_errors)

    def table(self) -> str:
        def line(name: str, value: Any) -> str:
            return f"  {name:<44} {value}"
        return "\n".join([
            line("handler runs", self.runs),
            line("ticks committed", self.ticks_committed),
            line("worker processes started", self.worker_starts),
            line("kills (SIGKILL) and freezes", dict(sorted(self.kills.items()))),
            line("owner's changes", dict(sorted(self.ops.items()))),
            line("  last ones per item (checked)", dict(sorted(self.last_changes.items()))),
            line("runs again after a dead/stalled runner", self.reruns_after_a_dead_runner),
            line("items taken over after a lease ran out", self.taken_over_after_lease),
            line("runs started by a tick past its lease", f"{self.stale_starts} ({self.stale_after_commit} of a "
                 f"due time committed meanwhile, {self.stale_overlaps} while another tick held the item)"),
            line("runs past their lease (frozen/killed)", f"{self.overruns} ({self.overruns_unexplained} "
                 "neither frozen nor killed)"),
            line("early picks (taken / ran before due) / same-tick claims",
                 f"{self.early_picked} / {self.early_picks} / {self.same_tick_claims}"),
            line("payloads not yet due (re-armed)", self.not_yet),
            line("overlapping runs (two holders)", len(self.overlaps)),
            line("live leases the lease hash would not outlive", len(self.lease_cuts)),
            line("runs of a committed due time", len(self.reruns_after_commit)),
            line("losses", len(self.losses)),
            line("moved items not at their new time", len(self.moved_wrong)),
            line("left due or leased after the settle", len(self.stuck)),
            line("worker errors", self.worker_errors),
            line("seconds", f"{self.seconds:.1f} (" + ", ".join(f"{k} {v:.1f}" for k, v in self.phases.items())
                 + ")"),
            line("load average at the end (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in self.load)),
        ])


class Worker:
    """A worker process forked by the zygote (not our child: liveness by signal 0 and /proc)."""

    def __init__(self, pid: int):
        self.pid = pid

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False

    def signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass


@dataclass
class Op:
    """One change by the owner: a version armed (due) or the item dropped (due None)."""

    member: str
    v: str | None
    due: float | None
    n: int = 0


class Harness:
    def __init__(self, cfg: Config, redis_url: str):
        import redis as redis_lib

        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        self.redis_url = redis_url
        self.procs: dict[int, Worker] = {}
        self.zygote: subprocess.Popen | None = None
        self.starts = 0
        self.doomed = 0
        self.doomed_pids: set[int] = set()  # spared by the random kills and freezes: they die at their point
        self.kills: Counter = Counter()
        self.ops: Counter = Counter()
        self.last: dict[str, Op] = {}
        self.frozen: set[int] = set()
        self.killed: set[int] = set()
        self.calm = threading.Event()
        self.done = threading.Event()
        self.procs_lock = threading.Lock()
        self.seq = 0
        self.history: list[tuple[float, Op]] = []
        self.signals: list[tuple[float, int, str]] = []  # (at, pid, what): random kills, freezes, thaws
        self.settle_started = 0.0
        self.settle_log: list[str] = []  # what the settle waited for, every 5 s

    # --- setup ------------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DISPATCH_LEASE_SECONDS": str(self.cfg.lease_seconds), "HARNESS_REDIS_URL": self.redis_url,
            "HARNESS_SEED": str(self.cfg.seed), "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
        })
        env.update({f"HARNESS_KILL_{p.upper()}": str(v) for p, v in self.cfg.kill_odds.items()})
        return env

    def _spawn(self) -> None:
        if self.zygote is None:
            self.zygote = subprocess.Popen([sys.executable, str(WORKER), "--zygote"], env=self._env(),
                                           cwd=str(ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                           stderr=None if self.cfg.verbose else subprocess.DEVNULL)
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        # the first workers, then every other one started before the calm, die at a chosen point, in turn: each
        # point gets hit
        doomed = ""
        if (self.starts < len(KILL_POINTS) or self.starts % 2 == 0) and not self.calm.is_set():
            doomed = KILL_POINTS[self.doomed % len(KILL_POINTS)]
            self.doomed += 1
        self.zygote.stdin.write(f"spawn {doomed}\n")
        self.zygote.stdin.flush()
        pid = int(self.zygote.stdout.readline())
        with self.procs_lock:
            self.procs[pid] = Worker(pid)
            if doomed:
                self.doomed_pids.add(pid)
        self.starts += 1

    def _arm(self, op: Op, payload_extra: dict[str, Any] | None = None) -> None:
        """The owner's change, as the app makes it: the item's score through the real arm script, with its
        payload in the same transaction (a pop reads both at once)."""
        kind, ref = dispatch.split(op.member)
        pkey = kinds.PAYLOAD_KEYS[kind]
        pipe = self.redis.pipeline(transaction=True)
        if op.due is None:
            pipe.zrem(dispatch.DUE_KEY, op.member)
            pipe.hdel(pkey, ref)
        else:
            payload = {"v": op.v, "due": op.due, "n": op.n, **(payload_extra or {})}
            pipe.hset(pkey, ref, json.dumps(payload, separators=(",", ":")))
            pipe.eval(dispatch._ARM, 2, dispatch.DUE_KEY, dispatch.META_KEY, repr(float("-inf")), "1",
                      repr(op.due), op.member, repr(time.time()))
        pipe.execute()
        self.last[op.member] = op
        self.history.append((time.time(), op))

    def _new_version(self, member: str, due: float, sib: str | None = None,
                     run: dict[str, float] | None = None, n: int | None = None) -> None:
        self.seq += 1
        kind, _ = dispatch.split(member)
        if n is None:
            n = self.rng.choice((0, 0, 1, 2)) if kind == kinds.KIND_ITEM and sib is None and run is None else 0
        extra: dict[str, Any] = dict(run or {})
        if sib is not None:
            extra.update(sib=sib, **(run or {"w": 0.3}))
        elif kind == kinds.KIND_ITEM and self.cfg.siblings and self.rng.random() < 0.4:
            extra["sib"] = f"s{self.rng.randrange(self.cfg.siblings)}"
        self._arm(Op(member, f"{member}@{self.seq}" + ("/race" if sib else ""), due, n), extra)

    def _sibling_race(self) -> None:
        """Items due now, one per tick 80 ms apart, whose handlers (300 ms each) all arm one sibling for now: the
        first tick to finish its round claims it; the others popped before that claim (their snapshot of the
        leases cannot know it), so only the claim script's lease check keeps them off it."""
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # ticks running already would pop the items together, later
            busy = {int(p) for p in self.redis.hkeys(BUSY)}
            with self.procs_lock:
                idle = [p for p in self.procs.values() if p.pid not in busy and p.pid not in self.frozen]
            if len(idle) >= 2:
                break
            time.sleep(0.02)
        sib = f"s{self.rng.randrange(self.cfg.siblings)}"
        for m in self.rng.sample([m for m in self.last if m.startswith(kinds.KIND_ITEM)], 3):
            self._new_version(m, time.time(), sib)
            self.redis.lpush(GO, "go")
            time.sleep(0.08)

    def _late_claim(self, members: list[str]) -> None:
        """A tick takes a lease with little of its own left (a long window claims an item at its end) while another
        tick has just taken a fresh one: the lease hash must outlive the fresh lease (checked by the worker right
        after each lease-taking script). An item whose run lasts until 0.35 s before its tick's lease ends re-arms
        itself (its child is due already): its tick claims it then; a second item, popped just before that claim,
        runs on past it, and the owner moves it to now a second after the claim (a pop must leave it to its holder).
        In a thread of its own: the owner's other changes go on meanwhile."""
        items = [m for m in members if m.startswith(kinds.KIND_ITEM)]
        first, second = self.rng.sample(items, 2)
        lease = self.cfg.lease_seconds
        self._new_version(first, time.time(), run={"left": 0.35, "once": 1}, n=1)
        self.redis.lpush(GO, "go")
        deadline = time.monotonic() + lease
        while time.monotonic() < deadline:  # the first item's lease tells when its tick started
            until = self.redis.hget(dispatch.LEASE_KEY, first)
            if until is not None and float(until) > time.time():
                time.sleep(max(0.0, float(until) - 0.7 - time.time()))
                self._new_version(second, time.time(), run={"w": 1.8, "once": 1})
                self.redis.lpush(GO, "go")
                time.sleep(max(0.0, float(until) + 0.75 - time.time()))
                self._new_version(second, time.time())
                self.redis.lpush(GO, *["go"] * self.cfg.workers)
                return
            time.sleep(0.01)

    def _setup(self) -> None:
        from shared.db import connection

        with connection() as c:
            c.execute(kinds.SCHEMA)
        for key in self.redis.scan_iter("harness:dmp:*"):
            self.redis.delete(key)
        self.redis.delete(dispatch.DUE_KEY, dispatch.LEASE_KEY, kinds.P_ITEM, kinds.P_EARLY)
        # the real kinds' bootstrap hooks see their work done (as the in-process dispatcher tests set it up)
        far = repr(time.time() + 86400)
        self.redis.hset(dispatch.META_KEY, mapping={"rss.mirror": far, "rss.hk": far, "usage.hk": far,
                                                    "comments.next": far})

    def _arm_items(self) -> None:
        """The test's items, due over the first seconds after the workers are up (armed before, on a loaded machine
        that takes seconds to start them, they would all be due at once: one tick would pop every one of them)."""
        now = time.time()
        for i in range(self.cfg.items):
            self._new_version(dispatch.member(kinds.KIND_ITEM, f"i{i}"), now + 1.0 + self.rng.uniform(0, 4.0))
        for i in range(self.cfg.early_items):
            self._new_version(dispatch.member(kinds.KIND_EARLY, f"e{i}"), now + 3.0 + self.rng.uniform(0, 10.0))

    # --- the phases -------------------------------------------------------------------------------
    def run(self) -> Report:
        cfg = self.cfg
        started = time.monotonic()
        phases: dict[str, float] = {}
        self._setup()
        for _ in range(cfg.workers):
            self._spawn()
        deadline = time.monotonic() + 30
        while self.redis.scard("harness:dmp:ready") < cfg.workers and time.monotonic() < deadline:
            time.sleep(0.02)
        self._arm_items()
        phases["start"] = time.monotonic() - started
        threads = [threading.Thread(target=f, daemon=True) for f in (self._supervisor, self._killer, self._freezer)]
        for t in threads:
            t.start()
        try:
            t0 = time.monotonic()
            self._owner(t0 + cfg.chaos_seconds)
            phases["chaos"] = time.monotonic() - t0
            t0 = time.monotonic()
            self.calm.set()
            self.redis.set(kinds.CALM, "1")
            for t in threads[1:]:
                t.join()
            self.settle_started = time.time()
            stuck = self._settle(t0 + cfg.settle_timeout)
            phases["settle"] = time.monotonic() - t0
        finally:
            self.done.set()
            self._stop_workers()
        t0 = time.monotonic()
        report = self._count(stuck)
        phases["count"] = time.monotonic() - t0
        report.seconds, report.phases = time.monotonic() - started, phases
        return report

    def _owner(self, until: float) -> None:
        """The owner's changes while ticks run, die and stall."""
        cfg = self.cfg
        members = list(self.last)
        # every kind of change at least once, whatever the dice say (the far move and the drop stay the last
        # change of their item: the random changes leave those two alone), then a sibling race once items are
        # due (the first ones come after a second) and a late claim
        self._new_version(members.pop(), time.time() + FAR + self.rng.uniform(0, 100))
        self.ops["moved_far"] += 1
        self._arm(Op(members.pop(), None, None))
        self.ops["dropped"] += 1
        forced = [(1.5, 0.8), (2.5, 0.94), (4.5, 0.94)]
        late: list[threading.Thread] = []
        started = time.monotonic()
        while time.monotonic() < until or (not self._kills_covered()
                                           and time.monotonic() < until + cfg.chaos_extra_seconds):
            time.sleep(self.rng.uniform(0, 2 * cfg.op_every))
            now = time.time()
            roll = self.rng.random()
            if forced and time.monotonic() - started >= forced[0][0]:
                roll = forced.pop(0)[1]
            if roll < 0.3:  # an item a tick holds right now is moved to now, then every worker ticks
                live = [m for m, until_ in self.redis.hgetall(dispatch.LEASE_KEY).items()
                        if float(until_) > now and dispatch.split(m)[0] in kinds.PAYLOAD_KEYS]
                if live:
                    self._new_version(self.rng.choice(live), now)
                    self.ops["moved_to_now_while_held"] += 1
                self.redis.lpush(GO, *["go"] * cfg.workers)
                self.ops["bursts"] += 1
            elif roll < 0.6:  # moved earlier or later
                m = self.rng.choice(members)
                self._new_version(m, now + self.rng.uniform(-0.5, 3.0))
                self.ops["moved"] += 1
            elif roll < 0.7:  # moved far ahead: it must stay exactly there
                m = self.rng.choice(members)
                self._new_version(m, now + FAR + self.rng.uniform(0, 100))
                self.ops["moved_far"] += 1
            elif roll < 0.78:
                m = self.rng.choice(members)
                self._arm(Op(m, None, None))
                self.ops["dropped"] += 1
            elif roll < 0.93:
                self._sibling_race()
                self.ops["sibling_races"] += 1
            elif roll < 0.96:
                late.append(threading.Thread(target=self._late_claim, args=(members,), daemon=True))
                late[-1].start()
                self.ops["late_claims"] += 1
            else:
                self.redis.lpush(GO, *["go"] * cfg.workers)
                self.ops["bursts"] += 1
        for t in late:
            t.join()

    def _kills_covered(self) -> bool:
        points = set(self.redis.hkeys(kinds.KILLS))
        return {"random_moment", "freeze_past_lease"} <= set(self.kills) and set(KILL_POINTS) <= points

    def _supervisor(self) -> None:
        while not self.done.is_set():
            with self.procs_lock:
                dead = [pid for pid, p in self.procs.items() if not p.alive()]
                for pid in dead:
                    del self.procs[pid]
            for _ in dead:
                if not self.done.is_set():
                    self._spawn()
            time.sleep(0.05)

    def _victims(self, every: float):
        """A live worker now and then (mean `every` seconds apart) until the calm begins: one in a tick if any
        (between ticks a worker holds nothing), else any."""
        while every > 0 and not self.calm.is_set():
            time.sleep(self.rng.uniform(0.3 * every, 1.7 * every))
            busy = {int(p) for p in self.redis.hkeys(BUSY)}
            with self.procs_lock:
                live = [p for p in self.procs.values()
                        if p.alive() and p.pid not in self.frozen and p.pid not in self.doomed_pids]
            in_tick = [p for p in live if p.pid in busy]
            if live and not self.calm.is_set():
                yield self.rng.choice(in_tick or live)

    def _killer(self) -> None:
        for victim in self._victims(self.cfg.random_kill_every):
            victim.signal(signal.SIGKILL)
            self.signals.append((time.time(), victim.pid, "SIGKILL (random moment)"))
            self.killed.add(victim.pid)
            self.kills["random_moment"] += 1

    def _freezer(self) -> None:
        """A worker stalls (a long pause, a starved VM) past its lease: its items are taken over while it lives,
        and whatever it does when it wakes up must not undo what the new holder did. Several may be stalled."""
        thaws = []
        for victim in self._victims(self.cfg.freeze_every):
            self.frozen.add(victim.pid)
            victim.signal(signal.SIGSTOP)
            self.signals.append((time.time(), victim.pid, "SIGSTOP"))
            self.kills["freeze_past_lease"] += 1
            thaw = threading.Timer(self.cfg.lease_seconds + self.rng.uniform(0.3, 1.5), self._thaw, args=(victim,))
            thaw.start()
            thaws.append(thaw)
        for thaw in thaws:
            thaw.join()

    def _thaw(self, victim: Worker) -> None:
        self.signals.append((time.time(), victim.pid, "SIGCONT"))
        victim.signal(signal.SIGCONT)

    def _timeline(self, m: str, runs: list[dict], events: list[dict], commits: dict[str, dict]) -> str:
        """Everything that touched one item, and what the ticks holding it did, in time order: a failure's story
        (runs, pops, claims and early picks with their leases, the lease hash's EXPIRE any tick set meanwhile,
        commits, kills, freezes, the owner's changes)."""
        rs = [r for r in runs if r["member"] == m]
        ticks = {r["tick"] for r in rs} | {e["tick"] for e in events if e["member"] == m}
        pids = {int(t.split(".")[0]) for t in ticks}
        seen = ([r["started"] for r in rs] + [e["at"] for e in events if e["member"] == m]
                or [at for at, op in self.history if op.member == m])
        lo, hi = min(seen) - 3 * self.cfg.lease_seconds, max(seen) + self.cfg.lease_seconds
        rows: list[tuple[float, str]] = []
        for r in rs:
            ended = r["ended"] if r["ended"] is None else round(r["ended"], 3)
            run = f"run   {r['tick']:>10} v={r['v']} due={r['due']} lease={r['lease']:.3f} ended={ended}"
            rows.append((r["started"], run))
            if r["ended"] is not None:
                rows.append((r["ended"], f"ended {r['tick']:>10} v={r['v']}"))
        for e in events:
            if e["member"] == m or (e["event"] == "kill" and e["tick"] in ticks):
                rows.append((e["at"], f"{e['event']:<5} {e['tick']:>10} {e['info'] or ''}"))
            elif e["event"] in ("claim", "early") and lo <= e["at"] <= hi and json.loads(e["info"])["expire"] < (
                    self.cfg.lease_seconds):  # another item, taken so late that twice the lease left is < a lease
                late = f"{e['event']:<5} {e['tick']:>10} {e['member']} with little lease left {e['info']}"
                rows.append((e["at"], late))
        for t in ticks:
            if t in commits:
                c = commits[t]
                late = " (after its lease)" if c["at"] >= c["lease"] else ""
                rows.append((c["at"], f"commit {t:>9} lease={c['lease']:.3f}{late} moved={c['moved']}"))
        for at, pid, what in self.signals:
            if pid in pids:
                rows.append((at, f"{what} pid {pid}"))
        for at, op in self.history:
            if op.member == m:
                rows.append((at, f"owner  v={op.v} due={'dropped' if op.due is None else f'{op.due:.3f}'}"))
        rows.sort()
        return f"timeline of {m}:\n" + "\n".join(f"  {at:.3f} {text}" for at, text in rows)

    def _settle(self, deadline: float) -> list[str]:
        """Wait until the test's work is done: read in one transaction, no test item is due before the far horizon,
        no test lease lives, and every tick that was in flight then has ended since (a tick that outlived its lease
        and lost its items to another still commits, e.g. a sibling its handler armed for now), and then still
        nothing is due or leased. Returns what is left at the deadline (a generous bound: the wait ends as soon as
        the condition holds); what it waited for is in `settle_log`."""
        waiting_for: dict[str, str] = {}  # pid -> the tick in flight when nothing was left
        last_log = 0.0
        while True:
            now = time.time()
            pipe = self.redis.pipeline(transaction=True)
            pipe.zrangebyscore(dispatch.DUE_KEY, "-inf", now + FAR / 2, withscores=True)
            pipe.hgetall(dispatch.LEASE_KEY)
            pipe.hgetall(BUSY)
            due, leases, busy = pipe.execute()
            left = [f"{m} due {s - now:+.1f}s" for m, s in due if m.startswith("dmp.")]
            left += [f"{m} leased {float(u) - now:+.1f}s" for m, u in leases.items()
                     if m.startswith("dmp.") and float(u) > now]
            with self.procs_lock:
                alive = {pid for pid, p in self.procs.items() if p.alive()}
            in_flight = {p: t for p, t in busy.items() if int(p) in alive}
            if left:
                waiting_for = {}
            elif not waiting_for:
                waiting_for = dict(in_flight) or {"": ""}
            else:
                waiting_for = {p: t for p, t in waiting_for.items() if p and in_flight.get(p) == t}
                if not waiting_for:
                    return []
            left += [f"tick {t} in flight" for t in waiting_for.values() if t]
            if now - last_log >= 5 or time.monotonic() > deadline:
                last_log = now
                self.settle_log.append(f"{now - self.settle_started:5.1f}s: {len(left)} left: {', '.join(left[:6])}")
            if time.monotonic() > deadline:
                return left
            self.redis.lpush(GO, *["go"] * self.cfg.workers)
            time.sleep(0.2)

    def _stop_workers(self) -> None:
        with self.procs_lock:
            procs = list(self.procs.values())
        for p in procs:
            p.signal(signal.SIGCONT)
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(p.alive() for p in procs):
            time.sleep(0.05)
        for p in procs:
            p.signal(signal.SIGKILL)
        if self.zygote is not None:
            assert self.zygote.stdin is not None
            self.zygote.stdin.close()
            try:
                self.zygote.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.zygote.kill()

    # --- the count ----------------------------------------------------------------------------------
    def _count(self, stuck: list[str]) -> Report:
        from shared.db import connection

        with connection() as c:
            runs = c.execute("SELECT * FROM dmp.runs ORDER BY started, id").fetchall()
            commits = {r["tick"]: r for r in c.execute("SELECT * FROM dmp.commits")}
            events = c.execute("SELECT * FROM dmp.events ORDER BY at").fetchall()
            c.execute("DROP SCHEMA dmp CASCADE")
        if os.environ.get("HARNESS_DUMP"):  # everything, to read a failure's story
            with open(os.environ["HARNESS_DUMP"], "w") as f:
                json.dump({"runs": runs, "commits": list(commits.values()), "events": events,
                           "ops": [(at, op.__dict__) for at, op in self.history]}, f, default=str)
        by_member: dict[str, list[dict]] = defaultdict(list)
        for r in runs:
            by_member[r["member"]].append(r)

        overlaps: list[str] = []
        stale_overlaps = 0  # a run started by a tick past its lease (it holds nothing) while another holds the item
        for m, rs in by_member.items():
            held_until, holder = -math.inf, None
            for r in rs:  # in order of start
                if r["started"] < held_until and holder is not None and r["started"] >= r["lease"]:
                    stale_overlaps += 1
                elif r["started"] < held_until and holder is not None:
                    overlaps.append(f"{m}: tick {r['tick']} started {r['started'] - holder['started']:.3f}s after "
                                    f"tick {holder['tick']}, which held it until {held_until:.3f} "
                                    f"(lease {holder['lease']:.3f}, ended {holder['ended']})")
                end = min(r["ended"] if r["ended"] is not None else math.inf, r["lease"])
                if end > held_until:
                    held_until, holder = end, r

        # the story of the first items that failed (overlapping runs, a live lease the lease hash would not outlive)
        failed = sorted({o.split(":")[0] for o in overlaps}) + sorted(
            {e["member"] for e in events if e["event"] == "lease_cut"})
        timelines = [self._timeline(m, runs, events, commits) for m in failed[:2]]

        consumed: dict[tuple[str, str], float] = {}
        for r in runs:
            c = commits.get(r["tick"])
            if r["v"] is None or c is None or c["at"] >= c["lease"] or r["member"] in c["moved"]:
                continue
            key = (r["member"], r["v"])
            consumed[key] = min(consumed.get(key, math.inf), c["at"])
        reruns_after_commit = [f"{r['member']} {r['v']}: tick {r['tick']} ran it {r['started'] - consumed[k]:.3f}s "
                               "after a commit consumed it"
                               for r in runs if (k := (r["member"], r["v"])) in consumed and r["started"] > consumed[k]
                               and r["started"] < r["lease"]]
        stale = [r for r in runs if r["started"] >= r["lease"]]
        stale_after_commit = [r for r in stale
                              if (k := (r["member"], r["v"])) in consumed and r["started"] > consumed[k]]

        ran_versions = {(r["member"], r["v"]) for r in runs}
        pending = dict(self.redis.zrange(dispatch.DUE_KEY, 0, -1, withscores=True))
        losses, moved_wrong = [], []
        checked: Counter = Counter()  # the last changes the count checks, by kind
        for m, op in self.last.items():
            checked["dropped" if op.due is None else "far" if op.due - time.time() > FAR / 2 else "due"] += 1
            if op.due is None:
                if m in pending:
                    losses.append(f"{m}: dropped but armed at {pending[m]}")
                continue
            kind, ref = dispatch.split(m)
            if op.due - time.time() > FAR / 2:
                raw = self.redis.hget(kinds.PAYLOAD_KEYS[kind], ref)
                if pending.get(m) != op.due or not raw or json.loads(raw)["v"] != op.v:
                    moved_wrong.append(f"{m}: moved to {op.due}, armed at {pending.get(m)} with {raw}")
                continue
            chain, v = [], op.v or ""
            for _ in range(op.n + 1):
                chain.append(v)
                v += ".r"
            for v in chain:
                if (m, v) not in ran_versions:
                    losses.append(f"{m}: version {v} never ran")
        runs_by_member_start = {m: [r["started"] for r in rs] for m, rs in by_member.items()}
        for e in events:
            if e["event"] == "sib_arm" and e["tick"] in commits and not any(
                    s >= e["at"] for s in runs_by_member_start.get(e["member"], [])):
                losses.append(f"{e['member']}: armed for now by tick {e['tick']} (committed), never ran after")

        dead_or_stalled = self.killed | self.frozen
        kills = Counter(self.kills)
        kills.update({k: int(v) for k, v in self.redis.hgetall(kinds.KILLS).items()})
        killed_ticks = {t for t in {r["tick"] for r in runs} if t not in commits}
        overruns = [r for r in runs if (r["ended"] if r["ended"] is not None else math.inf) > r["lease"]]
        unexplained = [r for r in overruns if r["pid"] not in dead_or_stalled and r["tick"] not in killed_ticks]
        per_version = Counter((r["member"], r["v"]) for r in runs if r["v"] is not None)
        lapsed = [r for r in runs if r["ended"] is None or r["ended"] > r["lease"]]  # died or stalled holding it
        taken_over = sum(1 for r in runs if any(o["member"] == r["member"] and o["tick"] != r["tick"]
                                                and o["started"] < r["started"] and o["lease"] <= r["started"]
                                                for o in lapsed))
        same_tick_claims = sum(1 for e in events if e["event"] == "sib_arm"
                               and any(r["tick"] == e["tick"] for r in by_member.get(e["member"], [])))
        early_picks = sum(1 for r in runs if r["member"].startswith(kinds.KIND_EARLY) and r["due"] is not None
                          and r["started"] < r["due"])
        # taken by the early pick before the due time the owner had armed: the script's work, whatever happened to
        # the tick after (on a loaded machine the ticks holding every early item may all die or stall until past
        # their due times: then no run is early, though the early pick ran and its lease check was exercised)
        armed: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
        for at, op in self.history:
            armed[op.member].append((at, op.due))
        early_picked = 0
        for e in events:
            if e["event"] == "early":
                before = [due for at, due in armed.get(e["member"], []) if at <= e["at"]]
                early_picked += bool(before and before[-1] is not None and json.loads(e["info"])["now"] < before[-1])
        errors = int(sum(int(v) for v in self.redis.hgetall(kinds.ERRORS).values()))
        return Report(
            runs=len(runs), ticks_committed=len(commits), kills=kills, ops=self.ops, overlaps=overlaps,
            lease_cuts=[f"{e['member']} (tick {e['tick']}): {e['info']}" for e in events if e["event"] == "lease_cut"],
            reruns_after_commit=reruns_after_commit, losses=losses, moved_wrong=moved_wrong, stuck=stuck,
            reruns_after_a_dead_runner=sum(n - 1 for n in per_version.values() if n > 1),
            stale_starts=len(stale), stale_after_commit=len(stale_after_commit), stale_overlaps=stale_overlaps,
            overruns=len(overruns),
            overruns_unexplained=len(unexplained),
            early_picks=early_picks, early_picked=early_picked, last_changes=checked,
            same_tick_claims=same_tick_claims, timelines=timelines, taken_over_after_lease=taken_over,
            loss_timelines=[self._timeline(m, runs, events, commits)
                            for m in list(dict.fromkeys(x.split(":")[0] for x in losses))[:2]],
            settle_log=self.settle_log, load=os.getloadavg(),
            not_yet=sum(1 for e in events if e["event"] == "not_yet"), worker_errors=errors,
            error_samples=self.redis.lrange(kinds.ERRORS + ":log", 0, 2), worker_starts=self.starts, seconds=0.0)


def run(cfg: Config, redis_url: str) -> Report:
    return Harness(cfg, redis_url).run()
