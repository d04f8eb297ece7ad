"""One patient's record as their trust's clerk sees it: referrals, bookings, history, contacts.

Only referrals owned by the clerk's trust are shown (a patient may have referrals elsewhere);
a patient with none here is not found. A fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Prefetch
from django.http import Http404

from booking.models import (
    Booking,
    BookingStatus,
    BookingStatusChange,
    Offer,
    Patient,
    Referral,
    ReferralStatus,
    RisDelivery,
)
from booking.presenters import ReferralPresenter

from .contacts import ContactRow, contact_log

if TYPE_CHECKING:
    from accounts.models import User

_STATUS_LABELS = dict(BookingStatus.choices)


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    change: str
    who: str
    reason: str
    contact_method: str


@dataclass(frozen=True)
class RisMessage:
    kind: str
    status: str
    at: datetime


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    ris_trust: str
    ris_accepts_srm: bool
    other_trust: bool
    ris_messages: tuple[RisMessage, ...]
    history: tuple[HistoryRow, ...]

    @property
    def ris_note(self) -> str:
        if self.ris_accepts_srm:
            return f"{self.ris_trust}'s RIS is sent the booking (HL7 SRM)"
        return f"{self.ris_trust}'s RIS takes no booking messages: their clerks book it in by hand"

    @property
    def latest_ris_status(self) -> str:
        return self.ris_messages[-1].status if self.ris_messages else ""


@dataclass(frozen=True)
class ReferralRecord:
    referral: Referral
    wait: ReferralPresenter
    active: BookingView | None
    past: tuple[BookingView, ...]
    offers: tuple[Offer, ...]

    @property
    def can_book(self) -> bool:
        return self.active is None and self.referral.status in (ReferralStatus.WAITING, ReferralStatus.OFFERED)


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    referrals: tuple[ReferralRecord, ...]
    contacts: tuple[ContactRow, ...]

    def referral(self, referral_id: int) -> ReferralRecord | None:
        return next((r for r in self.referrals if r.referral.pk == referral_id), None)


def patient_record(user: User, patient_id: int, *, now: datetime) -> PatientRecord:
    """Raises Http404 unless the patient has a referral at this user's trust."""
    patient = Patient.objects.visible_to(user).filter(pk=patient_id).first()
    if patient is None:
        raise Http404("No such patient")
    referrals = list(Referral.objects.visible_to(user).filter(patient_id=patient.pk).order_by("clock_start"))
    referral_ids = [r.pk for r in referrals]
    bookings = (
        Booking.objects.visible_to(user)
        .filter(referral_id__in=referral_ids)
        .select_related("slot__site", "slot__trust", "slot__modality")
        .prefetch_related(
            Prefetch("status_changes", queryset=BookingStatusChange.objects.select_related("changed_by")),
            Prefetch("ris_deliveries", queryset=RisDelivery.objects.order_by("created_at", "pk")),
        )
        .order_by("-created_at", "-pk")
    )
    offers = Offer.objects.filter(referral_id__in=referral_ids).select_related("slot__site").order_by("-created_at")
    views_by_referral: dict[int, list[BookingView]] = {}
    for booking in bookings:
        views_by_referral.setdefault(booking.referral_id, []).append(_booking_view(booking))
    offers_by_referral: dict[int, list[Offer]] = {}
    for offer in offers:
        offers_by_referral.setdefault(offer.referral_id, []).append(offer)
    records = []
    for referral in referrals:
        views = views_by_referral.get(referral.pk, [])
        active = next((v for v in views if v.booking.is_active), None)
        records.append(
            ReferralRecord(
                referral=referral,
                wait=ReferralPresenter(referral, now),
                active=active,
                past=tuple(v for v in views if v is not active),
                offers=tuple(offers_by_referral.get(referral.pk, [])),
            )
        )
    return PatientRecord(patient=patient, referrals=tuple(records), contacts=tuple(contact_log(user, patient.pk)))


def _booking_view(booking: Booking) -> BookingView:
    slot = booking.slot
    history = tuple(
        HistoryRow(
            at=change.changed_at,
            change=(
                f"{_STATUS_LABELS.get(change.from_status, change.from_status)} → "
                f"{_STATUS_LABELS.get(change.to_status, change.to_status)}"
                if change.from_status
                else _STATUS_LABELS.get(change.to_status, change.to_status)
            ),
            who=(change.changed_by.get_username() if change.changed_by else change.actor_label) or "System",
            reason=change.reason,
            contact_method=change.contact_method,
        )
        for change in booking.status_changes.all()
    )
    return BookingView(
        booking=booking,
        ris_trust=str(slot.trust),
        ris_accepts_srm=slot.trust.accepts_srm,
        other_trust=slot.trust_id != booking.referral.trust_id,
        ris_messages=tuple(
            RisMessage(kind=m.get_kind_display(), status=m.get_answer_display(), at=m.created_at)
            for m in booking.ris_deliveries.all()
        ),
        history=history,
    )
