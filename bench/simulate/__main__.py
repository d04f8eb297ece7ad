"""Simulate the whole network for N weeks under each policy and print the figures the product is
judged by: the share waiting 6 weeks or more by the DM01 clock (DM01 tests only) and by the wait
since referral, each beside the capacity lower bound for that clock, the spread of median waits
across the 6 ICBs, the refill rate of cancelled slots, the mean added travel, and the capacity
advice: the extra lists a week that bring the bound below 1 % on the wait since referral.

    python -m bench.simulate --weeks 12 --seed 1            # the whole network (scale 1)
    python -m bench.simulate --weeks 12 --seed 1 --scale 0.1 --no-dm01-clock-restart

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
from wmin.simulation.whatif.results import CapacityAdvice, ClockBound

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOAL_SHARE, GOAL_TRAVEL_KM, GOAL_GAP_TO_BOUND = 0.01, 10.0, 0.005


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
        "--no-dm01-clock-restart",
        action="store_true",
        help="every trust keeps the DM01 clock running when a patient cancels or does not attend "
        "(by default each restarts it, as DM01 allows: booking/rules/dm01.py)",
    )
    parser.add_argument("--json", type=Path, help="also write the full results here")
    args = parser.parse_args(argv)

    assumptions = Assumptions()
    started = time.perf_counter()
    state = synthetic_state(
        load_reference(FIXTURES), seed=args.seed, start=args.start, scale=args.scale, assumptions=assumptions
    )
    if args.no_dm01_clock_restart:
        state = dataclasses.replace(state, dm01_clock_restarts=(False,) * len(state.trusts))
    c = state.calibration
    print(f"{state.label}; {args.weeks} weeks from {args.start}, seed {args.seed}")
    print(
        f"calibration: {c['weekly_referrals']:,.0f} referrals and {c['weekly_slots_today']:,.0f} slots a week; "
        f"starting list {c['starting_waiting_list']:,} (expected {c['expected_share_over_6_weeks']:.1%} >= 6 weeks, "
        f"{c['expected_share_over_13_weeks']:.1%} >= 13 weeks); elective share {c['elective_share']:.0%}; "
        f"queue depth {c['queue_depth_base_weeks']:.2f} x pressure^{c['queue_depth_gamma']:.2f} weeks"
    )
    restarting = sum(state.dm01_clock_restarts)
    print(
        f"DM01 clock on a patient's cancellation or DNA: restarts at {restarting} of {len(state.trusts)} trusts "
        "(booking/rules/dm01.py); the wait since referral never moves, and every policy books the longest "
        "waiters by it first"
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
    bound = outcome.bound
    header = (
        f"{'policy':32} {'>=6 wk DM01':>11} {'>=6 wk ref.':>11} {'>=13 wk':>8} {'ICB spread':>11} "
        f"{'refill':>7} {'added km':>9} {'moved':>6} {'secs':>6}"
    )
    print(header)
    print("-" * len(header))
    for policy in outcome.policies:
        s = policy.summary
        print(
            f"{policy.title:32} {s.share_over_6_weeks_dm01:11.1%} {s.share_over_6_weeks:11.1%} "
            f"{s.share_over_13_weeks:8.1%} {s.icb_spread_weeks:8.2f} wk {_pct(s.refill_rate):>7} "
            f"{_km(s.mean_added_travel_km):>9} {_pct(s.moved_share):>6} {policy.seconds:6.1f}"
        )
    if bound is not None:
        print(
            f"{'lower bound (any policy)':32} {bound.dm01.share_within_tolerance:11.1%} "
            f"{bound.referral.share_within_tolerance:11.1%}"
        )
    print(
        "\n>=6 wk DM01: waiting 6 weeks or more by the DM01 clock, DM01 tests only; >=6 wk ref.: by the wait "
        "since referral, every test on the list. Bounds are shares of the starting list, counted the same way."
    )
    print()
    for policy in outcome.policies:
        s = policy.summary
        travel = s.mean_added_travel_km or 0
        ok = s.share_over_6_weeks_dm01 <= GOAL_SHARE and travel <= GOAL_TRAVEL_KM
        line = (
            f"{policy.title}: {'meets' if ok else 'misses'} the goal (<= 1% waiting 6 weeks or more by the DM01 "
            f"clock, added travel <= 10 km)"
        )
        if bound is not None:
            gap = s.share_over_6_weeks - bound.referral.share_within_tolerance
            line += (
                f"; by the wait since referral {gap * 100:+.1f} points from its bound "
                f"({'within' if gap <= GOAL_GAP_TO_BOUND else 'not within'} 0.5)"
            )
        if policy.allocator:
            line += f"; allocation by {policy.allocator}"
        print(line)
        print(
            f"  weekly share >= 6 weeks, DM01 clock:      {' '.join(f'{w.share_over_6_weeks_dm01:.1%}' for w in policy.weeks)}"
        )
        print(
            f"  weekly share >= 6 weeks, since referral:  {' '.join(f'{w.share_over_6_weeks:.1%}' for w in policy.weeks)}"
        )
    _print_census(outcome)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(outcome.as_dict(), indent=1))
    return 0


def _print_census(outcome: SimulationOutcome) -> None:
    """Why patients are waiting 6 weeks or more at the last census, and how few could be."""
    print(
        f"\nwaiting 6 weeks or more since referral at the last census (week {outcome.weeks}), by first cause:"
    )
    for policy in outcome.policies:
        c = policy.census
        if c is None:
            continue
        print(
            f"  {policy.title}: {c.over_6_weeks:,} of {c.waiting:,}: {c.over_6_weeks_at_the_start:,} already "
            f"at the start, {c.after_did_not_attend:,} booked again after a DNA, {c.after_cancelling:,} after "
            f"cancelling, {c.booked_for_6_weeks_or_more:,} booked for 6 weeks or more, {c.not_booked:,} not booked"
        )
        print(
            f"    of those booked again, {c.failed_too_late_to_rebook:,} missed or cancelled their first appointment "
            "too late in their wait for any new booking, at the notice they need, to fall before 6 weeks"
        )
        print(
            f"    by the DM01 clock: {c.over_6_weeks_dm01:,} of the {c.dm01_waiting:,} waiting for a DM01 test"
        )
        print(f"    by modality {_counts(c.by_modality)}; by ICB {_counts(c.by_icb)}")
        print(f"    by travel tolerance (extra km) {_counts(c.by_travel_tolerance_km)}")
    bound = outcome.bound
    if bound is None:
        return
    print(
        f"\nlower bound at today's capacity (census day {bound.census_day}, {bound.scans_per_slot:.3f} scans a slot):"
    )
    for name, clock in (("wait since referral", bound.referral), ("DM01 clock", bound.dm01)):
        _print_bound(name, clock)
    needed = ", ".join(f"{code} {share:.1%}" for code, share in bound.slots_needed_share.items())
    print(
        f"  share of each modality's slots that new referrals need at best (every freed slot refilled): {needed}\n"
        "    near 100% a list cannot shrink: patients are booked at the far end of its queue and one who misses\n"
        "    that appointment has no room left before 6 weeks; the bound ignores that timing"
    )
    if outcome.advice is not None:
        _print_advice(outcome.advice)


def _print_bound(name: str, clock: ClockBound) -> None:
    print(
        f"  by the {name}: {clock.must_be_cleared:,} patients must be cleared by the census; at least "
        f"{clock.shortfall_within_tolerance:,} cannot be within their travel tolerance ({clock.share_within_tolerance:.2%} "
        f"of {clock.counted_at_start:,}; {_counts(clock.shortfall_within_tolerance_by_modality)}), "
        f"{clock.shortfall_anywhere:,} even travelling anywhere ({_counts(clock.shortfall_by_modality)})"
    )
    pairs = ", ".join(f"{site} {modality}" for site, modality in clock.saturated)
    print(
        f"    saturated site-modalities (the max flow's min cut): {len(clock.saturated)}{': ' + pairs if pairs else ''}"
    )


def _print_advice(advice: CapacityAdvice) -> None:
    print(
        f"\ncapacity advice (wait since referral; bound {advice.share_now:.2%} now, target below "
        f"{advice.target_share:.0%}):"
    )
    print("  one more list a week, ranked by patients it alone brings under 6 weeks by the census:")
    for extra in advice.ranking[:10]:
        print(f"    {_extra(extra)}")
    if len(advice.ranking) > 10:
        print(f"    ... and {len(advice.ranking) - 10} more site-modalities")
    if not advice.plan and advice.reached:
        print(f"  no extra list needed: the bound is already below {advice.target_share:.0%}")
    else:
        verdict = "reach" if advice.reached else "do not reach"
        print(
            f"  fewest extra lists a week found: {len(advice.plan)} ({verdict} the target: bound "
            f"{advice.share_after:.2%}, {advice.shortfall_after:,} patients; DM01 bound {advice.dm01_share_after:.2%}); "
            f"no plan of fewer than {advice.fewest_possible} can reach it"
        )
    for extra in advice.plan:
        print(f"    + {_extra(extra)}")
    print(f"  method: {advice.method}")


def _extra(extra) -> str:  # an ExtraList
    return (
        f"{extra.site_name} ({extra.site}) {extra.modality}, {extra.weekday_name}s: {extra.slots} slots x "
        f"{extra.lists_by_census} by the census -> {extra.patients:,} patients"
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
