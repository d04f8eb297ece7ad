"""Patient sign-in: the booking reference on the referral letter plus date of birth.

After failures on a reference, a second factor too: the postcode we hold, or a one-time code sent
to the patient's email or mobile (`send_sign_in_code`). It lives with the referrals it looks up;
accounts (below booking) knows only users, roles, limits and codes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from accounts.backends import normalise_postcode, normalise_reference
from accounts.models import Role, User
from accounts.sign_in_codes import CODE_MINUTES, check_code, issue_code
from audit.models import AuditAction
from audit.trail import record
from booking.models import Referral
from booking.services.notifications import queue_notification


def _referral(booking_reference: str, date_of_birth: date) -> Referral | None:
    referral = (
        Referral.objects.select_related("patient")
        .filter(booking_reference=normalise_reference(booking_reference))
        .first()
    )
    return referral if referral is not None and referral.patient.date_of_birth == date_of_birth else None


def send_sign_in_code(booking_reference: str, date_of_birth: date) -> None:
    """Send a one-time code if the reference and date of birth match and we can reach the patient.

    Says nothing either way: the page tells everyone the same, so it reveals no reference.
    """
    referral = _referral(booking_reference, date_of_birth)
    if referral is None or not (referral.patient.email or referral.patient.mobile):
        return
    code = issue_code(referral.booking_reference)
    if code is None:
        return
    queue_notification(referral.patient, "sign_in_code", {"code": code, "minutes": CODE_MINUTES})
    record(
        AuditAction.CREATE,
        object_type="accounts.SignInCode",
        object_id=referral.booking_reference,
        summary="One-time sign-in code sent",
        patient_id=referral.patient_id,
    )


class PatientReferenceBackend(BaseBackend):
    """Authenticates `booking_reference` + `date_of_birth` (+ `postcode` when asked for)."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        booking_reference: str | None = None,
        date_of_birth: date | None = None,
        postcode: str | None = None,
        one_time_code: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not booking_reference or date_of_birth is None:
            return None
        referral = _referral(booking_reference, date_of_birth)
        if referral is None:
            return None
        if one_time_code and not check_code(referral.booking_reference, one_time_code):
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
        return User.objects.filter(pk=user_id, role=Role.PATIENT).select_related("patient").first()
