"""Never twice under injected faults, the long run: the seeded randomized publishing run of
tests/test_publishing_randomized.py (tests/randomized_faults.py) with 1,000 publications under three seeds, the
test's own seed first. Each seed on a fresh private stack (own database and Redis), the platforms the fakes of
tests/publishing_fakes held to their official descriptions.

Required, per seed: 0 duplicate posts, every publication published (posted exactly once), failed with a reason
(and absent from its platform) or unconfirmed with the owner told, more than half published, and no request a
platform's description does not allow. The test runs 300 publications of one seed: the same kinds of fault,
less volume.

`python -m bench randomized_faults` (RANDOMIZED_PUBLICATIONS=..., RANDOMIZED_SEEDS=a,b,... to change the size).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_SEED = 20261128  # tests/test_publishing_randomized.py


def _one(n: int, seed: int):
    import pytest
    import respx
    from publishing_fakes.world import World
    from randomized_faults import run

    from bench._backing import private_backing
    from shared.config import get_config
    from shared.db import connection

    with private_backing(), pytest.MonkeyPatch.context() as mp:
        mp.setenv("PUBLISH_MODE", "live")
        world = World()
        for k, v in world.env().items():
            mp.setenv(k, v)
        get_config.cache_clear()
        try:
            with respx.mock(assert_all_called=False, assert_all_mocked=True) as router, connection() as db:
                world.install(router)
                res = run(world, db, mp, n=n, seed=seed)
        finally:
            get_config.cache_clear()
    return res, world.violations()


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    n = int(os.environ.get("RANDOMIZED_PUBLICATIONS", "1000"))
    seeds = [int(s) for s in os.environ.get("RANDOMIZED_SEEDS", f"{TEST_SEED},{TEST_SEED + 1},{TEST_SEED + 2}")
             .split(",")]
    print(f"randomized faults: {n} publications per seed, 4 threads, 15% submitted twice")
    print(f"  {'seed':>9} {'published':>9} {'failed':>6} {'unconf.':>7} {'posts':>6} {'dup.':>4} {'problems':>8} "
          f"{'off-spec':>8} {'seconds':>7}")
    failed = []
    for seed in seeds:
        res, violations = _one(n, seed)
        problems = res.problems()
        s = res.states
        print(f"  {seed:>9} {s['published']:>9} {s['failed']:>6} {s['unconfirmed']:>7} {sum(res.ledger.values()):>6} "
              f"{sum(sum(d.values()) for d in res.duplicates.values()):>4} {len(problems):>8} {len(violations):>8} "
              f"{res.seconds:>7.1f}")
        for line in [*problems, *violations][:10]:
            print(f"    {line}")
        if problems or violations:
            failed.append(seed)
    verdict = "FAIL" if failed else "PASS"
    print(f"  required: 0 duplicates, every row settled and true to the platforms, 0 off-spec requests -> {verdict}")
    if failed:
        raise AssertionError(f"the randomized run broke a rule under seeds {failed}")


if __name__ == "__main__":
    main()
