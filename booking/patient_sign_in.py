"""Patient sign-in: the booking reference on the referral letter plus date of birth.

It lives with the referrals it looks up; accounts (below booking) knows only users and roles.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from accounts.backends import normalise_postcode, normalise_reference
from accounts.models import Role, User
from booking.models import Referral


class PatientReferenceBackend(BaseBackend):
    """Authenticates `booking_reference` + `date_of_birth` (+ `postcode` when asked for)."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        booking_reference: str | None = None,
        date_of_birth: date | None = None,
        postcode: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not booking_reference or date_of_birth is None:
            return None
        referral = (
            Referral.objects.select_related("patient")
            .filter(booking_reference=normalise_reference(booking_reference))
            .first()
        )
        if referral is None or referral.patient.date_of_birth != date_of_birth:
            return None
        if postcode and normalise_postcode(postcode) != normalise_postcode(referral.patient.postcode):
            return None
        patient = referral.patient
        user = User.objects.filter(patient=patient).first()
        if user is None:
            user = User(patient=patient, username=f"patient-{patient.pk}", role=Role.PATIENT)
            user.set_unusable_password()  # patients never have a password; the reference and DOB are the key
            user.save()
        return user if user.is_active else None

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, role=Role.PATIENT).first()
