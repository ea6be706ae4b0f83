"""The day simulation's harness: the whole stack on an accelerated clock, and counts kept outside the product.

The clock: simulated time = real time + an offset that only ever jumps forward, and only when every process is
idle (no QStash delivery in flight, no request, no job). So everything the product does takes its real time,
and the idle stretches between events take none. The API runs in its own process (bench/_sim_api.py) and reads
the offset from a file (shared/clock.py); the QStash emulator, the feed server and the media worker run here
and read it directly.

Independent counts, next to the product's meter:
- Redis: the server's own `INFO commandstats` (every command it ran, scripts' inner calls included) and its
  `MONITOR` stream (each top-level command; lines from scripts are marked lua), mapped to simulated time;
- QStash: the emulator's record of accepted messages (schedule firings included) and retried deliveries;
- Postgres: its own statement log (log_statement = all, millisecond timestamps) of a private cluster, mapped
  to simulated time, from which the awake time is computed the way Neon suspends (5 minutes after a query);
- function invocations: requests the harness sent plus deliveries the emulator made; CPU: the API process'
  own CPU time from /proc.
"""

from __future__ import annotations

import bisect
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HARNESS_APP = "sim-harness"
DAY = 86400.0


# --- the accelerated clock -------------------------------------------------------------------------------------
class SimClock:
    def __init__(self, path: Path):
        self.path = path
        self.offset = 0.0
        self.jumps: list[tuple[float, float]] = [(time.time(), 0.0)]  # (real time of the jump, offset after)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._write(0.0)

    def _write(self, off: float) -> None:
        os.pwrite(self._fd, f"{off:32.6f}".encode(), 0)
        from shared import clock

        clock.set_offset(off)

    def time(self) -> float:
        return time.time() + self.offset

    def jump_to(self, sim_t: float) -> None:
        now = self.time()
        if sim_t <= now:
            return
        self.offset += sim_t - now
        self._write(self.offset)
        self.jumps.append((time.time(), self.offset))

    def to_sim(self, real_t: float) -> float:
        i = bisect.bisect_right(self.jumps, (real_t, float("inf"))) - 1
        return real_t + self.jumps[max(0, i)][1]

    def close(self) -> None:
        from shared import clock

        clock.set_offset(None)
        os.close(self._fd)


# --- feeds that gain items as simulated time passes --------------------------------------------------------------
def png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


@dataclass
class FeedWorkload:
    feeds: int = 20
    item_every: float = 1800.0  # ~2 items an hour per feed
    posted_one_in: int = 32  # about this share of items mentions a trailer and passes the feeds' filter
    listed: int = 30  # entries a feed document lists

    def item_time(self, n: int, k: int, origin: float) -> float:
        return origin + k * self.item_every + n * 90.0  # feeds are phase-shifted by 90 s

    def passes(self, n: int, k: int) -> bool:
        return (n * 7 + k) % self.posted_one_in == 0


OUTLETS = ("Variety", "Deadline", "IndieWire", "Collider", "Empire", "Screen Rant", "The Wrap", "Vulture",
           "Polygon", "IGN", "Slashfilm", "Total Film", "Little White Lies", "Den of Geek", "Games Radar",
           "The Playlist", "Film School Rejects", "Bloody Disgusting", "CinemaBlend", "JoBlo")
_WORDS = ("crimson", "harbor", "midnight", "echo", "atlas", "velvet", "ember", "solstice", "orbit", "marrow",
          "lantern", "cobalt", "saffron", "drift", "meridian", "quarry", "thistle", "vesper", "granite", "nimbus",
          "falcon", "juniper", "labyrinth", "monsoon", "obsidian", "paragon", "quill", "riviera", "sable",
          "tundra", "umbra", "verdant", "willow", "zephyr", "aurora", "basilisk", "cascade", "dynamo", "eclipse",
          "fjord", "glacier", "hollow", "ironclad", "jubilee", "kestrel", "lullaby", "mirage", "nocturne")


def title_words(n: int, k: int) -> str:
    """Three words per story, different across feeds and stories (so the cross-feed dedupe sees distinct
    articles, as it would for real headlines)."""
    h = (n * 1_000_003 + k * 7_919) % 1_000_000_007
    w = _WORDS
    return f"{w[h % len(w)].title()} {w[(h // 48) % len(w)]} {w[(h // 2304) % len(w)]} {n}x{k}"


class SimFeeds:
    """Each feed lists its newest items as of the simulated time; ETag/If-None-Match as a real server does."""

    def __init__(self, clock: SimClock, workload: FeedWorkload, origin: float):
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        self.clock, self.w, self.origin = clock, workload, origin
        self.image = png(1200, 675)
        self.fetches = 0
        self.not_modified = 0

        async def feed(request):
            n = int(request.path_params["n"])
            now = self.clock.time()
            latest = int((now - self.origin - n * 90.0) // self.w.item_every)
            etag = f'"f{n}-{latest}"'
            self.fetches += 1
            if request.headers.get("if-none-match") == etag:
                self.not_modified += 1
                return Response(status_code=304, headers={"ETag": etag})
            return Response(self._document(n, latest), media_type="application/rss+xml",
                            headers={"ETag": etag})

        async def image(request):
            return Response(self.image, media_type="image/png")

        async def story(request):
            return Response("<html><body><p>story</p></body></html>", media_type="text/html")

        self.app = Starlette(routes=[Route("/feed/{n:int}.xml", feed), Route("/img/{name}", image),
                                     Route("/story/{name}", story)])

    def _document(self, n: int, latest: int) -> bytes:
        from email.utils import format_datetime

        base = self.base
        parts = [(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Sim feed {n}</title>'
                 f'<link>{base}/</link><description>day simulation</description>')]
        for k in range(latest, max(-1, latest - self.w.listed), -1):
            when = datetime.fromtimestamp(self.w.item_time(n, k, self.origin), timezone.utc)
            topic = "official trailer released" if self.w.passes(n, k) else "box office and casting news"
            parts.append(f"<item><title>{title_words(n, k)}: {topic} ({OUTLETS[n % len(OUTLETS)]})</title>"
                         f"<link>{base}/story/{n}-{k}</link>"
                         f"<guid isPermaLink=\"false\">sim-{n}-{k}</guid><pubDate>{format_datetime(when)}</pubDate>"
                         f"<description>Story {k} of feed {n}.</description>"
                         f"<enclosure url=\"{base}/img/{n}-{k}.png\" type=\"image/png\" length=\"{len(self.image)}\"/>"
                         f"</item>")
        parts.append("</channel></rss>")
        return "".join(parts).encode()

    def start(self) -> SimFeeds:
        from shared.local.services import ServerThread

        self.server = ServerThread(self.app).start()
        self.base = self.server.url
        return self

    def stop(self) -> None:
        self.server.stop()


# --- the platforms, for the live scenarios -----------------------------------------------------------------------
class LivePlatforms:
    """The platform fakes (tests/publishing_fakes, held to the platforms' own descriptions) on a real socket
    (tests/publishing_mp/socket_fakes.py, no faults). The API process sends the fakes' hostnames there
    (bench/_sim_api.py, SIM_FAKE_PORT); accounts are connected with tokens the fakes accept."""

    FAMILIES = ("x", "threads", "facebook", "pinterest")

    def __init__(self):
        sys.path[:0] = [str(ROOT / "tests")]
        from publishing_fakes.pinterest import BOARD
        from publishing_fakes.world import World
        from publishing_mp.socket_fakes import FakeServer, FaultPlan

        self.world = World()
        w = self.world
        self.hosts = {"x.test": w.x, "graph.test": w.meta, "graph-video.test": w.meta, "threads.test": w.threads,
                      "pin.test": w.pinterest, "pin-upload.test": w.pinterest, "media.test": w.media}
        self.server = FakeServer(self.hosts, w.media, FaultPlan(client_timeout=10.0))
        self.board = BOARD

    @classmethod
    def start(cls) -> LivePlatforms:
        live = cls()
        live.server.start()
        return live

    def env(self) -> dict[str, str]:
        return {**self.world.env(), "SIM_FAKE_PORT": str(self.server.port), "SIM_FAKE_HOSTS": ",".join(self.hosts)}

    def connect(self) -> None:
        from datetime import timedelta

        from shared.config import get_config

        get_config.cache_clear()
        self.world.connect(*self.FAMILIES, expires_in=timedelta(days=60))  # outlives the simulated day

    def accepted(self) -> dict[str, int]:
        w = self.world
        return {"x": len(w.x.posts), "threads": len(w.threads.posts), "facebook": len(w.meta.posts),
                "pinterest": len(w.pinterest.posts)}

    def stop(self) -> None:
        self.server.stop()


# --- independent counters -------------------------------------------------------------------------------------
class RedisMonitor:
    """Every command the Redis server runs, from its MONITOR stream: (server time, name, from a script?)."""

    def __init__(self, url: str):
        import redis

        self.url = url
        self.events: list[tuple[float, str, bool]] = []
        self.meter_own: list[tuple[float, str]] = []  # the meter's own writes: standalone flushes and folds
        # per script (named by its first key, ids left out): (server time, top-level runs, inner calls); Upstash
        # bills each call a script makes as a command of its own (its ratelimit SDK's costs page counts "EVAL,
        # INCR, PEXPIRE" as 3: https://upstash.com/docs/redis/sdks/ratelimit-ts/costs)
        self.script_calls: list[tuple[float, str, bool]] = []
        self._script, self._script_at = "?", 0.0
        self._stop = False
        self._client = redis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=10)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RedisMonitor:
        self._thread.start()
        time.sleep(0.2)
        return self

    def _run(self) -> None:
        with self._client.monitor() as m:
            while not self._stop:
                try:
                    cmd = m.next_command()
                except Exception:
                    if self._stop:
                        return
                    raise
                line = cmd["command"]
                name = line.split(" ", 1)[0].strip('"').upper()
                lua = cmd.get("client_type") == "lua"
                self.events.append((float(cmd["time"]), name, lua))
                if not lua and name in ("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO"):
                    self._script = ""  # named by its first call
                    self._script_at = float(cmd["time"])
                elif lua:
                    if not self._script:
                        self._script = script_label(line)
                        self.script_calls.append((self._script_at, self._script, False))
                    self.script_calls.append((float(cmd["time"]), self._script, True))
                if not lua and name in ("EVAL", "DEL"):
                    kind = _meter_write(line)
                    if kind:
                        self.meter_own.append((float(cmd["time"]), kind))

    def stop(self) -> None:
        self._stop = True
        try:
            self._client.execute_command("PING")  # let the MONITOR stream see one more line and exit
        except Exception:
            pass


def script_label(inner_line: str) -> str:
    """A script's name for the tables: the key of its first call with the ids in it replaced by '*' (redis-py
    gives MONITOR's arguments unquoted and space-separated; an EVAL's own line holds the script's source)."""
    import re

    parts = inner_line.split(" ", 2)
    if len(parts) < 2:
        return "(no key)"
    key = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "*", parts[1])
    return re.sub(r"[0-9a-f]{8,}|\d+", "*", key)


def _meter_write(line: str) -> str | None:
    """A command the meter sent for itself (not one it rode along with): a standalone flush, or a fold."""
    if "usage:pending:folding" in line:  # redis-py gives the arguments unquoted, space-separated
        return "fold"
    if " 1 usage:spans " in line:  # alone: with a delivery's done marker it has two keys
        return "flush"
    return None


def commandstats(url: str) -> dict[str, int]:
    import redis

    r = redis.Redis.from_url(url)
    try:
        return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in r.info("commandstats").items()}
    finally:
        r.close()


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC\|([^|]*)"
                       r"\|LOG:  (statement|execute [^:]*): ?(.*)$")


def statement_times(log_path: Path) -> list[tuple[float, str, str]]:
    """(real time, application name, statement) of every statement Postgres logged."""
    out = []
    with open(log_path, errors="replace") as f:
        for line in f:
            m = _LOG_LINE.match(line)
            if m:
                ts = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
                out.append((ts, m.group(2), m.group(4).strip()))
    return out


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the stack ------------------------------------------------------------------------------------------------------
@dataclass
class Stack:
    backing: Any
    pg: Any
    clock: SimClock
    api_url: str
    api_proc: subprocess.Popen
    tmp: Path
    stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for fn in reversed(self.stops):
            try:
                fn()
            except Exception:
                pass


def start_stack(tmp: Path, *, api_env: dict[str, str] | None = None) -> Stack:
    from bench import _private_pg
    from shared.local import services

    pg = _private_pg.start()
    saved = dict(os.environ)
    os.environ["TEST_DATABASE_ADMIN_URL"] = pg.url
    from shared.local.stack import start_backing

    port = services.free_port()
    backing = start_backing(mode="test", data_dir=tmp / "backing", public_base_url=f"http://127.0.0.1:{port}",
                            api_port=port)
    clock = SimClock(tmp / "clock")
    env = {**backing.env, "APP_ENV": "test", "PUBLISH_MODE": "dry_run", "SCRENDLY_CLOCK_FILE": str(clock.path),
           "LOG_LEVEL": "WARNING", "MEDIA_WORKER_TEMP_DIR": str(tmp / "scratch")}
    os.environ.update(env)
    from shared.config import get_config

    get_config.cache_clear()
    from shared.db.migrate import apply_migrations

    apply_migrations()
    backing.emulator.clock = clock.time
    backing.emulator.tick = 0.01
    os.environ.update(api_env or {})  # the harness process reads the same configuration
    get_config.cache_clear()
    log = open(tmp / "api.log", "ab")  # noqa: SIM115 -- the API process writes to it until the simulation ends
    proc = subprocess.Popen([sys.executable, "-m", "bench._sim_api", str(port)], cwd=str(ROOT),
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=log, stderr=subprocess.STDOUT)
    services.wait_for_port("127.0.0.1", port, timeout=60)
    stack = Stack(backing=backing, pg=pg, clock=clock, api_url=f"http://127.0.0.1:{port}", api_proc=proc, tmp=tmp)

    def restore_env() -> None:
        os.environ.clear()
        os.environ.update(saved)
        get_config.cache_clear()

    def stop_api() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    stack.stops += [restore_env, pg.stop, backing.stop, clock.close, stop_api]
    return stack


def stop_api(stack: Stack) -> None:
    if stack.api_proc.poll() is None:
        stack.api_proc.send_signal(signal.SIGTERM)
        stack.api_proc.wait(timeout=30)


# --- waiting for the emulator ------------------------------------------------------------------------------------
def emulator_next(emulator, after: float) -> float | None:
    times = [m.not_before for m in list(emulator.state.messages.values()) if m.state == "pending"]
    times += [s.next_fire for s in list(emulator.state.schedules.values()) if not s.paused]
    later = [t for t in times if t > after]
    return min(later) if later else None


def wait_quiet(emulator, clock: SimClock, timeout: float = 600.0) -> None:
    """Until the emulator has nothing due and nothing in flight (messages armed a few seconds ahead while a
    tick ran fall due in real time meanwhile and are waited for too)."""
    deadline = time.monotonic() + timeout
    calm = 0
    while time.monotonic() < deadline:
        now = clock.time()
        due = any(m.state == "pending" and m.not_before <= now + 0.5 for m in list(emulator.state.messages.values()))
        fire = any(not s.paused and s.next_fire <= now for s in list(emulator.state.schedules.values()))
        if due or fire or emulator._inflight or emulator._busy:
            calm = 0
        else:
            calm += 1
            if calm >= 3:
                return
        time.sleep(0.01)
    raise RuntimeError("the QStash emulator did not settle")
