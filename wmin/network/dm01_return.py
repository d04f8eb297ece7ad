"""The DM01 return: the national diagnostics waiting-times return, per trust (provider) or per ICB
(commissioner), for one calendar month, in the national layout.

- Period: a calendar month; its census date is the month's last day, or today for the month in
  progress. Activity counts the month up to and including the census date.
- Waiting list at the census: the referrals for a DM01 test (booking/rules/dm01.py) on the list at the
  end of the census date (waits.on_list_at), by completed weeks of the DM01 clock (as it stood then:
  the referral date, or the latest restart on or before the census, from the restart history):
  0 <01, 01 <02, ... 12 <13 and 13+ weeks, the total, and the number waiting 6 weeks or more.
- Activity: waiting-list tests done in the period: attended bookings for DM01 tests whose
  appointment fell in it. Planned (surveillance) and unscheduled tests are not booked through the hub,
  so they are not in it.
- Organisation: the referring trust, whose waiting list the patient is on (also for a test done at
  another trust's site or a CDC); the commissioner is that trust's ICB, as elsewhere on these pages.
- Beside the DM01 figures, labelled as not part of DM01: the number waiting 6 weeks or more since
  referral (`clock_start`, which never moves), for the same tests.
- Every count is suppressed by disclosure.suppress_count when exported or shown.

Whole days are counted between local dates (Europe/London), as the national return counts them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from booking.models import Booking, BookingStatus
from booking.rules.dm01 import Dm01Test, counts_for_dm01
from booking.rules.waits import SIX_WEEKS_DAYS
from slots.models import ICB, Trust

from .disclosure import Suppressed, suppress_count
from .waits import dm01_clocks_at, on_list_at

TRUST, ICB_LEVEL = "trust", "icb"
LEVELS = {TRUST: "Provider (trust)", ICB_LEVEL: "Commissioner (ICB)"}
LAST_BAND = 13  # 13+ weeks
BAND_HEADINGS = [f"{week:02d} <{week + 1:02d} weeks" for week in range(LAST_BAND)] + [f"{LAST_BAND}+ weeks"]
CSV_HEADER = [
    "Period",
    "Census date",
    "Organisation type",
    "Organisation code",
    "Organisation name",
    "Diagnostic test",
    *BAND_HEADINGS,
    "Total waiting list",
    "Number waiting 6+ weeks",
    "Activity: waiting list tests done in the period",
    "Not DM01 - waiting 6+ weeks since referral",
]


class PeriodError(ValueError):
    """A month that is not YYYY-MM, or not yet begun."""


@dataclass(frozen=True)
class Period:
    start: date
    census: date

    @property
    def label(self) -> str:
        return f"{self.start:%B %Y}"

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"


@dataclass
class ReturnRow:
    """One organisation's figures for one test, unsuppressed."""

    code: str
    name: str
    test: Dm01Test
    bands: list[int] = field(default_factory=lambda: [0] * (LAST_BAND + 1))
    six_weeks_or_more: int = 0
    activity: int = 0
    since_referral_six_weeks_or_more: int = 0

    @property
    def waiting(self) -> int:
        return sum(self.bands)


def period_for(month: str | None, today: date) -> Period:
    """The calendar month `month` ("YYYY-MM"; none: this month), censused at its end or today."""
    if not month:
        return Period(today.replace(day=1), today)
    try:
        year, number = (int(part) for part in month.split("-"))
        start = date(year, number, 1)
    except ValueError:
        raise PeriodError("Enter the month as YYYY-MM, for example 2026-11") from None
    if start > today:
        raise PeriodError("That month has not begun")
    end = start.replace(day=calendar.monthrange(year, number)[1])
    return Period(start, min(end, today))


def completed_weeks_band(days: int) -> int:
    """The return's column for a wait of `days` whole days: completed weeks, 13 and over together."""
    return min(max(days, 0) // 7, LAST_BAND)


def dm01_return(level: str, period: Period) -> list[ReturnRow]:
    """Every organisation at `level` (TRUST or ICB_LEVEL) and every DM01 test, zero rows included, in
    code then test order."""
    if level not in LEVELS:
        raise ValueError(f"No such level {level!r}")
    organisations = (
        Trust.objects.order_by("ods_code").values_list("ods_code", "name")
        if level == TRUST
        else ICB.objects.order_by("code").values_list("code", "name")
    )
    rows = {(code, test): ReturnRow(code, name, test) for code, name in organisations for test in Dm01Test}
    organisation = "trust__ods_code" if level == TRUST else "trust__icb__code"
    census_end = _local_midnight(period.census + timedelta(days=1))
    restarted = dm01_clocks_at(census_end)
    waiting = on_list_at(census_end).values_list("pk", organisation, "exam_type__dm01_test", "clock_start")
    for pk, code, test, clock_start in waiting.iterator(chunk_size=5000):
        row = rows.get((code, test)) if counts_for_dm01(test) else None
        if row is None:
            continue
        dm01_days = _days(period.census, restarted.get(pk, clock_start))
        row.bands[completed_weeks_band(dm01_days)] += 1
        row.six_weeks_or_more += dm01_days >= SIX_WEEKS_DAYS
        row.since_referral_six_weeks_or_more += _days(period.census, clock_start) >= SIX_WEEKS_DAYS
    done = Booking.objects.filter(
        status=BookingStatus.ATTENDED,
        slot__starts_at__gte=_local_midnight(period.start),
        slot__starts_at__lt=census_end,
    ).values_list(f"referral__{organisation}", "referral__exam_type__dm01_test")
    for code, test in done.iterator(chunk_size=5000):
        row = rows.get((code, test)) if counts_for_dm01(test) else None
        if row is not None:
            row.activity += 1
    return list(rows.values())


def csv_rows(level: str, period: Period, rows: Iterable[ReturnRow]) -> Iterable[list[object]]:
    """The return's CSV body (CSV_HEADER), every count suppressed."""
    for row in rows:
        yield [
            period.label,
            period.census.isoformat(),
            LEVELS[level],
            row.code,
            row.name,
            row.test.title,
            *(suppress_count(count) for count in row.bands),
            suppress_count(row.waiting),
            suppress_count(row.six_weeks_or_more),
            suppress_count(row.activity),
            suppress_count(row.since_referral_six_weeks_or_more),
        ]


@dataclass(frozen=True)
class OrganisationTotal:
    """One organisation's totals over its DM01 tests, suppressed, for the page."""

    code: str
    name: str
    waiting: Suppressed
    six_weeks_or_more: Suppressed
    share_six_weeks_or_more: float | str | None
    activity: Suppressed
    since_referral_six_weeks_or_more: Suppressed


def organisation_totals(rows: Iterable[ReturnRow]) -> list[OrganisationTotal]:
    totals: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for row in rows:
        names[row.code] = row.name
        total = totals.setdefault(row.code, [0, 0, 0, 0])
        total[0] += row.waiting
        total[1] += row.six_weeks_or_more
        total[2] += row.activity
        total[3] += row.since_referral_six_weeks_or_more
    shown = []
    for code, (waiting, six, activity, since_referral) in totals.items():
        share: float | str | None = round(six / waiting, 4) if waiting else None
        if isinstance(suppress_count(waiting), str):
            share = suppress_count(waiting)  # a share of 1 to 4 people would show who they are
        shown.append(
            OrganisationTotal(
                code,
                names[code],
                suppress_count(waiting),
                suppress_count(six),
                share,
                suppress_count(activity),
                suppress_count(since_referral),
            )
        )
    return shown


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _days(census: date, moment: datetime) -> int:
    return (census - timezone.localdate(moment)).days
