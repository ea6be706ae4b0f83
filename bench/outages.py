"""Postgres and Redis each stopped for 30 s under polling, against the API on a real socket.

For every answer during the outage: 503 with Retry-After in <= 3 s, or 200 from a route that does not need
the dead service; after the restart the first 200 within 5 s. Private servers only (shared/local/restartable.py),
never the machine's shared 5432/6379. tests/test_outages.py runs the same observation with a 3 s outage.

Baseline, same run: the same requests with every service up (their latency before the outage).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from unittest import mock

OUTAGE_SECONDS = 30.0
ANSWER_BUDGET = 3.0
RECOVERY_BUDGET = 5.0


@dataclass
class Probe:
    name: str
    send: Callable[[], object]  # returns an httpx.Response
    needs_dead_service: bool  # True: 503 expected during the outage; False: 200 expected


@dataclass
class Report:
    answers: dict[str, list[tuple[int, float, str | None]]] = field(default_factory=dict)  # status, s, Retry-After
    first_ok_after_restart: dict[str, float | None] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    expect_ok: set[str] = field(default_factory=set)  # probes that do not need the stopped service

    def problems(self) -> list[str]:
        out = []
        for name, answers in self.answers.items():
            for status, took, retry_after in answers:
                if took > ANSWER_BUDGET:
                    out.append(f"{name}: answered after {took:.2f} s")
                if status == 503 and not retry_after:
                    out.append(f"{name}: 503 without Retry-After")
                if status not in (200, 503) or (name in self.expect_ok and status != 200):
                    out.append(f"{name}: status {status} during the outage")
        for name, t in self.first_ok_after_restart.items():
            if t is None or t > RECOVERY_BUDGET:
                out.append(f"{name}: first 200 after restart {t}")
        return out


def _timed(send):
    t0 = time.monotonic()
    r = send()
    return r, time.monotonic() - t0


def observe_outage(probes: list[Probe], stop: Callable[[], None], start: Callable[[], None], *,
                   outage_seconds: float, interval: float = 0.25) -> Report:
    report = Report(expect_ok={p.name for p in probes if not p.needs_dead_service})
    deadline = time.monotonic() + 20
    for p in probes:  # warm: every probe answers 200 with everything up
        while True:
            r, took = _timed(p.send)
            if r.status_code == 200:
                report.baseline[p.name] = took
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{p.name} never answered 200 before the outage: {r.status_code} {r.text[:200]}")
            time.sleep(0.1)
    stop()
    until = time.monotonic() + outage_seconds
    while time.monotonic() < until:
        for p in probes:
            r, took = _timed(p.send)
            report.answers.setdefault(p.name, []).append((r.status_code, took, r.headers.get("retry-after")))
        time.sleep(interval)
    start()
    restarted = time.monotonic()
    pending = {p.name: p for p in probes}
    report.first_ok_after_restart = {p.name: None for p in probes}
    while pending and time.monotonic() - restarted < 3 * RECOVERY_BUDGET:
        for name, p in list(pending.items()):
            r, _ = _timed(p.send)
            if r.status_code == 200:
                report.first_ok_after_restart[name] = round(time.monotonic() - restarted, 2)
                del pending[name]
        time.sleep(0.05)
    return report


def outage_probes(api_url: str, *, token: str, password: str, signed_delivery: Callable[[], dict]):
    """The requests a real day sends: the SPA's polls, a login, a QStash delivery."""
    import httpx

    client = httpx.Client(base_url=api_url, timeout=30)
    auth = {"Authorization": f"Bearer {token}"}
    return client, {
        "GET /api/notifications (poll)": lambda: client.get("/api/notifications?limit=5", headers=auth),
        "POST /api/auth/login": lambda: client.post("/api/auth/login", json={"password": password}),
        "POST /api/internal/cleanup (QStash)": lambda: client.post("/api/internal/cleanup", **signed_delivery()),
    }


def signer(public_base_url: str, signing_key: str):
    import uuid

    from shared.local.qstash_emulator import sign

    def delivery() -> dict:
        body = b"{}"
        return {"content": body, "headers": {
            "Upstash-Signature": sign(body, public_base_url + "/api/internal/cleanup", signing_key),
            "Upstash-Message-Id": f"msg_{uuid.uuid4().hex}", "Content-Type": "application/json"}}

    return delivery


def run_both(api_url: str, public_base_url: str, tmp, *, outage_seconds: float, password: str) -> dict[str, Report]:
    """Points this process's API at private servers, stops each for `outage_seconds`, restores the config."""
    from shared.auth import sessions
    from shared.config import get_config
    from shared.db import close_pool
    from shared.db.migrate import apply_migrations
    from shared.local.restartable import RestartablePostgres, RestartableRedis
    from shared.redis_client import reset_redis_client
    from shared.security.tokens import issue_session_token

    pg = RestartablePostgres()
    redis = RestartableRedis(tmp)

    def reset_clients() -> None:
        get_config.cache_clear()
        close_pool()
        reset_redis_client()
        sessions.forget_cache()

    try:
        with mock.patch.dict(os.environ, {"DATABASE_URL": pg.url, "UPSTASH_REDIS_REST_URL": redis.bridge.url,
                                          "UPSTASH_REDIS_REST_TOKEN": redis.token}):
            reset_clients()
            apply_migrations()
            delivery = signer(public_base_url, get_config().qstash_current_signing_key)
            client, sends = outage_probes(api_url, token=issue_session_token()[0], password=password,
                                          signed_delivery=delivery)
            with client:
                return {
                    "postgres": observe_outage([
                        Probe(n, s, needs_dead_service=not n.startswith("POST /api/auth/login"))
                        for n, s in sends.items()], pg.stop, pg.start, outage_seconds=outage_seconds),
                    "redis": observe_outage([
                        Probe(n, s, needs_dead_service=not n.startswith("GET /api/notifications"))
                        for n, s in sends.items()], redis.stop, redis.start, outage_seconds=outage_seconds),
                }
    finally:
        reset_clients()
        redis.close()
        pg.close()


def summarize(reports: dict[str, Report]) -> list[str]:
    lines = [(f"{'service down':<13}{'request':<38}{'answers':>8}{'statuses':>14}{'max s':>8}"
             f"{'before s':>10}{'1st 200 s':>11}")]
    for service, rep in reports.items():
        for name, answers in rep.answers.items():
            statuses = ",".join(sorted({str(a[0]) for a in answers}))
            lines.append(f"{service:<13}{name:<38}{len(answers):>8}{statuses:>14}"
                         f"{max(a[1] for a in answers):>8.2f}{rep.baseline.get(name, 0):>10.3f}"
                         f"{rep.first_ok_after_restart.get(name) or float('nan'):>11.2f}")
    return lines


def main() -> None:
    from bench._backing import private_backing
    from shared.local import services

    password = "bench outage password"
    with private_backing() as backing:
        from argon2 import PasswordHasher

        from shared.api.app import create_app
        from shared.config import get_config

        os.environ["APP_PASSWORD_HASH"] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)
        get_config.cache_clear()
        public = backing.env["PUBLIC_BASE_URL"]
        port = int(public.rsplit(":", 1)[1])
        server = services.ServerThread(create_app(), port=port).start()
        tmp = services.tempdir("screndly-outage-")
        try:
            reports = run_both(server.url, public, tmp, outage_seconds=OUTAGE_SECONDS, password=password)
        finally:
            server.stop()
    print(f"each service stopped for {OUTAGE_SECONDS:.0f} s while 3 requests poll every 0.25 s "
          f"(budget: answer <= {ANSWER_BUDGET} s, first 200 <= {RECOVERY_BUDGET} s after restart)")
    for line in summarize(reports):
        print(line)
    problems = [f"{s}: {p}" for s, r in reports.items() for p in r.problems()]
    print("result:", "OK" if not problems else "FAILED")
    for p in problems[:20]:
        print("  ", p)
    if problems:
        raise AssertionError(f"{len(problems)} outage budget violations")
