"""Display helpers for the network pages: tables of measures, navigation, trend choices."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from .measures import METRIC_COLUMNS, formatted
from .models import Dimension
from .waits import GroupRow

DIMENSION_TITLES = {
    Dimension.NETWORK: ("Network", "The network"),
    Dimension.ICB: ("ICB", "Waits by integrated care board"),
    Dimension.TRUST: ("Trust", "Waits by trust"),
    Dimension.SITE: ("Site", "Waits by site"),
    Dimension.MODALITY: ("Modality", "Waits by modality"),
}
# Which measures each trend can show, with whether lower is better (for SPC colours).
TREND_METRICS: dict[str, tuple[str, str]] = {
    "share_over_6_weeks": ("Share waiting 6 weeks or more", "percent"),
    "share_over_13_weeks": ("Share waiting 13 weeks or more", "percent"),
    "median_wait_weeks": ("Median wait (weeks)", "weeks"),
    "p92_wait_weeks": ("92nd percentile wait (weeks)", "weeks"),
    "waiting": ("Patients waiting", "int"),
    "dna_rate": ("Did not attend rate", "percent"),
    "refill_rate": ("Cancelled slots refilled", "percent"),
    "booked_share": ("Share of released slots booked", "percent"),
}
HIGHER_IS_BETTER = {"refill_rate", "booked_share"}


@dataclass(frozen=True)
class MeasuresTable:
    caption: str
    first_column: str
    header: list[str]
    rows: list[list[str]]
    csv_url: str

    @property
    def numeric_header(self) -> list[str]:
        return self.header[1:]


def measures_table(dimension: str, rows: list[GroupRow]) -> MeasuresTable:
    column, caption = DIMENSION_TITLES[Dimension(dimension)]
    return MeasuresTable(
        caption=caption,
        first_column=column,
        header=[column, *(heading for _, heading, _ in METRIC_COLUMNS)],
        rows=[
            [row.label, *(formatted(row.metrics.get(key), kind) for key, _, kind in METRIC_COLUMNS)]
            for row in rows
        ],
        csv_url=reverse("network:waits", args=[dimension]) + "?format=csv",
    )


def csv_rows(rows: list[GroupRow]) -> tuple[list[str], list[list[object]]]:
    """Raw values (not formatted) for export: shares as fractions, waits in weeks."""
    header = [
        "dimension",
        "key",
        "label",
        *(key for key, _, _ in METRIC_COLUMNS),
        "over_6_weeks",
        "over_13_weeks",
        "cancelled_slots",
        "refilled_slots",
        "attended",
        "did_not_attend",
        "bookings",
    ]
    extra = header[3 + len(METRIC_COLUMNS) :]
    body = [
        [
            r.dimension,
            r.key,
            r.label,
            *(r.metrics.get(k) for k, _, _ in METRIC_COLUMNS),
            *(r.metrics.get(k) for k in extra),
        ]
        for r in rows
    ]
    return header, body


def navigation(active: str) -> list[dict[str, object]]:
    pages = [
        ("overview", "Overview", "network:overview"),
        ("trends", "Trends", "network:trends"),
        ("map", "Map", "network:map"),
        ("capacity", "Capacity advice", "network:capacity"),
        ("runs", "Optimiser runs", "network:optimiser-runs"),
        ("simulations", "What-if simulator", "network:simulations"),
    ]
    items = []
    for key, text, name in pages:
        try:
            items.append({"href": reverse(name), "text": text, "current": key == active})
        except NoReverseMatch:  # a page not built yet
            continue
    return items


def format_metric(value: float | None, kind: str) -> str:
    return formatted(value, kind)
