"""The shortlist a clerk books from on a patient's behalf: every site in the network, with reasons.

The ranking is the optimiser's (`booking.optimiser.services.shortlist_for_referral`: travel from the
patient's postcode district and days to the slot, after the needs saved on the referral), the same
one the patient sees online. This module adds, for each slot, which trust's RIS will be told of the
booking (one query over the network's sites, which are public).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from booking.models import Referral
from booking.optimiser.services import shortlist_for_referral
from wmin.accounts.scope import pool_slots_for, sites

if TYPE_CHECKING:
    from wmin.accounts.models import User

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

    Only slots in the user's scope (`pool_slots_for`) are kept: a role that sees no pool gets nothing.
    """
    ranked = shortlist_for_referral(referral, now=now, per_site=PER_SITE, limit=limit + len(exclude_slot_ids))
    visible = set(pool_slots_for(user).filter(pk__in=[e.slot_id for e in ranked]).values_list("pk", flat=True))
    entries = [e for e in ranked if e.slot_id in visible and e.slot_id not in exclude_slot_ids][:limit]
    if not entries:
        return Shortlist((), "No open slot in the network suits this patient's saved needs.")
    at = {site.pk: site for site in sites().filter(pk__in={e.site_id for e in entries})}
    return Shortlist(
        tuple(
            ShortlistRow(
                slot_id=e.slot_id,
                site_name=e.site_name,
                site_is_cdc=at[e.site_id].is_cdc,
                starts_at=e.starts_at,
                trust_name=str(at[e.site_id].trust),
                trust_accepts_srm=at[e.site_id].trust.accepts_srm,
                other_trust=at[e.site_id].trust_id != referral.trust_id,
                travel_km=e.travel_km,
                travel_minutes=e.travel_minutes,
                reasons=tuple(e.reasons),
            )
            for e in entries
        )
    )
