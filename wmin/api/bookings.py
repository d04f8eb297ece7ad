"""Booking and cancelling for both the REST and the FHIR API, through the pages' own services."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Role, User
from booking.models import Booking, BookingChannel, CancelledBy, Referral
from booking.services.bookings import cancel_booking, confirm_booking
from booking.services.patients import ensure_patient_may_change


def book(user: User, referral: Referral, slot_id: int, *, now: datetime) -> Booking:
    """Book a pool slot for a referral in the caller's scope (the caller checked both)."""
    return confirm_booking(referral, slot_id, actor_user=user, channel=BookingChannel.API, now=now)


def default_cancelled_by(user: User) -> str:
    """Who cancelled when the caller does not say: the patient when a patient's own token cancels,
    else the hospital. Unknown is never the patient: their DM01 clock never restarts on a guess."""
    return CancelledBy.PATIENT if user.role == Role.PATIENT else CancelledBy.HOSPITAL


def cancel(
    user: User,
    booking: Booking,
    *,
    reason: str,
    contact_method: str,
    now: datetime,
    cancelled_by: str | None = None,
) -> Booking:
    """Cancel; a patient is held to the same cut-off as online (PATIENT_CHANGE_CUTOFF_HOURS).
    `cancelled_by` None: `default_cancelled_by`."""
    if user.role == Role.PATIENT:
        ensure_patient_may_change(booking, now=now)
    return cancel_booking(
        booking,
        actor_user=user,
        reason=reason,
        contact_method=contact_method,
        now=now,
        cancelled_by=cancelled_by or default_cancelled_by(user),
    )
