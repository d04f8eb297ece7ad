"""Gaps foreseen: a booking likely to be missed (DNA) is checked with its patient while it can still be filled.

Every hour, bookings two to four days ahead are scored with `booking.optimiser.dna_risk`. A patient
whose predicted chance of not attending is RISK_THRESHOLD or more is asked, once, to confirm they
will come or to release the slot. Releasing is an ordinary cancellation, so the slot returns to the
pool and its backfill starts with days, not hours, to fill it. Nothing is cancelled or double-booked
without the patient: a patient who does not answer keeps their appointment, and the booking shows
as unconfirmed to the trust's clerks.

A missed appointment (the RIS's SIU^S26, applied by `bookings.transition` to DID_NOT_ATTEND) is a
patient event: `clocks.after_did_not_attend` restarts the referral's DM01 clock from the missed
appointment's time, where booking/rules/dm01.py and the trust's setting say so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Q

from audit.models import AuditAction
from audit.trail import record
from booking.models import Booking, BookingStatus
from booking.optimiser.dna_risk import dna_probability, modality_rate
from booking.patient_links import patient_link

from .bookings import appointment_details
from .errors import InvalidTransition
from .notifications import queue_notification

if TYPE_CHECKING:
    from accounts.models import User

CHECK_FROM = timedelta(hours=48)
CHECK_UNTIL = timedelta(hours=96)
RISK_THRESHOLD = 0.15
HISTORY = timedelta(days=180)


def ask_likely_missed_to_confirm(now: datetime) -> int:
    """Ask each patient likely to miss an appointment two to four days ahead; returns how many."""
    due = list(
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            attendance_check_sent_at__isnull=True,
            attendance_confirmed_at__isnull=True,
            slot__starts_at__gte=now + CHECK_FROM,
            slot__starts_at__lt=now + CHECK_UNTIL,
        ).select_related("referral__patient", "referral__exam_type", "slot__site")
    )
    if not due:
        return 0
    rates = _modality_rates(now)
    history = _attendance_history({booking.referral.patient_id for booking in due})
    asked = 0
    for booking in due:
        dnas, attended = history.get(booking.referral.patient_id, (0, 0))
        probability = dna_probability(dnas, attended, rates.get(booking.slot.modality_id))
        if probability >= RISK_THRESHOLD and _ask(booking, probability, dnas, attended, now=now):
            asked += 1
    return asked


def confirm_attendance(booking: Booking, *, actor_user: User | None, now: datetime) -> Booking:
    if not booking.is_active:
        raise InvalidTransition("This appointment has already been cancelled or has taken place.")
    Booking.objects.filter(pk=booking.pk).update(attendance_confirmed_at=now)
    booking.attendance_confirmed_at = now
    record(
        AuditAction.UPDATE,
        booking,
        summary="Patient confirmed they will attend",
        patient_id=booking.referral.patient_id,
    )
    return booking


def awaiting_confirmation(booking: Booking) -> bool:
    """Asked whether they will come (a check, or a reminder's 'tell us you are coming') and not yet answered."""
    asked = booking.attendance_check_sent_at or booking.reminded_7_days_at or booking.reminded_2_days_at
    return asked is not None and booking.attendance_confirmed_at is None


# Internals -----------------------------------------------------------------------------------


def _ask(booking: Booking, probability: float, dnas: int, attended: int, *, now: datetime) -> bool:
    with transaction.atomic():
        claimed = Booking.objects.filter(pk=booking.pk, attendance_check_sent_at__isnull=True).update(
            attendance_check_sent_at=now
        )
        if not claimed:  # a second run, or another worker, asked already
            return False
        referral = booking.referral
        details = appointment_details(booking) | {
            "confirm_at": patient_link(referral, "appointment"),
        }
        queue_notification(referral.patient, "attendance_check", details)
        record(
            AuditAction.UPDATE,
            booking,
            summary=f"Asked to confirm or release the appointment ({probability:.0%} predicted not to attend)",
            patient_id=referral.patient_id,
            detail={"dna_probability": round(probability, 3), "prior_dnas": dnas, "prior_attended": attended},
        )
    return True


def _modality_rates(now: datetime) -> dict[int, float | None]:
    """Each modality's DNA rate over the last HISTORY of appointments that took place or were missed."""
    rows = (
        Booking.objects.filter(
            status__in=[BookingStatus.ATTENDED, BookingStatus.DID_NOT_ATTEND],
            slot__starts_at__gte=now - HISTORY,
            slot__starts_at__lt=now,
        )
        .values("slot__modality_id")
        .annotate(
            missed=Count("pk", filter=Q(status=BookingStatus.DID_NOT_ATTEND)),
            came=Count("pk", filter=Q(status=BookingStatus.ATTENDED)),
        )
    )
    return {row["slot__modality_id"]: modality_rate(row["missed"], row["came"]) for row in rows}


def _attendance_history(patient_ids: set[int]) -> dict[int, tuple[int, int]]:
    """(appointments missed, appointments attended) for each patient, over all their referrals."""
    rows = (
        Booking.objects.filter(
            referral__patient_id__in=patient_ids,
            status__in=[BookingStatus.ATTENDED, BookingStatus.DID_NOT_ATTEND],
        )
        .values("referral__patient_id")
        .annotate(
            missed=Count("pk", filter=Q(status=BookingStatus.DID_NOT_ATTEND)),
            came=Count("pk", filter=Q(status=BookingStatus.ATTENDED)),
        )
    )
    return {row["referral__patient_id"]: (row["missed"], row["came"]) for row in rows}
