"""The clerk's contact log: how the patient was reached and what they said, for every change.

Written to the audit trail (append-only) as object type `booking.ClerkContact`, beside the booking
service's own audit of the change, and shown on the patient's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models

from audit.models import AuditAction, AuditEvent
from audit.trail import record

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
    *, patient_id: int, booking_id: int | None, what: str, contact_method: str, reason: str
) -> AuditEvent:
    return record(
        AuditAction.UPDATE,
        object_type=CONTACT_OBJECT_TYPE,
        object_id=booking_id,
        patient_id=patient_id,
        summary=what,
        detail={"contact_method": contact_method, "reason": reason[:500]},
    )


def contact_log(patient_id: int, *, limit: int = 50) -> list[ContactRow]:
    labels = dict(ContactMethod.choices)
    events = AuditEvent.objects.filter(patient_id=patient_id, object_type=CONTACT_OBJECT_TYPE)[:limit]
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
