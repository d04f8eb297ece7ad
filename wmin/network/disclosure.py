"""Statistical disclosure control for everything managers see or export (NHS small-number rules).

One function per question, for every table, chart table and CSV in wmin/network (use them for any
new page too):

- `suppress_count(n)`: a count of people or their bookings. 1 to 4 becomes "*" (a group that small
  could be recognised); every other count is rounded to the nearest 5, so a suppressed cell cannot be
  worked out by subtracting the others from a total. 0 stays 0.
- `suppress_metrics(metrics)`: a snapshot row's measures: its counts as above, and each rate, share,
  median or mean whose own group is 1 to 4 people or bookings as "*" (the median wait of two
  patients is their waits).
"""

from __future__ import annotations

from collections.abc import Mapping

SUPPRESSED = "*"
NOT_AVAILABLE = "\u2013"
SMALLEST_SHOWN = 5
ROUND_TO = 5

Suppressed = int | str | None

# Counts in a snapshot's metrics, and for each derived measure, the count it is computed over.
COUNTS = (
    "dm01_waiting",
    "dm01_over_6_weeks",
    "dm01_over_13_weeks",
    "waiting",
    "over_6_weeks",
    "over_13_weeks",
    "released_slots",
    "booked_slots",
    "cancelled_slots",
    "refilled_slots",
    "attended",
    "did_not_attend",
    "bookings",
    "moved_cross_site",
)
DERIVED_FROM = {
    "dm01_median_wait_weeks": ("dm01_waiting",),
    "dm01_share_over_6_weeks": ("dm01_waiting",),
    "dm01_share_over_13_weeks": ("dm01_waiting",),
    "median_wait_weeks": ("waiting",),
    "p92_wait_weeks": ("waiting",),
    "share_over_6_weeks": ("waiting",),
    "share_over_13_weeks": ("waiting",),
    "booked_share": ("released_slots",),
    "refill_rate": ("cancelled_slots",),
    "dna_rate": ("attended", "did_not_attend"),
    "moved_share": ("bookings",),
    "mean_added_travel_km": ("moved_cross_site",),
}


def is_small(count: float | int | None) -> bool:
    return count is not None and 0 < count < SMALLEST_SHOWN


def suppress_count(count: float | int | None) -> Suppressed:
    if count is None:
        return None
    if is_small(count):
        return SUPPRESSED
    return int(ROUND_TO * round(count / ROUND_TO))


def shown_count(count: float | int | None) -> str:
    """A count for a page: suppressed, then written with thousands separators ("*", "1,235"; a dash
    for none, as the tables write a missing figure)."""
    value = suppress_count(count)
    if value is None:
        return NOT_AVAILABLE
    return value if isinstance(value, str) else f"{value:,}"


def suppress_metrics(metrics: Mapping[str, object]) -> dict[str, object]:
    shown: dict[str, object] = dict(metrics)
    for key in COUNTS:
        if key in shown:
            shown[key] = suppress_count(shown[key])  # type: ignore[arg-type]
    for key, over in DERIVED_FROM.items():
        group = sum(int(metrics.get(part) or 0) for part in over)  # type: ignore[call-overload]
        if key in shown and is_small(group):
            shown[key] = SUPPRESSED
    return shown
