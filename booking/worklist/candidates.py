"""Which of this trust's patients could take a freed slot: the optimiser's backfill ranking.

A clerk fills a freed slot anywhere in the network with their OWN trust's patients (they may not
see anyone else's). The ranking is `booking.optimiser.backfill.rank_backfill` and the loading
`booking.optimiser.candidates.load_candidates`, as for automatic backfill; this module only picks
the clerk's patients and turns the result into worklist `Candidate`s.

Notice: `booking.rules.notice`, as for automatic backfill: a clerk telephones, so a patient who
opted in to short-notice offers may take a slot a few hours away; hospital transport needs two days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Case, DateTimeField, F, Q, When

from booking.models import Referral, ReferralStatus
from booking.optimiser.backfill import BackfillCandidate, CandidateTable, rank_backfill
from booking.optimiser.candidates import active_booking_start, load_candidates
from booking.optimiser.services import slot_option
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


def candidates_for_slots(user: User, slots: Iterable[Slot], *, now: datetime, limit: int = 5) -> dict[int, tuple[Candidate, ...]]:
    """The best `limit` of this user's trust's patients for each slot, keyed by slot id (2 queries at most).

    Whom a slot suits is `booking.rules.eligibility` (inside `rank_backfill`): saved needs, dates the
    patient cannot do, travel limit, the ages the site scans, notice."""
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
        chosen = rank_backfill(slot_option(slot), table, now, limit=limit)
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
    referrals = (
        Referral.objects.visible_to(user)
        .filter(exam_type__modality_id__in=modality_ids)
        .annotate(current_start=active_booking_start())
        .filter(
            Q(status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED])
            | Q(status=ReferralStatus.BOOKED, patient__short_notice_opt_in=True, current_start__isnull=False)
        )
        .annotate(
            moving_from=Case(
                When(status=ReferralStatus.BOOKED, then=F("current_start")), default=None, output_field=DateTimeField()
            )
        )
        .order_by("clock_start", "pk")[:MAX_POOL]
    )
    loaded = load_candidates(
        referrals,
        now=now,
        current_start="moving_from",
        extra=("patient_id", "patient__given_name", "patient__family_name", "patient__nhs_number", "exam_type__name"),
    )
    grouped: dict[int, tuple[dict[int, _Row], list[BackfillCandidate]]] = {}
    for row in loaded.rows:
        candidate = row.candidate
        patient_id, given, family, nhs, exam = row.extra
        rows, candidates = grouped.setdefault(candidate.modality_id, ({}, []))
        rows[candidate.referral_id] = _Row(candidate.referral_id, patient_id, f"{given} {family}", _spaced(nhs), exam)
        candidates.append(candidate)
    return {
        modality_id: (rows, CandidateTable.from_candidates(candidates))
        for modality_id, (rows, candidates) in grouped.items()
    }


def _spaced(nhs_number: str) -> str:
    n = nhs_number
    return f"{n[:3]} {n[3:6]} {n[6:]}" if len(n) == 10 else n
