"""Never twice, with real processes, the long run: 2,100 publications across all seven platforms, 3 worker OS
processes running the real engine against one Postgres and Redis (tests/publishing_mp: every message delivered
at least twice, SIGKILL at random moments, right after a sender's claim, right after the platform accepted and
right before the record is written, SIGSTOP past the lease; platforms on a real socket that accept slowly, time
out / drop / answer 500 after accepting and fail look-ups; Compose re-sends and approved RSS retries meanwhile;
then a settle phase).

Required: 0 duplicates, 0 losses (neither posted nor visibly failed / unconfirmed), 0 false proofs (a `failed`
row whose post exists). The "baseline" of this bench is the ledger itself: the fakes count every accepted post.

`python -m bench publishing_processes` (HARNESS_PUBLICATIONS=... to change the size, HARNESS_VERBOSE=1 for
progress lines).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from bench._backing import private_backing

    with private_backing() as backing:
        from publishing_mp.harness import Config, run

        n = int(os.environ.get("HARNESS_PUBLICATIONS", "2100"))
        cfg = Config(publications=n, feed_seconds=max(6.0, n / 30), settle_timeout=300.0, seed=20261210)
        report = run(cfg, backing.redis_url)
    print(report.table())
    verdict = "PASS" if report.ok and not report.worker_errors else "FAIL"
    print(f"  required: 0 duplicates, 0 losses, 0 false proofs, every unconfirmed row notified -> {verdict}")
    if report.duplicates or report.losses or report.false_proofs:
        print(f"  duplicates: {dict(list(report.duplicates.items())[:10])}")
        print(f"  losses: {report.losses[:10]}")
        print(f"  false proofs: {report.false_proofs[:10]}")
    if report.worker_errors:
        print("  worker error samples:\n" + "\n".join(report.error_samples))
    if verdict == "FAIL":
        raise AssertionError("the multi-process publishing run posted twice, lost a post or failed a posted one")
