"""Availability: the network's open pool slots a caller may book, by exam or modality, date and place.

Shared by the REST availability search and the FHIR Slot search, so both answer the same question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, Q

from accounts.models import User
from slots.models import ExamType, Modality, Site, Slot, SlotQuerySet

from .nearby import Near, sites_within


@dataclass(frozen=True)
class SlotCriteria:
    modalities: tuple[Modality, ...] = ()
    exam: ExamType | None = None
    starts_after: datetime | None = None  # inclusive
    starts_before: datetime | None = None  # exclusive
    site_codes: tuple[str, ...] = ()
    near: Near | None = None
    free_only: bool = True


@dataclass
class SlotResults:
    slots: SlotQuerySet
    distances_km: dict[int, float] = field(default_factory=dict)

    def distance_to(self, site_id: int) -> float | None:
        return self.distances_km.get(site_id)


def pool_slots(user: User, criteria: SlotCriteria, *, now: datetime) -> SlotResults:
    slots = Slot.objects.pool_visible_to(user).select_related("site__trust", "modality", "scanner")
    if criteria.free_only:
        slots = bookable(slots, now)
    if criteria.exam is not None:
        exam = criteria.exam
        slots = slots.filter(
            modality_id=exam.modality_id,
            ends_at__gte=F("starts_at") + timedelta(minutes=exam.duration_minutes),
        )
        if exam.preparation_lead_days:
            slots = slots.filter(starts_at__gte=now + timedelta(days=exam.preparation_lead_days))
    if criteria.modalities:
        slots = slots.filter(modality__in=criteria.modalities)
    if criteria.starts_after is not None:
        slots = slots.filter(starts_at__gte=criteria.starts_after)
    if criteria.starts_before is not None:
        slots = slots.filter(starts_at__lt=criteria.starts_before)
    if criteria.site_codes:
        slots = slots.filter(site__code__in=criteria.site_codes)
    distances: dict[int, float] = {}
    if criteria.near is not None:
        distances = sites_within(Site.objects.public(), criteria.near)
        slots = slots.filter(site_id__in=list(distances))
    return SlotResults(slots.order_by("starts_at", "pk"), distances)


def bookable(slots: SlotQuerySet, now: datetime) -> SlotQuerySet:
    """Open, in the future and not held for someone else right now."""
    return slots.bookable(now).exclude(Q(hold__isnull=False) & Q(hold__expires_at__gt=now))
