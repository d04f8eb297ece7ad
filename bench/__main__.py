"""Every benchmark in turn, each in its own process: python -m bench [name ...]

Names: hl7_ingest, shortlist, allocate, backfill, simulate, dashboards, load (default: all, in that order). Each
prints its own figures; this prints how long each took and stops at the first that fails.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = ("hl7_ingest", "shortlist", "allocate", "backfill", "simulate", "dashboards", "load")


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or BENCHMARKS:
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"])
        print(f"=== bench.{name}: {'ok' if code == 0 else f'exit {code}'} in {time.perf_counter() - started:.0f} s ===")
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
