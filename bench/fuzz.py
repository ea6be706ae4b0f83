"""schemathesis over /openapi.json against the API on a real socket: >= 5,000 generated requests, every
operation, a fixed seed. Passes with 0 answers >= 500 and 0 violations of the declared responses (status
codes, content types, schemas, headers). tests/test_api_fuzz.py runs the same loop with a few hundred cases.

Baseline, same run: the share of each status class, so a drop in 2xx (the generator no longer reaching the
handlers) is visible next to the failure counts.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

SEED = 1313
BENCH_CASES = 5_000


def _checks():
    # no `not_a_server_error`: it fails every 5xx, the documented 502 (YouTube, a platform or a feed host
    # unreachable) and 503 (our own outage) included; `fuzz` counts the other 5xx itself (`server_errors`)
    from schemathesis.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [status_code_conformance, content_type_conformance, response_schema_conformance,
            response_headers_conformance]


@dataclass
class FuzzResult:
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    server_errors: int = 0
    seconds: float = 0.0


def fuzz(schema_dict: dict, base_url: str, *, per_operation: int, auth: Callable[[], dict[str, str]],
         seed: int = SEED, skip: Callable[[str, str], bool] = lambda m, p: False) -> FuzzResult:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed

    schema = schemathesis.openapi.from_dict(schema_dict)
    checks = _checks()
    out = FuzzResult()
    started = time.perf_counter()
    for result in schema.get_all_operations():
        op = result.ok()
        if skip(op.method.upper(), op.path):
            continue

        @fixed_seed(seed)
        @settings(max_examples=per_operation, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(case=op.as_strategy())
        def run(case):
            resp = case.call(base_url=base_url, headers=auth(), timeout=30)
            out.cases += 1
            out.statuses[resp.status_code] += 1
            if resp.status_code >= 500 and resp.status_code not in (502, 503):
                out.server_errors += 1
            try:
                case.validate_response(resp, checks=checks)
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup: record it, keep going
                out.failures.append(f"{case.method} {case.path} -> {resp.status_code}: "
                                    f"{str(exc).strip().splitlines()[0][:160]}\n    {case.as_curl_command()[:300]}")

        run()
    out.seconds = time.perf_counter() - started
    return out


def report_lines(res: FuzzResult) -> list[str]:
    classes = Counter()
    for status, n in res.statuses.items():
        classes[f"{status // 100}xx"] += n
    lines = [f"cases {res.cases} in {res.seconds:.1f} s ({1000 * res.seconds / max(1, res.cases):.1f} ms each)",
             "status classes: " + ", ".join(f"{k} {v} ({100 * v / max(1, res.cases):.0f} %)"
                                            for k, v in sorted(classes.items())),
             "statuses: " + ", ".join(f"{k}:{v}" for k, v in sorted(res.statuses.items())),
             f"answers >= 500 other than declared 502/503: {res.server_errors}",
             f"response violations (status, content type, schema, headers): {len(res.failures)}"]
    lines += ["  " + f for f in res.failures[:15]]
    return lines


def main() -> None:
    import os

    from bench._backing import private_backing
    from shared.local import services

    with private_backing() as backing:
        from argon2 import PasswordHasher

        from shared.api.app import create_app
        from shared.config import get_config
        from shared.security.tokens import issue_session_token

        # login must be configured, or every generated login is the (correct) "Server configuration error" 500
        os.environ["APP_PASSWORD_HASH"] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
            "bench fuzz password that nobody guesses")
        get_config.cache_clear()
        app = create_app()
        port = int(backing.env["PUBLIC_BASE_URL"].rsplit(":", 1)[1])
        server = services.ServerThread(app, port=port).start()
        try:
            ops = sum(1 for _ in app.openapi()["paths"].values() for _ in _)
            per_op = max(1, BENCH_CASES // max(1, ops) + 1)
            res = FuzzResult()
            seed = SEED
            while res.cases < BENCH_CASES:  # operations without parameters yield fewer distinct cases
                part = fuzz(app.openapi(), server.url, per_operation=per_op, seed=seed,
                            auth=lambda: {"Authorization": f"Bearer {issue_session_token()[0]}"})
                res.cases += part.cases
                res.statuses.update(part.statuses)
                res.failures += part.failures
                res.server_errors += part.server_errors
                res.seconds += part.seconds
                seed += 1
        finally:
            server.stop()
    print(f"schemathesis {BENCH_CASES}+ cases over every operation, seed {SEED}, real socket")
    for line in report_lines(res):
        print(line)
    if res.server_errors or res.failures or res.cases < BENCH_CASES:
        raise AssertionError(f"{res.server_errors} server errors, {len(res.failures)} violations, "
                             f"{res.cases} cases")
