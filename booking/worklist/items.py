"""What a clerk's worklist holds: one typed item per piece of work, each saying why and what next.

Items carry plain values, never model instances, so a template cannot reach beyond what the item
chose to show. That matters most for `SiteBooking`: another trust's patient booked at this trust's
site, where the receiving clerk sees only what they need to book and scan the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class ItemKind(StrEnum):
    FREED_SLOT = "freed_slot"
    CONFLICT = "conflict"
    RIS_TASK = "ris_task"
    INCOMING = "incoming"
    EXPIRED_OFFER = "expired_offer"
    BREACH = "breach"
    DNA = "dna"
    UNCONFIRMED = "unconfirmed"
    LETTER = "letter"
    NOT_CHOSEN = "not_chosen"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    ItemKind.FREED_SLOT: "Freed slots",
    ItemKind.CONFLICT: "Conflicts with a RIS",
    ItemKind.RIS_TASK: "Book in your RIS",
    ItemKind.INCOMING: "Booked at your sites",
    ItemKind.EXPIRED_OFFER: "Expired offers",
    ItemKind.BREACH: "6-week breaches",
    ItemKind.DNA: "Did not attend",
    ItemKind.UNCONFIRMED: "Not yet confirmed",
    ItemKind.LETTER: "Letters to post",
    ItemKind.NOT_CHOSEN: "Invited, not yet chosen",
}


@dataclass(frozen=True)
class PatientRef:
    """One of this trust's own patients, as the worklist names them (details are on their page)."""

    patient_id: int
    referral_id: int
    name: str
    nhs_number: str
    booking_reference: str
    exam: str


@dataclass(frozen=True)
class SlotRef:
    slot_id: int
    site_name: str
    trust_name: str
    modality: str
    starts_at: datetime


@dataclass(frozen=True)
class SiteBooking:
    """A booking at this trust's site, as the receiving trust's clerk sees it.

    Enough to book the patient into the RIS and scan them (identity, exam, slot, access needs),
    nothing more: no clinical reason, referrer, address, contact details or booking history, and no
    booking reference: with the date of birth beside it, that is all a patient's sign-in needs.
    """

    booking_id: int
    patient_name: str
    nhs_number: str
    date_of_birth: date
    exam: str
    from_trust: str
    site_name: str
    starts_at: datetime
    ris_slot_id: str
    access_needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackfillProgress:
    """Offers the backfill has made for one freed slot, by status."""

    sent: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    withdrawn: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.accepted + self.declined + self.expired + self.withdrawn

    @property
    def text(self) -> str:
        if not self.total:
            return "No backfill offers made yet"
        parts = [
            (self.sent, "waiting for a reply"),
            (self.accepted, "accepted"),
            (self.declined, "declined"),
            (self.expired, "expired"),
            (self.withdrawn, "withdrawn"),
        ]
        made = f"{self.total} backfill offer{'s' if self.total != 1 else ''}"
        return f"{made}: " + ", ".join(f"{n} {label}" for n, label in parts if n)


@dataclass(frozen=True)
class Candidate:
    """One of this trust's patients who could take a freed slot, with the reasons why."""

    referral_id: int
    patient_id: int
    name: str
    nhs_number: str
    exam: str
    is_booked: bool
    travel_km: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class WorkItem:
    kind: ItemKind
    at: datetime
    title: str
    why: str
    next_step: str
    action_url: str = ""
    action_label: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.ident}"

    @property
    def ident(self) -> int:
        raise NotImplementedError

    @property
    def patient_ids(self) -> tuple[int, ...]:
        return ()


@dataclass(frozen=True, kw_only=True)
class FreedSlotItem(WorkItem):
    slot: SlotRef
    progress: BackfillProgress
    candidates: tuple[Candidate, ...] = field(default=())

    @property
    def ident(self) -> int:
        return self.slot.slot_id

    @property
    def patient_ids(self) -> tuple[int, ...]:
        return tuple(c.patient_id for c in self.candidates)


@dataclass(frozen=True, kw_only=True)
class PatientItem(WorkItem):
    """Work about one of this trust's own patients."""

    patient: PatientRef

    @property
    def ident(self) -> int:
        return self.patient.referral_id

    @property
    def patient_ids(self) -> tuple[int, ...]:
        return (self.patient.patient_id,)


@dataclass(frozen=True, kw_only=True)
class ConflictItem(PatientItem):
    booking_id: int
    slot: SlotRef
    ris_said: str = ""


@dataclass(frozen=True, kw_only=True)
class ExpiredOfferItem(PatientItem):
    slot: SlotRef


@dataclass(frozen=True, kw_only=True)
class BreachItem(PatientItem):
    weeks_waited: int
    breaches_on: date
    breached: bool


@dataclass(frozen=True, kw_only=True)
class InvitationItem(PatientItem):
    """A patient invited to choose: a letter still to post, or no choice made since the invitation."""

    invited_at: datetime
    channel: str  # how they were invited, in words
    reminded_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class BookingItem(PatientItem):
    """One of this trust's patients' bookings that needs a clerk: missed, or likely to be."""

    booking_id: int
    slot: SlotRef


@dataclass(frozen=True, kw_only=True)
class SiteBookingItem(WorkItem):
    """A booking at this trust's site: a RIS task, or another trust's patient booked here."""

    booking: SiteBooking
    patient_id: int
    ris_status: str = ""

    @property
    def ident(self) -> int:
        return self.booking.booking_id

    @property
    def patient_ids(self) -> tuple[int, ...]:
        return (self.patient_id,)
