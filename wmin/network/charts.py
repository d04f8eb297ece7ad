"""Geometry for the server-rendered SVG charts: SPC charts, line charts and the site map.

Each function returns a plain dataclass of coordinates and labels; the templates in
templates/network/ draw it as inline SVG with <title>, <desc> and a data table beside it.
No JavaScript and no style attributes (the CSP forbids them): colours are SVG presentation attributes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from .spc import Better, SpcResult, Variation, analyse

NHS_BLUE = "#005eb8"
NHS_ORANGE = "#ed8b00"
NHS_GREY = "#768692"
NHS_DARK_GREY = "#425563"
NHS_GREEN = "#007f3b"
NHS_RED = "#d5281b"
NHS_WARM_YELLOW = "#ffb81c"
NHS_PURPLE = "#330072"
NO_DATA = "#d8dde0"
NOT_AVAILABLE = "\u2013"  # an en dash, the NHS way of writing "no figure"

VARIATION_COLOURS = {
    Variation.COMMON: NHS_GREY,
    Variation.IMPROVEMENT: NHS_BLUE,
    Variation.CONCERN: NHS_ORANGE,
    Variation.NEITHER: NHS_PURPLE,
}
VARIATION_SWATCHES = {
    Variation.COMMON: "network-swatch--grey",
    Variation.IMPROVEMENT: "network-swatch--blue",
    Variation.CONCERN: "network-swatch--orange",
    Variation.NEITHER: "network-swatch--grey",
}
VARIATION_TEXT = {
    Variation.COMMON: "common cause variation",
    Variation.IMPROVEMENT: "special cause variation: improvement",
    Variation.CONCERN: "special cause variation: concern",
    Variation.NEITHER: "special cause variation",
}


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Frame:
    width: int = 720
    height: int = 300
    left: int = 64
    right: int = 24
    top: int = 20
    bottom: int = 48

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    @property
    def plot_bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def plot_right(self) -> int:
        return self.left + self.plot_width


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + 1.0
    raw_step = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


class _Scale:
    def __init__(self, domain: tuple[float, float], range_: tuple[float, float]) -> None:
        self.d0, self.d1 = domain
        self.r0, self.r1 = range_

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return round(self.r0 + (value - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0), 1)


# ---------------------------------------------------------------------------------------------
# SPC chart


@dataclass(frozen=True)
class SpcPlotPoint:
    x: float
    y: float
    day: str
    value_text: str
    fill: str
    variation_text: str
    rules_text: str
    special_cause: bool


@dataclass(frozen=True)
class SpcChartView:
    title: str
    description: str
    frame: Frame
    points: list[SpcPlotPoint]
    line: str
    mean_y: float
    upper_y: float | None
    lower_y: float | None
    mean_text: str
    upper_text: str
    lower_text: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    summary: str
    result: SpcResult
    enough_points: bool
    note: str = ""  # said under the chart, e.g. which points were reconstructed

    @property
    def legend(self) -> list[tuple[str, str]]:
        """(swatch CSS class, text) for each kind of variation the chart can show."""
        return [
            (VARIATION_SWATCHES[v], VARIATION_TEXT[v].capitalize())
            for v in (Variation.COMMON, Variation.IMPROVEMENT, Variation.CONCERN)
        ]


MINIMUM_POINTS_FOR_LIMITS = 15  # Making Data Count: limits settle with 15 to 20 points


def spc_chart(
    days: Sequence[date],
    values: Sequence[float],
    *,
    title: str,
    measure: str,
    better: Better = Better.LOWER,
    format_value: Callable[[float], str] = lambda v: f"{v:.1f}",
    frame: Frame | None = None,
    note: str = "",
) -> SpcChartView:
    frame = frame or Frame()
    result = analyse(values, better)
    has_limits = len(values) >= 2
    low_candidates = [*values, result.lower_limit if has_limits else result.mean]
    high_candidates = [*values, result.upper_limit if has_limits else result.mean]
    ticks = nice_ticks(min(low_candidates, default=0.0), max(high_candidates, default=1.0))
    y = _Scale((ticks[0], ticks[-1]), (frame.plot_bottom, frame.top))
    x = _Scale((0, max(len(values) - 1, 1)), (frame.left + 8, frame.plot_right - 8))
    points = [
        SpcPlotPoint(
            x=x(p.index),
            y=y(p.value),
            day=_day(days[p.index]),
            value_text=format_value(p.value),
            fill=VARIATION_COLOURS[p.variation],
            variation_text=VARIATION_TEXT[p.variation],
            rules_text=", ".join(p.rules),
            special_cause=p.special_cause,
        )
        for p in result.points
    ]
    x_ticks = [Tick(x(i), _day(days[i], short=True)) for i in _spread_indices(len(values), 6)]
    summary = _spc_summary(result, measure, format_value, days)
    return SpcChartView(
        title=title,
        description=summary,
        frame=frame,
        points=points,
        line=" ".join(f"{p.x},{p.y}" for p in points),
        mean_y=y(result.mean),
        upper_y=y(result.upper_limit) if has_limits else None,
        lower_y=y(result.lower_limit) if has_limits else None,
        mean_text=format_value(result.mean),
        upper_text=format_value(result.upper_limit),
        lower_text=format_value(result.lower_limit),
        y_ticks=[Tick(y(t), format_value(t)) for t in ticks],
        x_ticks=x_ticks,
        summary=summary,
        result=result,
        enough_points=len(values) >= MINIMUM_POINTS_FOR_LIMITS,
        note=note,
    )


def _spc_summary(
    result: SpcResult, measure: str, format_value: Callable[[float], str], days: Sequence[date]
) -> str:
    if not result.points:
        return f"No snapshots of {measure} yet."
    latest = result.points[-1]
    text = (
        f"{measure}: {len(result.points)} points from {_day(days[0])} to {_day(days[-1])}. "
        f"Mean {format_value(result.mean)}, process limits {format_value(result.lower_limit)} to "
        f"{format_value(result.upper_limit)}. Latest {format_value(latest.value)}, {VARIATION_TEXT[latest.variation]}"
    )
    if latest.rules:
        text += f" ({', '.join(latest.rules)})"
    return (
        text + f". {result.special_cause_count} of {len(result.points)} points show special cause variation."
    )


def _day(value: date, short: bool = False) -> str:
    return value.strftime("%-d %b" if short else "%-d %B %Y")


def _spread_indices(n: int, most: int) -> list[int]:
    if n <= most:
        return list(range(n))
    step = (n - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


# ---------------------------------------------------------------------------------------------
# Line chart (simulation results)


@dataclass(frozen=True)
class LineSeries:
    name: str
    colour: str
    dash: str
    marker: str  # "circle", "square" or "triangle": shape as well as colour tells series apart
    points: list[tuple[float, float, str]]  # x, y, value text

    @property
    def path(self) -> str:
        return " ".join(f"{x},{y}" for x, y, _ in self.points)


@dataclass(frozen=True)
class LineChartView:
    title: str
    description: str
    frame: Frame
    series: list[LineSeries]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    x_label: str
    y_label: str
    target_y: float | None = None
    target_text: str = ""
    table_header: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)


SERIES_STYLES = [
    (NHS_DARK_GREY, "6 4", "square"),
    (NHS_BLUE, "", "circle"),
    (NHS_GREEN, "2 3", "triangle"),
    (NHS_ORANGE, "8 3 2 3", "circle"),
]


def line_chart(
    x_values: Sequence[float],
    named_series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    description: str,
    x_label: str,
    y_label: str,
    format_value: Callable[[float], str] = lambda v: f"{v:.1f}",
    target: float | None = None,
    target_text: str = "",
    frame: Frame | None = None,
) -> LineChartView:
    frame = frame or Frame(height=280)
    finite = [v for _, values in named_series for v in values if v is not None]
    ticks = nice_ticks(min([*finite, 0.0]), max([*finite, target or 0.0, 1e-9]))
    y = _Scale((ticks[0], ticks[-1]), (frame.plot_bottom, frame.top))
    x = _Scale((min(x_values, default=0), max(x_values, default=1)), (frame.left + 8, frame.plot_right - 8))
    series = []
    for i, (name, values) in enumerate(named_series):
        colour, dash, marker = SERIES_STYLES[i % len(SERIES_STYLES)]
        points = [
            (x(xv), y(v), format_value(v)) for xv, v in zip(x_values, values, strict=True) if v is not None
        ]
        series.append(LineSeries(name, colour, dash, marker, points))
    table_rows = [
        [
            f"{xv:g}",
            *(
                format_value(values[i]) if values[i] is not None else NOT_AVAILABLE
                for _, values in named_series
            ),
        ]
        for i, xv in enumerate(x_values)
    ]
    return LineChartView(
        title=title,
        description=description,
        frame=frame,
        series=series,
        y_ticks=[Tick(y(t), format_value(t)) for t in ticks],
        x_ticks=[Tick(x(x_values[i]), f"{x_values[i]:g}") for i in _spread_indices(len(x_values), 13)],
        x_label=x_label,
        y_label=y_label,
        target_y=y(target) if target is not None else None,
        target_text=target_text,
        table_header=[x_label, *(name for name, _ in named_series)],
        table_rows=table_rows,
    )


# ---------------------------------------------------------------------------------------------
# Site map


@dataclass(frozen=True)
class MapSite:
    code: str
    name: str
    trust: str
    kind: str
    latitude: float
    longitude: float
    median_wait_weeks: float | None
    waiting: int
    approximate: bool


@dataclass(frozen=True)
class MapCircle:
    cx: float
    cy: float
    r: float
    fill: str
    stroke: str
    title: str
    label: str
    mark: str = ""  # a short label beside the circle (capacity advice: its extra lists), ringed


@dataclass(frozen=True)
class LegendEntry:
    fill: str
    swatch: str
    text: str


@dataclass(frozen=True)
class SiteMapView:
    title: str
    description: str
    width: int
    height: int
    circles: list[MapCircle]
    legend: list[LegendEntry]
    scale_bar_x: float
    scale_bar_y: float
    scale_bar_length: float
    scale_bar_text: str
    place_labels: list[tuple[float, float, str]]


WAIT_BANDS: list[tuple[float, str, str, str]] = [
    (2.0, NHS_GREEN, "network-swatch--green", "Median wait under 2 weeks"),
    (4.0, NHS_BLUE, "network-swatch--blue", "2 to under 4 weeks"),
    (6.0, NHS_WARM_YELLOW, "network-swatch--yellow", "4 to under 6 weeks"),
    (math.inf, NHS_RED, "network-swatch--red", "6 weeks or more"),
]
KM_PER_DEGREE_LATITUDE = 111.2
# A few towns to orient the eye; positions are the postcode-district centroids' rough centres.
PLACES = [
    (52.48, -1.90, "Birmingham"),
    (52.41, -1.51, "Coventry"),
    (52.59, -2.13, "Wolverhampton"),
    (53.00, -2.18, "Stoke-on-Trent"),
    (52.71, -2.75, "Shrewsbury"),
    (52.06, -2.72, "Hereford"),
    (52.19, -2.22, "Worcester"),
]


def wait_colour(median_weeks: float | None) -> str:
    if median_weeks is None:
        return NO_DATA
    return next(colour for upper, colour, _, _ in WAIT_BANDS if median_weeks < upper)


def wait_swatch(median_weeks: float | None) -> str:
    """The CSS class of the legend swatch matching `wait_colour`, for HTML tables."""
    if median_weeks is None:
        return "network-swatch--none"
    return next(swatch for upper, _, swatch, _ in WAIT_BANDS if median_weeks < upper)


def site_map(
    sites: Sequence[MapSite],
    *,
    marks: Mapping[str, tuple[str, str]] | None = None,
    marks_legend: str = "",
    width: int = 640,
    height: int = 620,
    margin: int = 36,
) -> SiteMapView:
    """Equirectangular projection of the sites' own coordinates (x proportional to longitude x cos(mid-latitude)).

    `marks` rings some sites and labels them: site code -> (short label, what it means), e.g. the
    extra lists capacity advice puts there; `marks_legend` says what a ring means."""
    marks = marks or {}
    if not sites:
        return SiteMapView("Map of imaging sites", "No sites.", width, height, [], [], 0, 0, 0, "", [])
    lats = [s.latitude for s in sites]
    lons = [s.longitude for s in sites]
    mid_lat = math.radians((min(lats) + max(lats)) / 2)
    xs = [lon * math.cos(mid_lat) for lon in lons]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(lats) - min(lats)) or 1.0
    scale = min(
        (width - 2 * margin) / span_x, (height - 2 * margin - 40) / span_y
    )  # pixels per degree latitude
    x0 = margin + ((width - 2 * margin) - span_x * scale) / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return round(x0 + (lon * math.cos(mid_lat) - min(xs)) * scale, 1), round(
            margin + (max(lats) - lat) * scale, 1
        )

    circles, seen = [], {}
    for site in sorted(sites, key=lambda s: (-(s.waiting or 0), s.name)):
        cx, cy = project(site.latitude, site.longitude)
        # Sites on one campus share coordinates: step each later one aside so all stay visible.
        offset = seen.get((cx, cy), 0)
        seen[(cx, cy)] = offset + 1
        cx += offset * 9
        wait = (
            "no patients booked"
            if site.median_wait_weeks is None
            else f"median wait {site.median_wait_weeks:.1f} weeks"
        )
        where = " (position approximate)" if site.approximate else ""
        mark, meaning = marks.get(site.code, ("", ""))
        circles.append(
            MapCircle(
                cx=cx,
                cy=cy,
                r=5.0 if site.kind == "cdc" else 7.0,
                fill=wait_colour(site.median_wait_weeks),
                stroke="#212b32",
                title=f"{site.name}, {site.trust}: {wait}{where}" + (f"; {meaning}" if meaning else ""),
                label=site.name,
                mark=mark,
            )
        )
    circles.sort(key=lambda c: bool(c.mark))  # ringed sites drawn last, on top
    legend = [LegendEntry(colour, swatch, text) for _, colour, swatch, text in WAIT_BANDS]
    legend.append(LegendEntry(NO_DATA, "network-swatch--none", "No patients booked"))
    if marks and marks_legend:
        legend.append(LegendEntry(NHS_PURPLE, "network-swatch--ring", marks_legend))
    km_per_pixel = KM_PER_DEGREE_LATITUDE / scale
    bar_km = 20
    places = [(*project(lat, lon), name) for lat, lon, name in PLACES if min(lats) <= lat <= max(lats)]
    banded = sum(1 for s in sites if s.median_wait_weeks is not None)
    return SiteMapView(
        title="Map of the network's imaging sites coloured by median wait",
        description=(
            f"{len(sites)} sites drawn from their own latitude and longitude (equirectangular projection). "
            f"{banded} have patients booked and are coloured by their median wait; larger circles are hospitals, "
            "smaller ones community diagnostic centres. The table below gives the same figures."
        ),
        width=width,
        height=height,
        circles=circles,
        legend=legend,
        scale_bar_x=margin,
        scale_bar_y=height - 20,
        scale_bar_length=round(bar_km / km_per_pixel, 1),
        scale_bar_text=f"{bar_km} km",
        place_labels=places,
    )
