"""Booking and cancelling for both the REST and the FHIR API, through the pages' own services."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Role, User
from booking.models import Booking, BookingChannel, Referral
from booking.services.bookings import cancel_booking, confirm_booking
from booking.services.patients import ensure_patient_may_change


def book(user: User, referral: Referral, slot_id: int, *, now: datetime) -> Booking:
    """Book a pool slot for a referral in the caller's scope (the caller checked both)."""
    return confirm_booking(referral, slot_id, actor_user=user, channel=BookingChannel.API, now=now)


def cancel(user: User, booking: Booking, *, reason: str, contact_method: str, now: datetime) -> Booking:
    """Cancel; a patient is held to the same cut-off as online (PATIENT_CHANGE_CUTOFF_HOURS)."""
    if user.role == Role.PATIENT:
        ensure_patient_may_change(booking, now=now)
    return cancel_booking(booking, actor_user=user, reason=reason, contact_method=contact_method, now=now)
