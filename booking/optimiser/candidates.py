"""Referrals as the optimiser's candidates: the one loader for backfill, the network allocation and
a clerk filling a freed slot (issue 15, item 6; it was written three times, so they could drift).

Each referral becomes a `BackfillCandidate` carrying everything the eligibility rule
(`booking.rules.eligibility`) reads: where the patient travels from (their postcode district's
centre), travel mode and limit, access needs, dates they cannot do, date of birth, the exam's
modality and preparation, and their minimum notice (`booking.rules.notice`, with their short-notice
opt-in: the allocation, which plans days ahead, works its notice out again without it). One query;
referrals whose postcode district we cannot place are counted, not returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from booking.models import Booking, Referral
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.rules.eligibility import parse_dates
from booking.rules.notice import minimum_notice_hours
from booking.rules.priority import PRIORITY_WEIGHT
from slots.geography import centroids

from .backfill import BackfillCandidate
from .travel import TravelMode

CANDIDATE_COLUMNS = (
    "pk",
    "patient__outcode",
    "patient__date_of_birth",
    "patient__short_notice_opt_in",
    "exam_type__modality_id",
    "exam_type__preparation_lead_days",
    "priority",
    "clock_start",
    "travel_mode",
    "max_travel_km",
    "needs_step_free",
    "needs_hearing_loop",
    "needs_bariatric",
    "unavailable_dates",
)


@dataclass(frozen=True)
class LoadedCandidate:
    candidate: BackfillCandidate
    extra: tuple  # the caller's extra columns, in the order asked for


@dataclass(frozen=True)
class LoadedCandidates:
    rows: list[LoadedCandidate]
    read: int  # rows the query returned, placed or not
    unlocated: int  # referrals whose postcode district we cannot place

    @property
    def candidates(self) -> list[BackfillCandidate]:
        return [row.candidate for row in self.rows]


def active_booking_start() -> Subquery:
    """The start of the referral's active booking (None when it has none), to annotate a referral
    queryset with for `load_candidates(current_start=...)`."""
    return Subquery(
        Booking.objects.filter(referral=OuterRef("pk"), status__in=ACTIVE_BOOKING_STATUSES).values(
            "slot__starts_at"
        )[:1]
    )


def load_candidates(
    referrals: QuerySet[Referral],
    *,
    now: datetime,
    current_start: str | None = None,
    extra: Sequence[str] = (),
) -> LoadedCandidates:
    """`referrals` (filtered, ordered and sliced by the caller) as candidates, in the queryset's order.

    `current_start` names a column or annotation holding the start of the patient's booking that a
    move would replace (None in it, or no such column: not booked). `extra` columns come back on
    each row for the caller's own use (names, NHS numbers).
    """
    columns = (*CANDIDATE_COLUMNS, *((current_start,) if current_start else ()), *extra)
    places = centroids()
    rows, read, unlocated = [], 0, 0
    for values in referrals.values_list(*columns):
        read += 1
        (pk, outcode, born, opted_in, modality_id, lead_days, priority, clock_start, mode, max_km, step, loop, bar,
         unavailable) = values[: len(CANDIDATE_COLUMNS)]
        place = places.get(outcode)
        if place is None:
            unlocated += 1
            continue
        rest = values[len(CANDIDATE_COLUMNS) :]
        starts_at = rest[0] if current_start else None
        candidate = BackfillCandidate(
            referral_id=pk,
            opted_in_short_notice=opted_in,
            lat=place[0],
            lon=place[1],
            mode=TravelMode(mode),
            max_travel_km=max_km,
            days_waited=(now - clock_start).days,
            priority_weight=PRIORITY_WEIGHT[priority],
            current_booking_starts_at=starts_at,
            needs_step_free=step,
            needs_hearing_loop=loop,
            needs_bariatric=bar,
            min_notice_hours=minimum_notice_hours(
                travel_mode=mode, preparation_lead_days=lead_days, short_notice_opt_in=opted_in
            ),
            birth_date=born,
            unavailable_dates=parse_dates(unavailable),
            modality_id=modality_id,
            preparation_lead_days=lead_days,
        )
        rows.append(LoadedCandidate(candidate, tuple(rest[1:] if current_start else rest)))
    return LoadedCandidates(rows, read, unlocated)
