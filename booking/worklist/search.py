"""Finding one of this trust's patients: by NHS number, booking reference, or name and date of birth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch

from booking.models import Patient, Referral

if TYPE_CHECKING:
    from accounts.models import User

MAX_MATCHES = 20


@dataclass(frozen=True)
class PatientMatch:
    patient_id: int
    name: str
    nhs_number: str
    date_of_birth: date
    postcode: str
    referrals: tuple[str, ...]  # "WM1234 - CT Head (Waiting)"


def find_patients(user: User, criteria: dict[str, Any]) -> list[PatientMatch]:
    """Patients of this user's trust matching the cleaned `FindPatientForm` data (2 queries)."""
    patients = Patient.objects.visible_to(user)
    if criteria.get("nhs_number"):
        patients = patients.filter(nhs_number=criteria["nhs_number"])
    elif criteria.get("booking_reference"):
        patients = patients.filter(
            pk__in=Referral.objects.visible_to(user)
            .filter(booking_reference__iexact=criteria["booking_reference"])
            .values("patient_id")
        )
    elif criteria.get("family_name") and criteria.get("date_of_birth"):
        patients = patients.filter(
            family_name__iexact=criteria["family_name"], date_of_birth=criteria["date_of_birth"]
        )
        if criteria.get("given_name"):
            patients = patients.filter(given_name__istartswith=criteria["given_name"])
    else:
        return []
    patients = patients.prefetch_related(
        Prefetch("referrals", queryset=Referral.objects.visible_to(user).order_by("clock_start"), to_attr="own_referrals")
    ).order_by("family_name", "given_name", "pk")[:MAX_MATCHES]
    return [
        PatientMatch(
            patient_id=p.pk,
            name=f"{p.given_name} {p.family_name}",
            nhs_number=p.formatted_nhs_number,
            date_of_birth=p.date_of_birth,
            postcode=p.postcode,
            referrals=tuple(
                f"{r.booking_reference} - {r.exam_type.name} ({r.get_status_display()})" for r in p.own_referrals
            ),
        )
        for p in patients
    ]
