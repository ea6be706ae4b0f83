"""Cold start of each Vercel function entry against its floor, `import fastapi` alone (issue 15, target 1).

Targets, each a ratio against `import fastapi` measured in the same run:
- the entry's import <= 1.08x;
- the entry's import + the first authenticated GET /api/notifications (the 30 s poll, what usually wakes an
  instance; it pays the router's build, the token check, psycopg's import and the first database connection)
  <= 1.3x.

Method: whole fresh interpreters (`python -c ...`), ROUNDS rounds after one warm-up round that compiles .pyc
files; each round runs `pass`, `import fastapi`, the entry's import and the entry's import + first GET back to
back, so load from other processes hits them alike (each round starts one process later than the one before).
Each time is the process's wall time minus the median of `python -c pass` (interpreter start, which no code of
ours can change). Each command ends with `os._exit(0)`:
a serverless cold start waits for the import and the answer, never for interpreter teardown. Verdicts use the
ratio of the medians; the median of the per-round ratios and the CPU ratio (which other processes' load moves
less) are printed beside it.

Before/after in one run: with BENCH_AGAINST=<git ref> (e.g. `BENCH_AGAINST=main .venv/bin/python -m bench
imports`), the same two processes run from a copy of that commit's tree (`git archive`, same interpreter and
packages) inside the same rounds, so the old path and the new path meet the same load; the table then shows each
row for both, and the per-round ratio new/old; then, for both trees, what the first GET sends to Postgres
(statements, connections, pool waits: counts) and the first GET alone in-process (its own wall and CPU time in
rotated rounds, without the import's variance). The load average (1 min) is printed at the start and the end.
BENCH_QUICK=1 prints the cold-start table only; BENCH_ROUNDS=<n> (>= 9) changes the number of rounds.
BENCH_DB_DELAY_MS=<d> adds d ms to every packet between the function and Postgres, each way (a local proxy): the
local database answers in microseconds, a production one is a network away (Neon: TLS, SCRAM and its proxy on
each new connection), which is what overlapping the connection with other work is for.

Also shown: heavy libraries loaded at import (should be none), the biggest imports, what each router group costs
when its routers load, and the first requests of other polled paths (import, 1st and 2nd GET, in-process).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = max(9, int(os.environ.get("BENCH_ROUNDS", "11")))
IMPORT_RATIO_TARGET = 1.08
FIRST_GET_RATIO_TARGET = 1.3
FIRST_GET_PATH = "/api/notifications?limit=50"

HEAVY = ("psycopg", "psycopg_pool", "upstash_redis", "qstash", "boto3", "botocore", "feedparser", "jwt", "argon2",
         "cryptography", "croniter", "mangum", "httpx", "tenacity", "pydantic_settings", "pydantic.v1")


def _env(extra: dict[str, str] | None = None, root: Path = ROOT) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(root),
           "APP_ENV": "development"}
    env.update(extra or {})
    return env


def _run(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms of the child); the child runs in the tree its PYTHONPATH names."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], cwd=env["PYTHONPATH"], env=env, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"{code[:80]!r} failed: {r.stderr[-600:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def entries() -> list[str]:
    cfg = json.loads((ROOT / "vercel.json").read_text())
    return [b["src"] for b in cfg["builds"]]


def module_name(src: str) -> str:
    return src[:-3].replace("/", ".")


_FIRST_GET = """
import os
import {module} as entry
from bench._backing import asgi_get
import asyncio
status, body = asgi_get(entry.app, {path!r}, {{"authorization": "Bearer {token}"}}, asyncio.new_event_loop())
if status != 200:
    raise SystemExit(f"status {{status}}: {{body[:300]!r}}")
os._exit(0)
"""


@contextlib.contextmanager
def tree_at(ref: str) -> Iterator[Path]:
    """A copy of the repository's tree at `ref` (committed files only), removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="screndly-bench-base-"))
    try:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def delayed_postgres(url: str, delay_ms: float) -> Iterator[str]:
    """`url` through a TCP proxy that holds every chunk `delay_ms` in each direction (order kept, no bandwidth
    limit): the database as seen across a network. Yields the proxied URL."""
    import asyncio
    import threading
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    delay = delay_ms / 1000
    loop = asyncio.new_event_loop()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        task = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(65536):
                queue.put_nowait((loop.time() + delay, data))
        except OSError:
            pass
        queue.put_nowait((0.0, b""))
        await task

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w), return_exceptions=True)

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    proxy_port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, name="bench-db-delay", daemon=True)
    thread.start()
    try:
        netloc = parts.netloc.rsplit("@", 1)
        hostport = f"127.0.0.1:{proxy_port}"
        yield urlunsplit(parts._replace(netloc=f"{netloc[0]}@{hostport}" if len(netloc) == 2 else hostport))
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def interleaved(codes: dict[str, tuple[str, dict[str, str]]], rounds: int) -> dict[str, list[tuple[float, float]]]:
    for code, env in codes.values():
        _run(code, env)  # warm-up: .pyc compilation and the page cache are not what we measure
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    names = list(codes)
    for i in range(rounds):
        # each round starts one process later: a place in the round (right after the floor, or last) must not
        # favour one row (with a fixed order, identical code in two places differed by 5-15 % per round)
        for name in names[i % len(names):] + names[:i % len(names)]:
            samples[name].append(_run(*codes[name]))
    return samples


def heavy_modules_loaded(module: str) -> list[str]:
    code = (f"import sys, {module}; heavy = {HEAVY!r}; "
            "print(','.join(sorted(h for h in heavy if h in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), check=True, capture_output=True,
                         text=True).stdout.strip()
    return [m for m in out.split(",") if m]


def top_imports(module: str, n: int = 8) -> list[tuple[str, float]]:
    """The biggest packages the entry imports (cumulative ms of each package's root import, -X importtime)."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT, env=_env(),
                       check=True, capture_output=True, text=True)
    top: dict[str, float] = {}
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| \s*(\S+)", line)
        if not m:
            continue
        name = m.group(3)
        if name.split(".")[0] in ("functions", "encodings", "site") or name.count(".") > 1:
            continue
        top[name] = max(top.get(name, 0.0), int(m.group(2)) / 1000)
    return sorted(top.items(), key=lambda kv: -kv[1])[:n]


_GROUP_BUILD = """
import gc, os, time
gc.disable()  # as functions/api.py does while it builds the app
import fastapi
from shared.api import app as app_module
app = app_module.create_app(groups=[{group!r}])
t0 = time.perf_counter()
app.lazy_routers.load_all()
t1 = time.perf_counter()
from fastapi.routing import iter_route_contexts
n = sum(1 for c in iter_route_contexts(app.router.routes) if c.path.startswith(("/api", "/health")))
print(f"{{(t1 - t0) * 1000:.1f}} {{n}}", flush=True)
os._exit(0)
"""


def group_build_times(runs: int = 5) -> list[tuple[str, int, float]]:
    """What loading each router group costs the first request under it (module imports + route analysis)."""
    from shared.api.app import ROUTER_GROUPS

    out = []
    for group in ROUTER_GROUPS:
        code = _GROUP_BUILD.format(group=group)
        samples = []
        for _ in range(runs):
            res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), check=True, capture_output=True,
                                 text=True).stdout.split()
            samples.append((float(res[0]), int(res[1])))
        out.append((group, samples[0][1], statistics.median(s[0] for s in samples)))
    return out


_IN_PROCESS = """
import time, asyncio, os
t0 = time.perf_counter()
import {module} as entry
t1 = time.perf_counter()
from bench._backing import asgi_get
loop = asyncio.new_event_loop()
status, body = asgi_get(entry.app, {path!r}, {{"authorization": "Bearer {token}"}}, loop)
t2 = time.perf_counter()
assert status == 200, (status, body[:200])
status, body = asgi_get(entry.app, {path!r}, {{"authorization": "Bearer {token}"}}, loop)
t3 = time.perf_counter()
print(f"{{(t1 - t0) * 1000:.1f}} {{(t2 - t1) * 1000:.1f}} {{(t3 - t2) * 1000:.1f}}", flush=True)
os._exit(0)
"""


_ROUND_TRIPS = """
import asyncio, json, os, sys, threading
import {module} as entry
from bench._backing import asgi_get
from shared.usage import meter
statements = []
counted = meter.query_at
def query_at(t=None):
    statements.append(threading.current_thread().name)
    counted(t)
meter.query_at = query_at
status, body = asgi_get(entry.app, {path!r}, {{"authorization": "Bearer {token}"}}, asyncio.new_event_loop())
assert status == 200, (status, body[:200])
stats = sys.modules["shared.db.connection"].get_pool().get_stats()
print(json.dumps([len(statements), stats.get("connections_num", 0), stats.get("requests_queued", 0)]), flush=True)
os._exit(0)
"""


def round_trips(module: str, env: dict[str, str], token: str, runs: int = 9) -> list[tuple[int, int, int]]:
    """What the first GET of a cold instance sends to Postgres, per fresh interpreter: (statements, connections
    opened, checkouts that had to wait for the pool). Counts, so the machine's load does not move them."""
    code = _ROUND_TRIPS.format(module=module, path=FIRST_GET_PATH, token=token)
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code], cwd=env["PYTHONPATH"], env=env, check=True,
                           capture_output=True, text=True)
        out.append(tuple(json.loads(r.stdout.strip().splitlines()[-1])))
    return out


_GET_ALONE = """
import asyncio, os, time
import {module} as entry
from bench._backing import asgi_get
loop = asyncio.new_event_loop()
c0, t0 = time.process_time(), time.perf_counter()
status, body = asgi_get(entry.app, {path!r}, {{"authorization": "Bearer {token}"}}, loop)
t1, c1 = time.perf_counter(), time.process_time()
assert status == 200, (status, body[:200])
print(f"{{(t1 - t0) * 1000:.2f}} {{(c1 - c0) * 1000:.2f}}", flush=True)
os._exit(0)
"""


def first_get_alone(module: str, envs: dict[str, dict[str, str]], token: str,
                    rounds: int) -> dict[str, list[tuple[float, float]]]:
    """The first GET only (wall ms, CPU ms of the process, after the entry's import, in-process), per tree, in
    rotated rounds: without the import's own variance, small differences between two trees show."""
    code = _GET_ALONE.format(module=module, path=FIRST_GET_PATH, token=token)

    def run(env: dict[str, str]) -> tuple[float, float]:
        r = subprocess.run([sys.executable, "-c", code], cwd=env["PYTHONPATH"], env=env, check=True,
                           capture_output=True, text=True)
        wall_ms, cpu_ms = r.stdout.split()[-2:]
        return float(wall_ms), float(cpu_ms)

    for env in envs.values():
        run(env)
    out: dict[str, list[tuple[float, float]]] = {tag: [] for tag in envs}
    tags = list(envs)
    for i in range(rounds):
        for tag in tags[i % len(tags):] + tags[:i % len(tags)]:
            out[tag].append(run(envs[tag]))
    return out


def in_process(module: str, path: str, env: dict[str, str], token: str, runs: int = 5) -> tuple[float, ...]:
    code = _IN_PROCESS.format(module=module, token=token, path=path)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                             text=True).stdout.split()
        samples.append(tuple(float(x) for x in out))
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))


def _verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER"


def main() -> None:
    from bench._backing import private_backing

    against = os.environ.get("BENCH_AGAINST", "").strip()
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")  # the cold-start table only
    db_delay = float(os.environ.get("BENCH_DB_DELAY_MS", "0") or 0)
    with contextlib.ExitStack() as stack:
        backing = stack.enter_context(private_backing())
        base = stack.enter_context(tree_at(against)) if against else None
        db_env = dict(backing.env)
        if db_delay > 0:
            db_env["DATABASE_URL"] = stack.enter_context(delayed_postgres(backing.env["DATABASE_URL"], db_delay))
        from shared.security.tokens import issue_session_token

        token = issue_session_token()[0]
        codes: dict[str, tuple[str, dict[str, str]]] = {
            "pass": ("import os; os._exit(0)", _env()),
            "fastapi": ("import os, fastapi; os._exit(0)", _env()),
        }
        trees = [("", ROOT)] + ([(f" @{against}", base)] if base is not None else [])
        for src in entries():
            mod = module_name(src)
            for tag, root in trees:
                served = _env({**db_env, "APP_ENV": "test"}, root)
                codes[src + tag] = (f"import os, {mod}; os._exit(0)", _env(root=root))
                codes[src + " +GET" + tag] = (_FIRST_GET.format(module=mod, path=FIRST_GET_PATH, token=token), served)
        load_start = os.getloadavg()[0]
        runs = interleaved(codes, ROUNDS)
        load_end = os.getloadavg()[0]
        base_wall = statistics.median(w for w, _ in runs["pass"])
        base_cpu = statistics.median(c for _, c in runs["pass"])

        def wall(name: str) -> list[float]:
            return [w - base_wall for w, _ in runs[name]]

        def cpu(name: str) -> float:
            return statistics.median(c for _, c in runs[name]) - base_cpu

        floor = statistics.median(wall("fastapi"))
        print(f"whole fresh processes, {ROUNDS} interleaved rounds after a warm-up, each minus `python -c pass` "
              f"({base_wall:.0f} ms); load average {load_start:.1f} at the start, {load_end:.1f} at the end, on "
              f"{os.cpu_count()} CPUs" + (f"; Postgres {db_delay:g} ms away each way" if db_delay else ""))
        print(f"{'process':52} {'median ms':>9} {'min':>5} {'ratio':>6} {'per-round':>9} {'cpu ms':>6} "
              f"{'cpu ratio':>9} {'target':>6}  verdict")
        print(f"{'import fastapi (the floor)':52} {floor:9.0f} {min(wall('fastapi')):5.0f} {1:6.2f} {'':>9} "
              f"{cpu('fastapi'):6.0f} {1:9.2f} {'':>6}")
        for src in entries():
            for tag, _root in trees:
                for name, label, target in ((src + tag, f"import {module_name(src)}{tag}", IMPORT_RATIO_TARGET),
                                            (src + " +GET" + tag,
                                             f"  + first GET {FIRST_GET_PATH.split('?')[0]}{tag}",
                                             FIRST_GET_RATIO_TARGET)):
                    w = wall(name)
                    ratio = statistics.median(w) / floor
                    per_round = statistics.median(x / f for x, f in zip(w, wall("fastapi")))
                    print(f"{label:52} {statistics.median(w):9.0f} {min(w):5.0f} {ratio:6.2f} {per_round:9.2f} "
                          f"{cpu(name):6.0f} {cpu(name) / cpu('fastapi'):9.2f} {target:6.2f}  "
                          f"{_verdict(ratio, target)}")
            if base is not None:
                for name in (src, src + " +GET"):
                    new, old = wall(name), wall(name + trees[1][0])
                    pairs = statistics.median(a / b for a, b in zip(new, old))
                    print(f"  {name} now / {against}: per-round median {pairs:.3f}, "
                          f"medians {statistics.median(new):.0f} / {statistics.median(old):.0f} ms, CPU "
                          f"{cpu(name):.0f} / {cpu(name + trees[1][0]):.0f} ms")
        if max(load_start, load_end) > (os.cpu_count() or 1):
            print(f"note: the machine is busy (load {load_start:.1f}-{load_end:.1f}); wall times are inflated, "
                  "the ratios less so")
        for src in entries():
            for tag, root in trees:
                counts = round_trips(module_name(src), _env({**db_env, "APP_ENV": "test"}, root), token)
                print(f"first GET{tag}, 9 fresh interpreters: statements {sorted({c[0] for c in counts})}, "
                      f"connections opened {[c[1] for c in counts]}, checkouts that waited for the pool "
                      f"{[c[2] for c in counts]}")
        if base is not None:
            for src in entries():
                envs = {tag: _env({**db_env, "APP_ENV": "test"}, root) for tag, root in trees}
                alone = first_get_alone(module_name(src), envs, token, ROUNDS)
                print(f"the first GET alone (in-process, after the import), {ROUNDS} rotated rounds:")
                for tag, samples in alone.items():
                    ratio = statistics.median(a[0] / b[0] for a, b in zip(samples, alone[trees[1][0]]))
                    print(f"  {src}{tag or ' (this tree)'}: wall median {statistics.median(w for w, _ in samples):.1f} "
                          f"min {min(w for w, _ in samples):.1f} ms, CPU median "
                          f"{statistics.median(c for _, c in samples):.1f} ms, per round vs {against} {ratio:.3f}")
        if quick:
            return

        served = _env({**db_env, "APP_ENV": "test"})
        for src in entries():
            mod = module_name(src)
            heavy = heavy_modules_loaded(mod)
            print(f"\n{src}: heavy libraries loaded at import: {', '.join(heavy) if heavy else 'none'}")
            print("  biggest imports (-X importtime, cumulative ms): "
                  + ", ".join(f"{n} {ms:.0f}" for n, ms in top_imports(mod)))

            print("\nfirst requests in-process (median of 5 fresh interpreters): the 1st GET pays its router's "
                  "build, lazy imports and the DB connection")
            print(f"{'path':44} {'import ms':>9} {'1st GET':>8} {'2nd GET':>8}")
            for path in (FIRST_GET_PATH, "/api/jobs?limit=50", "/api/dashboard/stats", "/api/automation/status",
                         "/api/logs?limit=50"):
                imp, first, second = in_process(mod, path, served, token)
                print(f"{path:44} {imp:9.0f} {first:8.0f} {second:8.1f}")

    print("\nper router group: loading its routers on the first request under it (imports + route analysis), "
          "median of 5")
    print(f"{'group':28} {'routes':>7} {'load ms':>8} {'ms/route':>9}")
    for group, n, ms in group_build_times():
        print(f"{group:28} {n:7d} {ms:8.1f} {ms / max(n, 1):9.1f}")


if __name__ == "__main__":
    main()
