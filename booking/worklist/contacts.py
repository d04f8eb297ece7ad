"""The clerk's contact log: how the patient was reached and what they said, for every change.

Written to the audit trail (append-only) as object type `booking.ClerkContact`, beside the booking
service's own audit of the change, and shown on the patient's page: to the clerks of the trust whose
referral it was about, never another trust's (a patient referred by two trusts has two logs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from audit.models import AuditAction, AuditEvent
from audit.trail import record
from booking.models import Booking

if TYPE_CHECKING:
    from accounts.models import User

CONTACT_OBJECT_TYPE = "booking.ClerkContact"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone"
    LETTER = "letter", "Letter"
    IN_PERSON = "in_person", "In person"
    EMAIL = "email", "Email"


@dataclass(frozen=True)
class ContactRow:
    at: datetime
    who: str
    what: str
    method: str
    reason: str


def record_contact(
    *, patient_id: int, trust_id: int, booking_id: int | None, what: str, contact_method: str, reason: str
) -> AuditEvent:
    """`trust_id`: the trust whose referral the contact was about; only its clerks see the entry."""
    return record(
        AuditAction.UPDATE,
        object_type=CONTACT_OBJECT_TYPE,
        object_id=booking_id,
        patient_id=patient_id,
        summary=what,
        detail={"contact_method": contact_method, "reason": reason[:500], "trust_id": trust_id},
    )


def contact_log(user: User, patient_id: int, *, limit: int = 50) -> list[ContactRow]:
    """The contacts with this patient that `user` may read: their own trust's (all, for an admin)."""
    labels = dict(ContactMethod.choices)
    events = AuditEvent.objects.filter(patient_id=patient_id, object_type=CONTACT_OBJECT_TYPE)
    scope = user.data_scope
    if not scope.everything:
        if not scope.trust_id:
            return []
        # Entries written before they named their trust are found through their booking's referral.
        own_bookings = Booking.objects.visible_to(user).filter(referral__patient_id=patient_id)
        booking_ids = [str(pk) for pk in own_bookings.values_list("pk", flat=True)]
        events = events.filter(Q(detail__trust_id=scope.trust_id) | (~Q(detail__has_key="trust_id") & Q(object_id__in=booking_ids)))
    events = events[:limit]
    return [
        ContactRow(
            at=e.at,
            who=e.actor_label,
            what=e.summary,
            method=labels.get(e.detail.get("contact_method", ""), ""),
            reason=e.detail.get("reason", ""),
        )
        for e in events
    ]
