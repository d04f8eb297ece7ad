"""Display helpers for the network pages: tables of measures, navigation, trend choices."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from .disclosure import suppress_metrics
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
    "share_over_6_weeks": ("Share waiting 6 weeks or more since referral", "percent"),
    "dm01_share_over_6_weeks": ("DM01: share waiting 6 weeks or more (DM01 clock, DM01 tests)", "percent"),
    "share_over_13_weeks": ("Share waiting 13 weeks or more since referral", "percent"),
    "median_wait_weeks": ("Median wait since referral (weeks)", "weeks"),
    "p92_wait_weeks": ("92nd percentile wait since referral (weeks)", "weeks"),
    "waiting": ("Patients waiting (all tests)", "int"),
    "dm01_waiting": ("DM01: patients waiting (DM01 tests)", "int"),
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
            [row.label, *(formatted(shown.get(key), kind) for key, _, kind in METRIC_COLUMNS)]
            for row in rows
            for shown in [suppress_metrics(row.metrics)]
        ],
        csv_url=reverse("network:waits", args=[dimension]) + "?format=csv",
    )


def csv_rows(rows: list[GroupRow]) -> tuple[list[str], list[list[object]]]:
    """Values for export, unformatted (shares as fractions, waits in weeks) but suppressed."""
    header = [
        "dimension",
        "key",
        "label",
        *(key for key, _, _ in METRIC_COLUMNS),
        "dm01_over_6_weeks",
        "dm01_over_13_weeks",
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
            *(shown.get(k) for k, _, _ in METRIC_COLUMNS),
            *(shown.get(k) for k in extra),
        ]
        for r in rows
        for shown in [suppress_metrics(r.metrics)]
    ]
    return header, body


def navigation(active: str) -> list[dict[str, object]]:
    pages = [
        ("overview", "Overview", "network:overview"),
        ("trends", "Trends", "network:trends"),
        ("dm01", "DM01 return", "network:dm01"),
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
