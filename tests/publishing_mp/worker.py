"""One worker process: the real engine, fed QStash-style messages from a Redis list (at least once: a message
stays in this process's `processing` list until it is done, so a SIGKILL hands it back to the orchestrator,
which delivers it again).

What is not production here, and why:
- platform hostnames resolve to the fake server (a transport that keeps the Host header: DNS and TLS stand-in);
- kill points: with the probabilities the orchestrator passes, this process SIGKILLs itself right after a
  sender's claim (between claim and send) or right before the published record is written. Kills after the
  platform accepted come from the fake server; kills at random moments from the orchestrator.

    python tests/publishing_mp/worker.py [--zygote]   (configuration in HARNESS_* environment variables)
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

INBOX = "harness:inbox"


def processing_key(pid: int) -> str:
    return f"harness:processing:{pid}"


def host_map_transport(hosts: set[str], port: int):
    import httpx

    class HostMapTransport(httpx.BaseTransport):
        """Sends requests for the fakes' hostnames to the fake server, Host header kept."""

        def __init__(self):
            self.inner = httpx.HTTPTransport()
            self.pid = str(os.getpid())

        def handle_request(self, request):
            if request.url.host in hosts:
                request.headers["X-Harness-Pid"] = self.pid
                request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
            return self.inner.handle_request(request)

        def close(self):
            self.inner.close()

    return HostMapTransport()


def install_transport(hosts: set[str], port: int) -> None:
    import httpx

    from shared.config import get_config
    from shared.publishing.adapters import http as platform_http

    timeout = get_config().publish_http_timeout_seconds
    transport = host_map_transport(hosts, port)
    client = httpx.Client(transport=transport, timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
                          follow_redirects=False, headers={"User-Agent": "Screndly/1.0"})
    platform_http.quiet_transport_logs()
    with platform_http._lock:
        platform_http._client, platform_http._client_timeout = client, timeout


def install_kill_points(redis, p_claim: float, p_record: float, seed: int) -> None:
    """SIGKILL this process at the two engine moments a random kill rarely hits."""
    from shared.publishing.engine import publications as pubs

    rng = random.Random(seed)
    lock = threading.Lock()

    def roll(p: float) -> bool:
        with lock:
            return p > 0 and rng.random() < p and not redis.exists("harness:calm")

    def die(kind: str) -> None:
        redis.hincrby("harness:kills", kind, 1)
        os.kill(os.getpid(), signal.SIGKILL)

    real_claim, real_settle = pubs.claim, pubs.settle_published

    def claim(*a, **kw):
        row = real_claim(*a, **kw)
        if row is not None and roll(p_claim):
            die("after_claim")
        return row

    def settle_published(*a, **kw):
        if roll(p_record):
            die("before_record")
        return real_settle(*a, **kw)
    pubs.claim, pubs.settle_published = claim, settle_published


def handle(message: dict) -> str:
    kind, args = message["kind"], message.get("args") or {}
    if kind == "publish":
        from shared.publishing.gateway import PublishRequest, publish

        return publish(PublishRequest(**args)).status
    if kind == "rss_retry":  # the owner approved a retry: the RSS delivery's publish step, as it runs it
        from shared.publishing.gateway import PublishRequest
        from shared.rss.queue import publish_for_rss

        return publish_for_rss(PublishRequest(**args), approved=True).status
    if kind == "compose":  # POST /api/platforms/post behind the router (a re-send re-arms proven failures)
        from shared.publishing.api_service import publish_now

        res = publish_now([args["platform"]], args["content"], args["key"])
        return res["results"][0]["state"]
    if kind == "run":
        from shared.publishing.engine.runner import run

        return run(args["publicationId"]).state
    if kind == "settle":
        from shared.publishing.engine.runner import settle

        return settle(args["publicationId"]).state
    if kind == "maintenance":
        from shared.publishing.engine.runner import run_overdue, sweep_stuck

        sweep_stuck()
        run_overdue(grace_seconds=float(args.get("grace", 2.0)))
        return "ok"
    raise ValueError(f"unknown message kind {kind}")


def loop(redis, stop: threading.Event) -> None:
    mine = processing_key(os.getpid())
    while not stop.is_set():
        raw = redis.blmove(INBOX, mine, 0.5, "RIGHT", "LEFT")
        if raw is None:
            continue
        message = json.loads(raw)
        try:
            state = handle(message)
            redis.hincrby("harness:handled", f"{message['kind']}:{state}", 1)
        except Exception as exc:
            redis.hincrby("harness:errors", f"{message['kind']}:{type(exc).__name__}", 1)
            redis.rpush("harness:error_log", f"{message['kind']}: {traceback.format_exc()[-1500:]}")
            if message.get("attempt", 0) < 3:  # an error answer: QStash delivers it again
                redis.lpush(INBOX, json.dumps({**message, "attempt": message.get("attempt", 0) + 1}))
        finally:
            redis.lrem(mine, 1, raw)


def main() -> None:
    import redis as redis_lib

    env = os.environ
    r = redis_lib.Redis.from_url(env["HARNESS_REDIS_URL"], decode_responses=True)
    hosts = set(env["HARNESS_FAKE_HOSTS"].split(","))
    install_transport(hosts, int(env["HARNESS_FAKE_PORT"]))
    if env.get("HARNESS_YOUTUBE_CHUNK_BYTES"):
        from shared.publishing.adapters import youtube

        youtube.CHUNK_BYTES = int(env["HARNESS_YOUTUBE_CHUNK_BYTES"])  # several chunks per upload, still small
    install_kill_points(r, float(env.get("HARNESS_KILL_AFTER_CLAIM", "0")),
                        float(env.get("HARNESS_KILL_BEFORE_RECORD", "0")), os.getpid())
    import shared.rss  # noqa: F401  (registers RSS's settle listener, as the API process does)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=loop, args=(r, stop), daemon=True)
               for _ in range(int(env.get("HARNESS_THREADS", "2")))]
    for t in threads:
        t.start()
    r.sadd("harness:ready", os.getpid())
    while not stop.is_set() and any(t.is_alive() for t in threads):
        time.sleep(0.2)
    for t in threads:
        t.join(timeout=30)
    from shared.db import close_pool

    close_pool()


def zygote() -> None:
    """Import everything once, then fork a fresh worker per line on stdin (its pid back on stdout). A worker
    killed with SIGKILL is replaced in milliseconds instead of a second and a half of imports; each is still
    its own OS process, with its own connections, pools and threads (none exist before the fork)."""
    import httpx  # noqa: F401
    import psycopg  # noqa: F401
    import redis  # noqa: F401

    import shared.publishing.api_service
    import shared.publishing.engine.runner
    import shared.publishing.gateway
    import shared.rss.queue  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps dead workers
    for line in sys.stdin:
        if line.strip() != "spawn":
            continue
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                main()
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    zygote() if "--zygote" in sys.argv else main()
