"""What patients change about themselves: their needs, their preferences, and the rules on changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from audit.models import AuditAction
from audit.trail import record
from booking.models import Booking, Patient, Referral

from .choices import ChoiceFilters
from .errors import ChangeTooLate


def change_cutoff(booking: Booking) -> datetime:
    """The last moment the patient may reschedule or cancel online."""
    return booking.slot.starts_at - timedelta(hours=settings.PATIENT_CHANGE_CUTOFF_HOURS)


def patient_may_change(booking: Booking, *, now: datetime) -> bool:
    return booking.is_active and now < change_cutoff(booking)


def ensure_patient_may_change(booking: Booking, *, now: datetime) -> None:
    if not booking.is_active:
        raise ChangeTooLate("This appointment has already been cancelled or has taken place.")
    if now >= change_cutoff(booking):
        hours = settings.PATIENT_CHANGE_CUTOFF_HOURS
        raise ChangeTooLate(
            f"Appointments can only be changed online up to {hours} hours before. "
            f"Call {booking.slot.site.name} to change or cancel it."
        )


def record_needs(patient: Patient, *, reasonable_adjustments: str, interpreter_language: str) -> Patient:
    """Reasonable adjustments and interpreter language: passed to the site with the booking."""
    reasonable_adjustments = reasonable_adjustments.strip()
    interpreter_language = interpreter_language.strip()
    if (reasonable_adjustments, interpreter_language) == (patient.reasonable_adjustments, patient.interpreter_language):
        return patient
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(
            reasonable_adjustments=reasonable_adjustments, interpreter_language=interpreter_language
        )
        patient.reasonable_adjustments = reasonable_adjustments
        patient.interpreter_language = interpreter_language
        record(
            AuditAction.UPDATE,
            patient,
            summary="Patient recorded their reasonable adjustments and interpreter needs",
            patient_id=patient.pk,
            detail={"interpreter_language": interpreter_language, "has_adjustments": bool(reasonable_adjustments)},
        )
    return patient


def set_short_notice_opt_in(patient: Patient, opt_in: bool) -> Patient:
    """'Offer me earlier slots at short notice': backfill asks these patients first."""
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(short_notice_opt_in=opt_in)
        patient.short_notice_opt_in = opt_in
        record(
            AuditAction.UPDATE,
            patient,
            summary=f"Patient {'opted in to' if opt_in else 'opted out of'} short-notice offers",
            patient_id=patient.pk,
            detail={"short_notice_opt_in": opt_in},
        )
    return patient


def save_choice_preferences(referral: Referral, filters: ChoiceFilters) -> Referral:
    """Keep what the patient chose with on the referral, so offers and backfill respect it too."""
    values = {
        "travel_mode": filters.travel_mode,
        "max_travel_km": filters.max_travel_km,
        "work_postcode": filters.work_postcode,
        "needs_step_free": filters.needs_step_free,
        "needs_hearing_loop": filters.needs_hearing_loop,
        "needs_bariatric": filters.needs_bariatric,
        "unavailable_dates": sorted(d.isoformat() for d in filters.unavailable_dates),
    }
    if all(getattr(referral, name) == value for name, value in values.items()):
        return referral
    with transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(**values)
        for name, value in values.items():
            setattr(referral, name, value)
        record(
            AuditAction.UPDATE,
            referral,
            summary="Patient saved their travel and access preferences",
            patient_id=referral.patient_id,
            detail={k: v for k, v in values.items() if k != "work_postcode"},
        )
    return referral
