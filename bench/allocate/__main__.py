"""Benchmark the network allocation: python -m bench.allocate [--sizes small,large] [--seed 1] [--repeat 2]

Each run of each size happens in a fresh process, so the peak memory (ru_maxrss) is that size's own.
With --repeat N the figures printed are medians over the N runs. The LP bound (HiGHS through SciPy)
is solved for the small size only, unless --lp-sizes says otherwise; it is a check, timed apart.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics

from .measure import run_once
from .network import SIZES


def run_in_fresh_process(size_name: str, seed: int, with_lp: bool) -> dict[str, float]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(run_once, (size_name, seed, with_lp))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.allocate", description=__doc__)
    parser.add_argument("--sizes", default="small,large", help="comma-separated: " + ",".join(SIZES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; medians are printed")
    parser.add_argument("--lp-sizes", default="small", help="sizes to solve the LP bound for ('' for none)")
    args = parser.parse_args()
    lp_sizes = set(filter(None, args.lp_sizes.split(",")))

    for size_name in args.sizes.split(","):
        runs = [run_in_fresh_process(size_name, args.seed, size_name in lp_sizes) for _ in range(args.repeat)]
        print(f"\n== {size_name}: seed {args.seed}, median of {len(runs)} run(s) ==")
        for key in runs[0]:
            values = [run[key] for run in runs]
            median = statistics.median(values)
            spread = (
                f"   runs: {', '.join(_fmt(v) for v in values)}"
                if len(runs) > 1 and key.endswith("_s")
                else ""
            )
            print(f"  {key:28s} {_fmt(median)}{spread}")


def _fmt(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}"


if __name__ == "__main__":
    main()
