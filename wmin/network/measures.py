"""The dashboard's measures, computed from plain values (no Django): one `GroupMeasures` per group.

Definitions (what the pages say too). Every wait is shown by two clocks, always labelled:
- Wait since referral: every referral not yet scanned or removed, booked or not, whatever its test;
  the whole days since the referral (`clock_start`, which never moves).
- DM01: only the tests DM01 counts (booking/rules/dm01.py: MRI, CT, non-obstetric ultrasound, DEXA,
  barium enema), by the DM01 clock (`dm01_clock_start`, restarted when the patient cancels or does
  not attend, where the trust restarts clocks). Keys start `dm01_`.
- "Over 6 weeks" means 6 weeks or more (42 days), as DM01 counts, on either clock.
- Median and 92nd percentile wait: linear interpolation between the closest ranks (numpy's default,
  the same as a spreadsheet's PERCENTILE.INC), in weeks.
- Booked vs released: pooled slots in the window, not blocked or withdrawn, and how many are booked.
- Refill rate: of slots whose booking was cancelled, the share booked again by someone else.
- DNA rate: did not attend / (attended + did not attend).
- Moved cross-site: bookings at a site of a trust other than the referring trust; their added
  travel is the road-distance estimate from the patient's postcode-district centroid to the booked
  site minus that to the nearest site offering the modality.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from booking.rules.waits import SIX_WEEKS_DAYS, THIRTEEN_WEEKS_DAYS

NOT_AVAILABLE = "\u2013"  # an en dash, the NHS way of writing "no figure"
P92 = 92


def median_weeks(wait_days: Iterable[float]) -> float | None:
    days = np.asarray(list(wait_days), dtype=np.float64)
    return round(float(np.median(days)) / 7, 2) if days.size else None


def percentile_weeks(wait_days: Iterable[float], percentile: float = P92) -> float | None:
    days = np.asarray(list(wait_days), dtype=np.float64)
    return round(float(np.percentile(days, percentile)) / 7, 2) if days.size else None


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class GroupMeasures:
    """Accumulates one group's raw values; `as_metrics` turns them into the JSON a snapshot stores."""

    wait_days: list[int] = field(default_factory=list)  # since referral, every test
    dm01_wait_days: list[int] = field(default_factory=list)  # by the DM01 clock, DM01 tests only
    released_slots: int = 0
    booked_slots: int = 0
    cancelled_slots: int = 0
    refilled_slots: int = 0
    attended: int = 0
    did_not_attend: int = 0
    bookings: int = 0
    moved_cross_site: int = 0
    added_travel_km: list[float] = field(default_factory=list)

    def as_metrics(self) -> dict[str, float | int | None]:
        waits = self.wait_days
        over_six = sum(1 for d in waits if d >= SIX_WEEKS_DAYS)
        over_thirteen = sum(1 for d in waits if d >= THIRTEEN_WEEKS_DAYS)
        travel = self.added_travel_km
        dm01 = self.dm01_wait_days
        dm01_over_six = sum(1 for d in dm01 if d >= SIX_WEEKS_DAYS)
        dm01_over_thirteen = sum(1 for d in dm01 if d >= THIRTEEN_WEEKS_DAYS)
        return {
            "dm01_waiting": len(dm01),
            "dm01_median_wait_weeks": median_weeks(dm01),
            "dm01_over_6_weeks": dm01_over_six,
            "dm01_share_over_6_weeks": share(dm01_over_six, len(dm01)),
            "dm01_over_13_weeks": dm01_over_thirteen,
            "dm01_share_over_13_weeks": share(dm01_over_thirteen, len(dm01)),
            "waiting": len(waits),
            "median_wait_weeks": median_weeks(waits),
            "p92_wait_weeks": percentile_weeks(waits),
            "over_6_weeks": over_six,
            "share_over_6_weeks": share(over_six, len(waits)),
            "over_13_weeks": over_thirteen,
            "share_over_13_weeks": share(over_thirteen, len(waits)),
            "released_slots": self.released_slots,
            "booked_slots": self.booked_slots,
            "booked_share": share(self.booked_slots, self.released_slots),
            "cancelled_slots": self.cancelled_slots,
            "refilled_slots": self.refilled_slots,
            "refill_rate": share(self.refilled_slots, self.cancelled_slots),
            "attended": self.attended,
            "did_not_attend": self.did_not_attend,
            "dna_rate": share(self.did_not_attend, self.attended + self.did_not_attend),
            "bookings": self.bookings,
            "moved_cross_site": self.moved_cross_site,
            "moved_share": share(self.moved_cross_site, self.bookings),
            "mean_added_travel_km": round(sum(travel) / len(travel), 1) if travel else None,
        }


# Column order and headings for tables and CSV exports: (metric key, heading, format).
METRIC_COLUMNS: list[tuple[str, str, str]] = [
    ("dm01_waiting", "DM01: waiting (DM01 tests, DM01 clock)", "int"),
    ("dm01_median_wait_weeks", "DM01: median wait (weeks)", "weeks"),
    ("dm01_share_over_6_weeks", "DM01: waiting 6 weeks or more", "percent"),
    ("dm01_share_over_13_weeks", "DM01: waiting 13 weeks or more", "percent"),
    ("waiting", "Since referral: waiting (all tests)", "int"),
    ("median_wait_weeks", "Since referral: median wait (weeks)", "weeks"),
    ("p92_wait_weeks", "Since referral: 92nd percentile wait (weeks)", "weeks"),
    ("share_over_6_weeks", "Since referral: waiting 6 weeks or more", "percent"),
    ("share_over_13_weeks", "Since referral: waiting 13 weeks or more", "percent"),
    ("released_slots", "Slots released", "int"),
    ("booked_slots", "Slots booked", "int"),
    ("booked_share", "Share of released slots booked", "percent"),
    ("refill_rate", "Cancelled slots refilled", "percent"),
    ("dna_rate", "Did not attend", "percent"),
    ("moved_cross_site", "Moved to another trust's site", "int"),
    ("mean_added_travel_km", "Added travel when moved (km)", "km"),
]


def formatted(value: float | int | str | None, kind: str) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, str):  # already suppressed ("*", disclosure.py)
        return value
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind in ("weeks", "km"):
        return f"{value:.1f}"
    return f"{int(value):,}"
