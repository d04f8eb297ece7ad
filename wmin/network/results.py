"""Display of a what-if simulation's results: charts per measure and summary tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import charts
from .measures import NOT_AVAILABLE


@dataclass(frozen=True)
class SimulationResultsView:
    charts: list[tuple[str, charts.LineChartView]]  # (id, chart)
    summary_header: list[str]  # "Measure", then one column per policy
    summary_rows: list[list[str]]  # one row per measure
    allocators: list[str]
    icb_header: list[str]
    icb_rows: list[list[str]]
    calibration: dict[str, Any]
    label: str
    meets_goal: list[str]
    bounds: list[str]  # the capacity lower bound by each clock, in words


def _pct(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, unit: str = "") -> str:
    return NOT_AVAILABLE if value is None else f"{value:.1f}{unit}"


SUMMARY_COLUMNS = [
    (
        "share_over_6_weeks_dm01",
        "Waiting 6 weeks or more at the end, by the DM01 clock (DM01 tests only)",
        _pct,
    ),
    ("share_over_6_weeks", "Waiting 6 weeks or more at the end, by the wait since referral", _pct),
    ("share_over_13_weeks", "Waiting 13 weeks or more at the end", _pct),
    ("median_wait_weeks", "Median wait at the end (weeks)", _num),
    ("icb_spread_weeks", "Spread of ICB median waits (weeks)", _num),
    ("refill_rate", "Cancelled slots refilled", _pct),
    ("mean_added_travel_km", "Mean added travel per booking (km)", _num),
    ("moved_share", "Booked at another trust's site", _pct),
    ("utilisation", "Slots used", _pct),
]
GOAL_SHARE, GOAL_TRAVEL_KM = 0.01, 10.0


def results_view(results: dict[str, Any]) -> SimulationResultsView:
    policies = results.get("policies", [])
    weeks = [w["week"] for w in policies[0]["weeks"]] if policies else []
    names = [p["title"] for p in policies]

    def series(key: str, scale: float = 1.0) -> list[tuple[str, list[float | None]]]:
        return [
            (p["title"], [None if w.get(key) is None else w[key] * scale for w in p["weeks"]])
            for p in policies
        ]

    line_charts = [
        (
            "share-over-6-dm01",
            charts.line_chart(
                weeks,
                series("share_over_6_weeks_dm01", 100),
                title="Share waiting 6 weeks or more by the DM01 clock, by week",
                description="Percentage of referrals for a DM01 test waiting 6 weeks or more by the DM01 clock (which "
                "restarts when a patient cancels or does not attend, where the trust restarts clocks) at the end "
                "of each week, per policy. The dashed red line is the DM01 standard of 1%.",
                x_label="Week",
                y_label="% waiting 6 weeks or more (DM01)",
                format_value=lambda v: f"{v:.1f}%",
                target=1.0,
                target_text="DM01 standard 1%",
            ),
        ),
        (
            "share-over-6",
            charts.line_chart(
                weeks,
                series("share_over_6_weeks", 100),
                title="Share waiting 6 weeks or more since referral, by week",
                description="Percentage of the whole waiting list that has waited 6 weeks or more since referral (a "
                "clock that never restarts) at the end of each week, per policy.",
                x_label="Week",
                y_label="% waiting 6 weeks or more since referral",
                format_value=lambda v: f"{v:.1f}%",
            ),
        ),
        (
            "icb-spread",
            charts.line_chart(
                weeks,
                series("icb_spread_weeks"),
                title="Spread of median waits across the 6 ICBs, by week",
                description="Longest ICB median wait minus the shortest, in weeks: lower means more equal waits.",
                x_label="Week",
                y_label="Weeks",
                format_value=lambda v: f"{v:.2f}",
            ),
        ),
        (
            "refill",
            charts.line_chart(
                weeks[1:],
                [(n, v[1:]) for n, v in series("refill_rate", 100)],
                title="Cancelled slots refilled, by week of cancellation",
                description="Percentage of slots cancelled by patients that someone else was booked into.",
                x_label="Week",
                y_label="% refilled",
                format_value=lambda v: f"{v:.0f}%",
            ),
        ),
        (
            "travel",
            charts.line_chart(
                weeks[1:],
                [(n, v[1:]) for n, v in series("mean_added_travel_km")],
                title="Mean added travel per booking, by week",
                description="Road-distance estimate from home to the booked site minus to the nearest site offering "
                "the scan, averaged over the week's bookings. The dashed line is the 10 km goal.",
                x_label="Week",
                y_label="km",
                format_value=lambda v: f"{v:.1f} km",
                target=GOAL_TRAVEL_KM,
                target_text="Goal: at most 10 km",
            ),
        ),
    ]
    rows = [[title, *(fmt(p["summary"].get(key)) for p in policies)] for key, title, fmt in SUMMARY_COLUMNS]
    allocators = [
        f"{p['title']}: network allocation by {p['allocator']}" for p in policies if p.get("allocator")
    ]
    icbs = results.get("icbs", {})
    icb_rows = []
    for code, name in icbs.items():
        icb_rows.append([name, *(_num(p["weeks"][-1]["icb_median_wait_weeks"].get(code)) for p in policies)])
    goal = []
    for p in policies:
        s = p["summary"]
        dm01 = s.get("share_over_6_weeks_dm01")
        share_ok = dm01 is not None and dm01 <= GOAL_SHARE
        travel = s.get("mean_added_travel_km")
        travel_ok = travel is not None and travel <= GOAL_TRAVEL_KM
        verdict = "meets" if share_ok and travel_ok else "does not meet"
        goal.append(
            f"{p['title']} {verdict} the goal of at most 1% waiting 6 weeks or more by the DM01 clock with added "
            f"travel of at most 10 km ({_pct(dm01)} and {_num(travel, ' km')}); by the wait since referral "
            f"{_pct(s['share_over_6_weeks'])}."
        )
    return SimulationResultsView(
        charts=line_charts,
        summary_header=["Measure", *names],
        summary_rows=rows,
        allocators=allocators,
        icb_header=["ICB", *names],
        icb_rows=icb_rows,
        calibration=results.get("calibration", {}),
        label=results.get("label", ""),
        meets_goal=goal,
        bounds=bound_lines(results.get("bound")),
    )


TIGHT_SHARE = 0.97  # a modality whose referrals need this share of its slots has no slack


def bound_lines(bound: dict[str, Any] | None) -> list[str]:
    """The capacity lower bound by each clock, as sentences (none for runs from before it existed)."""
    if not bound or "referral" not in bound:
        return []
    lines = []
    for key, clock in (
        ("dm01", "by the DM01 clock (DM01 tests only)"),
        ("referral", "by the wait since referral"),
    ):
        b = bound[key]
        lines.append(
            f"At least {b['shortfall_within_tolerance']:,} patients ({_pct(b['share_within_tolerance'])} of the "
            f"{b['counted_at_start']:,} on the list at the start) would still be waiting 6 weeks or more {clock} at "
            "the end under any policy, at today's capacity and within each patient's travel tolerance."
        )
    tight = {
        code: share for code, share in bound.get("slots_needed_share", {}).items() if share >= TIGHT_SHARE
    }
    if tight:
        named = ", ".join(f"{code} {_pct(share)}" for code, share in tight.items())
        lines.append(
            f"New referrals need, at best (every freed slot filled again), nearly all the slots of: {named}. With "
            "so little slack a waiting list cannot shrink: patients are booked at the far end of a queue several "
            "weeks long, and one who misses that appointment has no room left before 6 weeks. The bound ignores "
            "that timing, so policies that book patients as they are referred stay well above it there."
        )
    return lines
