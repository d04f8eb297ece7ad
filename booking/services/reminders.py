"""Appointment reminders, 7 days and 2 days before, with how to prepare and links to confirm,
change or cancel.

Run from the beat every hour. A booking made after a reminder's moment has passed does not get it
(the confirmation said everything); one made 10 days ahead gets both. Each reminder is claimed with
a conditional update of its own column before the message is queued: run twice, sent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from audit.models import AuditAction
from audit.trail import record
from booking.models import Booking, BookingStatus
from booking.patient_links import patient_link
from booking.presenters import days_until_text
from slots.models import ExamType

from .bookings import appointment_details
from .notifications import queue_notification

# Bookings worth reminding: confirmed, or waiting for the trust's RIS to confirm (not in conflict).
REMINDED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.PENDING_RIS)
MRI_SAFETY_QUESTIONS = (
    "Do you have a pacemaker, defibrillator or any other implanted device?",
    "Have you ever had metal in your eyes or body, for example from an injury or welding?",
    "Have you had an operation, clips, stents, a joint replacement or other metal implants?",
    "Are you, or could you be, pregnant?",
)


@dataclass(frozen=True)
class Reminder:
    days: int
    column: str
    until: timedelta  # stop trying this close to the appointment (the next reminder, or too late)


REMINDERS = (
    Reminder(7, "reminded_7_days_at", timedelta(days=2)),
    Reminder(2, "reminded_2_days_at", timedelta(hours=3)),
)


def send_appointment_reminders(now: datetime, *, limit: int = 2000) -> int:
    """Queue every reminder that has fallen due; returns how many."""
    sent = 0
    for reminder in REMINDERS:
        before = timedelta(days=reminder.days)
        due = list(
            Booking.objects.filter(
                status__in=REMINDED_STATUSES,
                slot__starts_at__lte=now + before,
                slot__starts_at__gt=now + reminder.until,
                created_at__lte=F("slot__starts_at") - before,
                **{f"{reminder.column}__isnull": True},
            )
            .select_related("referral__patient", "referral__exam_type", "slot__site")
            .order_by("slot__starts_at")[:limit]
        )
        for booking in due:
            sent += _remind(booking, reminder, now=now)
    return sent


@dataclass(frozen=True)
class PreparationPoint:
    text: str
    questions: tuple[str, ...] = ()


def preparation_points(exam: ExamType) -> list[PreparationPoint]:
    """How to prepare, from the exam catalogue: fasting, how long before to start, contrast, the MRI
    safety questions, then the catalogue's own instructions."""
    points = []
    if exam.fasting_hours:
        points.append(PreparationPoint(f"Do not eat for {exam.fasting_hours} hours before your scan."))
    if exam.preparation_lead_days:
        days = exam.preparation_lead_days
        points.append(PreparationPoint(f"Your preparation starts {days} day{'s' if days != 1 else ''} before your scan: read all of this now."))
    if exam.requires_contrast:
        points.append(PreparationPoint(
            "You will have an injection of contrast dye. Call us before your appointment if you have kidney "
            "problems, take metformin for diabetes, or have had a reaction to contrast dye."
        ))
    if exam.mri_safety_check:
        points.append(PreparationPoint(
            "Before an MRI scan we ask these safety questions. If the answer to any is yes, call us before your appointment:",
            MRI_SAFETY_QUESTIONS,
        ))
    if exam.preparation:
        points.append(PreparationPoint(exam.preparation))
    return points or [PreparationPoint("You do not need to do anything to prepare for this scan.")]


def preparation_text(exam: ExamType) -> str:
    """The preparation as plain text for a message: paragraphs, and the questions as a list."""
    return "\n\n".join(
        "\n".join([point.text, *(f"- {question}" for question in point.questions)]) for point in preparation_points(exam)
    )


def _remind(booking: Booking, reminder: Reminder, *, now: datetime) -> int:
    with transaction.atomic():
        claimed = Booking.objects.filter(pk=booking.pk, **{f"{reminder.column}__isnull": True}).update(
            **{reminder.column: now}
        )
        if not claimed:  # another run sent it first
            return 0
        referral = booking.referral
        details = appointment_details(booking) | {
            "days_to_go": days_until_text(booking.slot.starts_at, now),
            "preparation": preparation_text(referral.exam_type),
            "confirm_link": patient_link(referral, "appointment"),
            "change_link": patient_link(referral, "choose"),
            "cancel_link": patient_link(referral, "cancel"),
        }
        queue_notification(referral.patient, "appointment_reminder", details)
        record(
            AuditAction.UPDATE,
            booking,
            summary=f"Reminded the patient of their appointment, {reminder.days} days before",
            patient_id=referral.patient_id,
            detail={"reminder_days": reminder.days},
        )
    return 1
