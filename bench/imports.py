"""Cold import of each Vercel function entry vs importing every dependency of the project at once.

For each entry in vercel.json: the median wall time of a fresh interpreter importing it (5 runs, after one
warm-up that compiles .pyc files), minus the median of `python -c pass`. Baseline, same method: one interpreter
importing every runtime dependency. Target: each entry < 350 ms and well under the baseline.

Each command ends with `os._exit(0)`: a serverless cold start waits for the import, never for interpreter
teardown, which alone costs ~100 ms once FastAPI is loaded (shown in its own column for transparency). The
runs are interleaved (pass, entries, all deps, pass, ...) so load from other processes hits them alike.

Also shown: which heavy libraries the entry pulled in (should be none: they load on first use), the biggest
imports by -X importtime, and the full cold start as a request sees it (import + first authenticated
GET /api/notifications, which pays the lazy imports and the first database connection).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
TARGET_MS = 350.0

ALL_DEPS = ("fastapi", "starlette", "pydantic", "pydantic_settings", "psycopg", "psycopg_pool", "upstash_redis",
            "qstash", "boto3", "feedparser", "httpx", "jwt", "argon2", "cryptography.hazmat.primitives.ciphers.aead",
            "croniter", "mangum", "python_multipart", "tenacity")
HEAVY = ("psycopg", "psycopg_pool", "upstash_redis", "qstash", "boto3", "botocore", "feedparser", "jwt", "argon2",
         "cryptography", "croniter", "mangum", "httpx", "tenacity")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(ROOT),
           "APP_ENV": "development"}
    env.update(extra or {})
    return env


def _wall(code: str, env: dict[str, str]) -> float:
    return _run(code, env)[0]


def _run(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms of the child). CPU time barely moves when other processes load the machine, so it is
    shown next to the wall time the target is about."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def interleaved_runs(codes: dict[str, str], runs: int = RUNS) -> dict[str, list[tuple[float, float]]]:
    env = _env()
    for code in codes.values():
        _run(code, env)  # warm-up: .pyc compilation and the page cache are not what we measure
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            samples[name].append(_run(code, env))
    return samples


def entries() -> list[str]:
    cfg = json.loads((ROOT / "vercel.json").read_text())
    return [b["src"] for b in cfg["builds"]]


def module_name(src: str) -> str:
    return src[:-3].replace("/", ".")


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
import fastapi, pydantic_settings
from shared.api import app as app_module
t0 = time.perf_counter()
app = app_module.create_app(groups=[{group!r}])
t1 = time.perf_counter()
from fastapi.routing import iter_route_contexts
n = sum(1 for c in iter_route_contexts(app.routes) if c.path.startswith(("/api", "/health")))
print(f"{{(t1 - t0) * 1000:.1f}} {{n}}", flush=True)
os._exit(0)
"""


def group_build_times() -> list[tuple[str, int, float]]:
    """What each router group adds to a cold start (its modules' imports + FastAPI's per-route analysis), so
    the split into per-area function entries can be decided on numbers."""
    from shared.api.app import ROUTER_GROUPS

    out = []
    for group in ROUTER_GROUPS:
        code = _GROUP_BUILD.format(group=group)
        samples = []
        for _ in range(RUNS):
            res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), check=True, capture_output=True,
                                 text=True).stdout.split()
            samples.append((float(res[0]), int(res[1])))
        out.append((group, samples[0][1], statistics.median(s[0] for s in samples)))
    return out


_FIRST_REQUEST = """
import time, asyncio
t0 = time.perf_counter()
import {module} as entry
t1 = time.perf_counter()
from bench._backing import asgi_get
loop = asyncio.new_event_loop()
status, body = asgi_get(entry.app, "/api/notifications?limit=50", {{"authorization": "Bearer {token}"}}, loop)
t2 = time.perf_counter()
assert status == 200, (status, body[:200])
status, body = asgi_get(entry.app, "/api/notifications?limit=50", {{"authorization": "Bearer {token}"}}, loop)
t3 = time.perf_counter()
print(f"{{(t1 - t0) * 1000:.1f}} {{(t2 - t1) * 1000:.1f}} {{(t3 - t2) * 1000:.1f}}")
"""


def first_request(module: str, backing_env: dict[str, str], token: str) -> tuple[float, float, float]:
    code = _FIRST_REQUEST.format(module=module, token=token)
    env = _env({**backing_env, "APP_ENV": "test"})
    samples = []
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                             text=True).stdout.split()
        samples.append(tuple(float(x) for x in out))
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))  # type: ignore[return-value]


def main() -> None:
    codes = {"pass": "import os; os._exit(0)", "all deps": f"import os, {', '.join(ALL_DEPS)}; os._exit(0)",
             "fastapi": "import os, fastapi; os._exit(0)"}
    for src in entries():
        codes[src] = f"import os, {module_name(src)}; os._exit(0)"
        codes[src + " +teardown"] = f"import {module_name(src)}"
    load = os.getloadavg()[0]
    runs = interleaved_runs(codes)
    med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    low = {k: min(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    base, base_low, base_cpu = med["pass"], low["pass"], cpu["pass"]
    all_deps = med["all deps"] - base

    print(f"cold import, fresh interpreter, median of {RUNS} interleaved runs after a warm-up, minus "
          f"`python -c pass` ({base:.0f} ms); load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'entry':28} {'import ms':>10} {'min':>6} {'cpu ms':>7} {'all deps ms':>12} {'ratio':>7} "
          f"{'target':>7}  verdict  {'+teardown':>9}")
    for src in entries():
        ms = med[src] - base
        verdict = "ok" if ms < TARGET_MS and ms < all_deps else "OVER"
        print(f"{src:28} {ms:10.0f} {low[src] - base_low:6.0f} {cpu[src] - base_cpu:7.0f} {all_deps:12.0f} "
              f"{ms / all_deps:7.2f} {TARGET_MS:7.0f}  {verdict:7}  {med[src + ' +teardown'] - base:9.0f}")
    print(f"{'(baseline) all runtime deps':28} {all_deps:10.0f} {low['all deps'] - base_low:6.0f} "
          f"{cpu['all deps'] - base_cpu:7.0f}   = import {', '.join(ALL_DEPS)}")
    print(f"{'(reference) fastapi alone':28} {med['fastapi'] - base:10.0f} {low['fastapi'] - base_low:6.0f} "
          f"{cpu['fastapi'] - base_cpu:7.0f}   the floor of any FastAPI entry")
    if load > (os.cpu_count() or 1):
        print(f"note: the machine is busy (load {load:.1f}); wall times are inflated, CPU times and the ratio less so")
    rows = [(src, module_name(src)) for src in entries()]

    for src, mod in rows:
        heavy = heavy_modules_loaded(mod)
        print(f"\n{src}: heavy libraries loaded at import: {', '.join(heavy) if heavy else 'none'}")
        print("  biggest imports (-X importtime, cumulative ms): "
              + ", ".join(f"{n} {ms:.0f}" for n, ms in top_imports(mod)))

    print("\nper router group: building its app (module imports + FastAPI route analysis), median of "
          f"{RUNS}; a group costing much more than the others is worth its own function entry")
    print(f"{'group':28} {'routes':>7} {'build ms':>9} {'ms/route':>9}")
    for group, n, ms in group_build_times():
        print(f"{group:28} {n:7d} {ms:9.1f} {ms / max(n, 1):9.1f}")

    from bench._backing import private_backing

    with private_backing() as backing:
        from shared.security.tokens import issue_session_token

        token = issue_session_token()[0]
        print(f"\nfull cold start as the first request sees it (median of {RUNS}, fresh interpreter each):")
        print(f"{'entry':28} {'import ms':>10} {'1st GET ms':>11} {'2nd GET ms':>11}  (1st GET pays lazy imports "
              "+ DB connect)")
        for src, mod in rows:
            imp, first, second = first_request(mod, backing.env, token)
            print(f"{src:28} {imp:10.0f} {first:11.0f} {second:11.1f}")


if __name__ == "__main__":
    main()
