"""The shortlist a clerk books from on a patient's behalf: every site in the network, with reasons.

The ranking is the patient's own choice page's (`booking.services.choices.choices_for`: travel
from the patient's postcode district and days to the slot, after the needs saved on the referral),
so a clerk on the phone and the patient online see the same best slots. This module flattens it to
slots and adds, for each, which trust's RIS will be told of the booking (one query over the
network's sites, which are public).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from booking.models import Referral
from booking.services.choices import ChoiceFilters, Choices, SiteChoice, SlotChoice, choices_for
from slots.models import Site, Slot

if TYPE_CHECKING:
    from accounts.models import User

PER_SITE = 2


@dataclass(frozen=True)
class ShortlistRow:
    slot_id: int
    site_name: str
    site_is_cdc: bool
    starts_at: datetime
    trust_name: str
    trust_accepts_srm: bool
    other_trust: bool  # a cross-site booking: another trust's slot
    travel_km: float | None
    travel_minutes: float | None
    reasons: tuple[str, ...]

    @property
    def ris_note(self) -> str:
        if self.trust_accepts_srm:
            return f"{self.trust_name}'s RIS is sent the booking (HL7 SRM)"
        return f"{self.trust_name}'s RIS takes no booking messages: their clerks get a task to book it in"


@dataclass(frozen=True)
class Shortlist:
    rows: tuple[ShortlistRow, ...]
    note: str = ""


def shortlist_for(
    user: User,
    referral: Referral,
    *,
    now: datetime,
    exclude_slot_ids: tuple[int, ...] = (),
    limit: int = 12,
) -> Shortlist:
    """The best slots in the network pool for this referral, at most PER_SITE per site (about 4 queries).

    Only slots in the user's scope (`pool_slots_for`) are considered: a role that sees no pool gets nothing.
    """
    choices = choices_for(
        referral,
        slots=Slot.objects.pool_visible_to(user),
        sites=Site.objects.public(),
        filters=ChoiceFilters.saved_for(referral),
        now=now,
        per_site=PER_SITE,
        modality_label=referral.exam_type.modality.code,
    )
    picked = _best_slots(choices, exclude_slot_ids, limit)
    if not picked:
        return Shortlist((), "No open slot in the network suits this patient's saved needs.")
    at = {site.pk: site for site in Site.objects.public().filter(pk__in={choice.site.pk for choice, _ in picked})}
    return Shortlist(
        tuple(
            ShortlistRow(
                slot_id=slot.slot_id,
                site_name=choice.site.name,
                site_is_cdc=choice.site.is_cdc,
                starts_at=slot.starts_at,
                trust_name=str(at[choice.site.pk].trust),
                trust_accepts_srm=at[choice.site.pk].trust.accepts_srm,
                other_trust=choice.site.trust_id != referral.trust_id,
                travel_km=choice.travel_km if choices.origin_known else None,
                travel_minutes=choice.travel_minutes if choices.origin_known else None,
                reasons=slot.reasons,
            )
            for choice, slot in picked
        )
    )


def _best_slots(choices: Choices, exclude_slot_ids: tuple[int, ...], limit: int) -> list[tuple[SiteChoice, SlotChoice]]:
    """The ranked sites' slots in rank order (sites by their best slot, then each site's own order)."""
    flat = ((choice, slot) for choice in choices.ranked for slot in choice.slots if slot.slot_id not in exclude_slot_ids)
    return list(flat)[:limit]
