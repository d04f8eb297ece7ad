"""Simulate the whole network for N weeks under each policy and print the figures the product is
judged by: share waiting 6 weeks or more, the spread of median waits across the 6 ICBs, the refill
rate of cancelled slots and the mean added travel.

    python -m bench.simulate --weeks 12 --seed 1            # the whole network (scale 1)
    python -m bench.simulate --weeks 12 --seed 1 --scale 0.1 --dm01-clock-restart

Needs no database: the state is built from fixtures/ and calibrated to ../shared/data/network_facts.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import date
from pathlib import Path

from wmin.simulation.whatif import (
    Assumptions,
    Policy,
    SimulationOutcome,
    load_reference,
    simulate,
    synthetic_state,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOAL_SHARE, GOAL_TRAVEL_KM = 0.01, 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="share of the real network's volumes (1 = all)"
    )
    parser.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 11, 23), help="first simulated day"
    )
    parser.add_argument(
        "--dm01-clock-restart",
        action="store_true",
        help="restart a patient's clock when they cancel or do not attend, as DM01 allows",
    )
    parser.add_argument("--json", type=Path, help="also write the full results here")
    args = parser.parse_args(argv)

    assumptions = dataclasses.replace(
        Assumptions(), restart_clock_on_patient_cancel_or_dna=args.dm01_clock_restart
    )
    started = time.perf_counter()
    state = synthetic_state(
        load_reference(FIXTURES), seed=args.seed, start=args.start, scale=args.scale, assumptions=assumptions
    )
    c = state.calibration
    print(f"{state.label}; {args.weeks} weeks from {args.start}, seed {args.seed}")
    print(
        f"calibration: {c['weekly_referrals']:,.0f} referrals and {c['weekly_slots_today']:,.0f} slots a week; "
        f"starting list {c['starting_waiting_list']:,} (expected {c['expected_share_over_6_weeks']:.1%} >= 6 weeks, "
        f"{c['expected_share_over_13_weeks']:.1%} >= 13 weeks); elective share {c['elective_share']:.0%}; "
        f"queue depth {c['queue_depth_base_weeks']:.2f} x pressure^{c['queue_depth_gamma']:.2f} weeks"
    )
    print(
        f"clock on cancellation or DNA: {'restarts (DM01 rule)' if args.dm01_clock_restart else 'keeps running'}"
    )

    def progress(fraction: float) -> None:
        print(f"\r  simulating... {fraction:5.1%}", end="", file=sys.stderr, flush=True)

    outcome = simulate(
        state,
        weeks=args.weeks,
        seed=args.seed,
        policies=tuple(Policy),
        assumptions=assumptions,
        progress=progress,
    )
    print(file=sys.stderr)
    start_share = outcome.policies[0].weeks[0].share_over_6_weeks
    print(
        f"\nat the start: {start_share:.1%} waiting 6 weeks or more; "
        f"ICB spread {outcome.policies[0].weeks[0].icb_spread_weeks:.2f} weeks\n"
    )
    header = f"{'policy':32} {'>=6 wk':>7} {'>=13 wk':>8} {'ICB spread':>11} {'refill':>7} {'added km':>9} {'moved':>6} {'secs':>6}"
    print(header)
    print("-" * len(header))
    for policy in outcome.policies:
        s = policy.summary
        print(
            f"{policy.title:32} {s.share_over_6_weeks:7.1%} {s.share_over_13_weeks:8.1%} "
            f"{s.icb_spread_weeks:8.2f} wk {_pct(s.refill_rate):>7} {_km(s.mean_added_travel_km):>9} "
            f"{_pct(s.moved_share):>6} {policy.seconds:6.1f}"
        )
    print()
    for policy in outcome.policies:
        s = policy.summary
        ok = s.share_over_6_weeks <= GOAL_SHARE and (s.mean_added_travel_km or 0) <= GOAL_TRAVEL_KM
        print(
            f"{policy.title}: {'meets' if ok else 'misses'} the goal (<= 1% waiting 6 weeks or more, "
            f"added travel <= 10 km)" + (f"; allocation by {policy.allocator}" if policy.allocator else "")
        )
        weekly = " ".join(f"{w.share_over_6_weeks:.1%}" for w in policy.weeks)
        print(f"  weekly share >= 6 weeks: {weekly}")
    _print_census(outcome)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(outcome.as_dict(), indent=1))
    return 0


def _print_census(outcome: SimulationOutcome) -> None:
    """Why patients are waiting 6 weeks or more at the last census, and how few could be."""
    print(f"\nwaiting 6 weeks or more at the last census (week {outcome.weeks}), by first cause:")
    for policy in outcome.policies:
        c = policy.census
        if c is None:
            continue
        print(
            f"  {policy.title}: {c.over_6_weeks:,} of {c.waiting:,}: {c.over_6_weeks_at_the_start:,} already "
            f"at the start, {c.after_did_not_attend:,} booked again after a DNA, {c.after_cancelling:,} after "
            f"cancelling, {c.booked_for_6_weeks_or_more:,} booked for 6 weeks or more, {c.not_booked:,} not booked"
        )
        print(f"    by modality {_counts(c.by_modality)}; by ICB {_counts(c.by_icb)}")
        print(f"    by travel tolerance (extra km) {_counts(c.by_travel_tolerance_km)}")
    bound = outcome.bound
    if bound is None:
        return
    waiting = outcome.policies[-1].census.waiting if outcome.policies[-1].census else 0
    share = bound.shortfall_within_tolerance / waiting if waiting else 0.0
    print(
        f"\nlower bound at today's capacity: {bound.must_be_scanned:,} patients must be scanned by the census "
        f"(clock 6 weeks or more by then, or urgent since) at {bound.scans_per_slot:.3f} scans a slot; at least "
        f"{bound.shortfall_within_tolerance:,} cannot be within their travel tolerance "
        f"({share:.1%} of the {waiting:,} waiting under {outcome.policies[-1].title}; "
        f"{_counts(bound.shortfall_within_tolerance_by_modality)}), {bound.shortfall_anywhere:,} even travelling "
        f"anywhere ({_counts(bound.shortfall_by_modality)})"
    )


def _counts(counts: dict[str, int]) -> str:
    shown = {k: v for k, v in counts.items() if v}
    return ", ".join(f"{k} {v:,}" for k, v in sorted(shown.items(), key=lambda kv: -kv[1])) or "none"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _km(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
