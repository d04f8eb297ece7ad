"""One freed slot, as the clerk filling it sees it: where, when, the backfill so far, candidates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from booking.access import get_pool_slot_or_404
from slots.models import SlotStatus

from .build import backfill_progress, slot_ref
from .candidates import candidates_for_slots
from .items import BackfillProgress, Candidate, SlotRef

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class FreedSlotDetail:
    slot: SlotRef
    is_open: bool
    status: str
    trust_accepts_srm: bool
    progress: BackfillProgress
    candidates: tuple[Candidate, ...]

    @property
    def ris_note(self) -> str:
        if self.trust_accepts_srm:
            return f"{self.slot.trust_name}'s RIS is sent the booking (HL7 SRM)"
        return f"{self.slot.trust_name}'s RIS takes no booking messages: their clerks get a task to book it in"

    @property
    def patient_ids(self) -> tuple[int, ...]:
        return tuple(c.patient_id for c in self.candidates)


def freed_slot_detail(user: User, slot_id: int, *, now: datetime, limit: int = 10) -> FreedSlotDetail:
    """Any slot in the network pool (404 otherwise); candidates only from this user's trust."""
    slot = get_pool_slot_or_404(user, slot_id)
    is_open = slot.status == SlotStatus.OPEN and slot.starts_at > now
    candidates = candidates_for_slots(user, [slot], now=now, limit=limit).get(slot.pk, ()) if is_open else ()
    return FreedSlotDetail(
        slot=slot_ref(slot),
        is_open=is_open,
        status=slot.get_status_display(),
        trust_accepts_srm=slot.trust.accepts_srm,
        progress=backfill_progress([slot.pk]).get(slot.pk, BackfillProgress()),
        candidates=candidates,
    )
