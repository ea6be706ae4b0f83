"""`make bench`: run every benchmark module in bench/ (each prints its own table and baseline).

`python -m bench rss media` runs only the named ones.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")]
    wanted = argv or sorted(names)
    failed = []
    for name in wanted:
        if name not in names:
            print(f"unknown benchmark {name!r}; have: {', '.join(sorted(names))}")
            return 2
        print(f"\n=== bench/{name}.py " + "=" * max(0, 60 - len(name)))
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # one broken benchmark must not hide the others
            failed.append(name)
            print(f"!! {name} failed: {type(exc).__name__}: {exc}")
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
