"""Which of this trust's patients could take a freed slot: the optimiser's backfill ranking.

A clerk fills a freed slot anywhere in the network with their OWN trust's patients (they may not
see anyone else's). The ranking is `booking.optimiser.backfill.rank_backfill`; this module only
loads the rows in one query and turns the result into worklist `Candidate`s.

Notice: `booking.rules.notice`, as for automatic backfill: a clerk telephones, so a patient who
opted in to short-notice offers may take a slot a few hours away; hospital transport needs two days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from booking.models import Booking, Referral, ReferralStatus
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.optimiser.backfill import BackfillCandidate, CandidateTable, rank_backfill
from booking.optimiser.services import slot_option
from booking.optimiser.travel import TravelMode
from booking.rules.notice import minimum_notice_hours
from booking.rules.priority import PRIORITY_WEIGHT
from slots.geography import centroids
from slots.models import Slot

from .items import Candidate

if TYPE_CHECKING:
    from accounts.models import User

MAX_POOL = 5000  # oldest waiters first; bounds the work for a very long list


@dataclass(frozen=True)
class _Row:
    referral_id: int
    patient_id: int
    name: str
    nhs_number: str
    exam: str
    modality_id: int
    unavailable: frozenset[date]


def candidates_for_slots(user: User, slots: Iterable[Slot], *, now: datetime, limit: int = 5) -> dict[int, tuple[Candidate, ...]]:
    """The best `limit` of this user's trust's patients for each slot, keyed by slot id (2 queries at most)."""
    slots = list(slots)
    if not slots:
        return {}
    modality_ids = {s.modality_id for s in slots}
    by_modality = _load(user, modality_ids, now)
    result: dict[int, tuple[Candidate, ...]] = {}
    for slot in slots:
        rows, table = by_modality.get(slot.modality_id, ({}, None))
        if table is None:
            result[slot.pk] = ()
            continue
        local_day = timezone.localtime(slot.starts_at).date()
        ranked = rank_backfill(slot_option(slot), table, now, limit=limit * 3)
        chosen = [r for r in ranked if local_day not in rows[r.referral_id].unavailable][:limit]
        result[slot.pk] = tuple(
            Candidate(
                referral_id=r.referral_id,
                patient_id=rows[r.referral_id].patient_id,
                name=rows[r.referral_id].name,
                nhs_number=rows[r.referral_id].nhs_number,
                exam=rows[r.referral_id].exam,
                is_booked=r.is_booked,
                travel_km=r.travel_km,
                reasons=tuple(r.reasons),
            )
            for r in chosen
        )
    return result


def _load(user: User, modality_ids: set[int], now: datetime) -> dict[int, tuple[dict[int, _Row], CandidateTable | None]]:
    current_start = Booking.objects.filter(referral=OuterRef("pk"), status__in=ACTIVE_BOOKING_STATUSES).values(
        "slot__starts_at"
    )[:1]
    values = (
        Referral.objects.visible_to(user)
        .filter(exam_type__modality_id__in=modality_ids)
        .filter(
            Q(status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED])
            | Q(status=ReferralStatus.BOOKED, patient__short_notice_opt_in=True)
        )
        .annotate(current_start=Subquery(current_start))
        .order_by("clock_start", "pk")
        .values_list(
            "pk",
            "patient_id",
            "patient__given_name",
            "patient__family_name",
            "patient__nhs_number",
            "patient__outcode",
            "patient__short_notice_opt_in",
            "exam_type__name",
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
            "status",
            "current_start",
        )[:MAX_POOL]
    )
    places = centroids()
    grouped: dict[int, tuple[dict[int, _Row], list[BackfillCandidate]]] = {}
    for (
        pk,
        patient_id,
        given,
        family,
        nhs,
        outcode,
        opted_in,
        exam,
        modality_id,
        lead_days,
        priority,
        clock_start,
        mode,
        max_km,
        step_free,
        hearing_loop,
        bariatric,
        unavailable,
        status,
        current,
    ) in values:
        place = places.get(outcode)
        if place is None:
            continue  # nowhere to measure travel from; they still appear on the waiting list
        if status == ReferralStatus.BOOKED and current is None:
            continue
        rows, candidates = grouped.setdefault(modality_id, ({}, []))
        rows[pk] = _Row(
            referral_id=pk,
            patient_id=patient_id,
            name=f"{given} {family}",
            nhs_number=_spaced(nhs),
            exam=exam,
            modality_id=modality_id,
            unavailable=frozenset(_dates(unavailable)),
        )
        candidates.append(
            BackfillCandidate(
                referral_id=pk,
                opted_in_short_notice=opted_in,
                lat=place[0],
                lon=place[1],
                mode=TravelMode(mode),
                max_travel_km=max_km,
                days_waited=(now - clock_start).days,
                priority_weight=PRIORITY_WEIGHT[priority],
                current_booking_starts_at=current if status == ReferralStatus.BOOKED else None,
                needs_step_free=step_free,
                needs_hearing_loop=hearing_loop,
                needs_bariatric=bariatric,
                min_notice_hours=minimum_notice_hours(
                    travel_mode=mode, preparation_lead_days=lead_days, short_notice_opt_in=opted_in
                ),
            )
        )
    return {
        modality_id: (rows, CandidateTable.from_candidates(candidates))
        for modality_id, (rows, candidates) in grouped.items()
    }


def _dates(values: object) -> Iterable[date]:
    for value in values or []:
        try:
            yield date.fromisoformat(str(value))
        except ValueError:
            continue


def _spaced(nhs_number: str) -> str:
    n = nhs_number
    return f"{n[:3]} {n[3:6]} {n[6:]}" if len(n) == 10 else n
