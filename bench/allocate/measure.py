"""One measured run of one benchmark size (its own module so a spawned worker can import it)."""

from __future__ import annotations

import resource
import time

from booking.optimiser.allocate import (
    allocate,
    greedy_baseline,
    lp_bound,
    wait_summary,
    waits_at_scan,
)

from .network import SIZES, build_instance


def run_once(size_name: str, seed: int, with_lp: bool) -> dict[str, float]:
    started = time.perf_counter()
    problem, sites = build_instance(SIZES[size_name], seed)
    generated = time.perf_counter()
    optimal = allocate(problem)
    finished = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    greedy = greedy_baseline(problem)
    local = greedy_baseline(problem, nearest_site_only=True)
    today = wait_summary(problem.days_waited)
    at_scan_local = wait_summary(waits_at_scan(problem, local))
    at_scan_network = wait_summary(waits_at_scan(problem, optimal))
    figures = {
        "patients": problem.n_patients,
        "slots": problem.n_slots,
        "bins": problem.n_bins,
        "sites": len(sites),
        "generate_s": generated - started,
        "build_s": optimal.build_seconds,
        "solve_s": optimal.solve_seconds,
        "end_to_end_s": finished - generated,
        "peak_rss_mb": peak_mb,
        "arcs": optimal.arcs,
        "patient_site_pairs": optimal.patient_site_pairs,
        "optimal": float(optimal.status == "optimal"),
        "objective": optimal.objective,
        "assigned": optimal.assigned_count,
        "greedy_objective": greedy.objective,
        "greedy_gap_pct": 100.0 * (greedy.objective - optimal.objective) / optimal.objective,
        "greedy_assigned": greedy.assigned_count,
        "greedy_s": greedy.build_seconds + greedy.solve_seconds,
        "local_assigned": local.assigned_count,
        "waiting_6w_today_pct": 100 * today.share_over_6_weeks,
        "waiting_13w_today_pct": 100 * today.share_over_13_weeks,
        "at_scan_6w_local_pct": 100 * at_scan_local.share_over_6_weeks,
        "at_scan_6w_network_pct": 100 * at_scan_network.share_over_6_weeks,
        "at_scan_13w_local_pct": 100 * at_scan_local.share_over_13_weeks,
        "at_scan_13w_network_pct": 100 * at_scan_network.share_over_13_weeks,
        "median_at_scan_local_d": at_scan_local.median_days,
        "median_at_scan_network_d": at_scan_network.median_days,
        "p92_at_scan_local_d": at_scan_local.p92_days,
        "p92_at_scan_network_d": at_scan_network.p92_days,
    }
    if with_lp:
        bound = lp_bound(problem)
        figures |= {
            "lp_bound": bound.value,
            "lp_s": bound.seconds,
            "lp_gap": optimal.objective - bound.value,
            "peak_rss_with_lp_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    return figures
