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


def _pct(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, unit: str = "") -> str:
    return NOT_AVAILABLE if value is None else f"{value:.1f}{unit}"


SUMMARY_COLUMNS = [
    ("share_over_6_weeks", "Waiting 6 weeks or more at the end", _pct),
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
            "share-over-6",
            charts.line_chart(
                weeks,
                series("share_over_6_weeks", 100),
                title="Share waiting 6 weeks or more, by week",
                description="Percentage of the waiting list that has waited 6 weeks or more at the end of each week, "
                "per policy. The dashed red line is the DM01 standard of 1%.",
                x_label="Week",
                y_label="% waiting 6 weeks or more",
                format_value=lambda v: f"{v:.1f}%",
                target=1.0,
                target_text="DM01 standard 1%",
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
        share_ok = s["share_over_6_weeks"] <= GOAL_SHARE
        travel = s.get("mean_added_travel_km")
        travel_ok = travel is not None and travel <= GOAL_TRAVEL_KM
        verdict = "meets" if share_ok and travel_ok else "does not meet"
        goal.append(
            f"{p['title']} {verdict} the goal of at most 1% waiting 6 weeks or more with added travel of at most "
            f"10 km ({_pct(s['share_over_6_weeks'])} and {_num(travel, ' km')})."
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
    )
