"""Links in patients' messages: a signed, expiring token naming a referral and the page to land on.

A link never signs anyone in by itself: a forwarded text message must not open the record. Opening
one goes to the patient sign-in with the booking reference filled in and the landing page as
`next`; the patient still gives their date of birth. A link someone has changed is refused; an old
one (PATIENT_LINK_DAYS) says so and offers the plain sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from booking.models import Referral

SALT = "booking.patient-link"
# Where a link may land: the page each kind of message is about.
LANDINGS = {
    "choose": "booking:patient-choices",
    "appointment": "booking:patient-booking",
    "cancel": "booking:patient-cancel",
}


class BadLink(Exception):
    """Not a link the hub made (or it was changed on the way)."""


class ExpiredLink(Exception):
    def __init__(self, landing_path: str) -> None:
        super().__init__("This link has expired")
        self.landing_path = landing_path


@dataclass(frozen=True)
class OpenedLink:
    referral: Referral
    landing: str
    landing_path: str


def patient_link(referral: Referral, landing: str) -> str:
    """The whole address of a link to `landing` for this referral, for a message."""
    if landing not in LANDINGS:
        raise ValueError(f"No landing called {landing!r}")
    token = signing.TimestampSigner(salt=SALT).sign(f"{referral.pk}-{landing}")
    return settings.PUBLIC_BASE_URL + reverse("booking:patient-link", args=[token])


def open_link(token: str) -> OpenedLink:
    """The referral and page a link is for. Raises BadLink or ExpiredLink."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign(token, max_age=timedelta(days=settings.PATIENT_LINK_DAYS))
    except signing.SignatureExpired:
        referral_id, landing = _parts(signer.unsign(token))
        raise ExpiredLink(reverse(LANDINGS[landing], args=[referral_id])) from None
    except signing.BadSignature as exc:
        raise BadLink() from exc
    referral_id, landing = _parts(value)
    referral = Referral.objects.select_related("patient").filter(pk=referral_id).first()
    if referral is None:
        raise BadLink()
    return OpenedLink(referral, landing, reverse(LANDINGS[landing], args=[referral.pk]))


def _parts(value: str) -> tuple[int, str]:
    referral_id, _, landing = value.partition("-")
    if not referral_id.isdigit() or landing not in LANDINGS:
        raise BadLink()
    return int(referral_id), landing
