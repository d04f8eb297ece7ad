"""Confirming the held time, the booked appointment, its calendar file, cancelling, short notice."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import AuditAction
from audit.trail import record
from booking.access import get_referral_or_404
from booking.forms.patient import CancelForm, ConfirmForm, ShortNoticeForm
from booking.models import Booking, BookingChannel, CancelledBy, Hold, Patient, Referral
from booking.services import attendance, holds
from booking.services.attendance import awaiting_confirmation
from booking.services.bookings import cancel_booking, confirm_booking, reschedule_booking
from booking.services.errors import BookingError, ChangeTooLate, HoldExpired, HoldReplaced
from booking.services.patients import (
    change_cutoff,
    ensure_patient_may_change,
    patient_may_change,
    record_needs,
    set_short_notice_opt_in,
)
from booking.services.reminders import preparation_points

from .access import active_booking, patient_required, with_active_booking
from .calendar import appointment_ics
from .choose import refused
from .presenters import AppointmentView, when


@require_http_methods(["GET", "POST"])
@patient_required
def confirm(request: HttpRequest, referral_id: int) -> HttpResponse:
    """Check and confirm the held time. The form names its hold: a page left open while the patient
    chose another time elsewhere is told so, and never books the other time."""
    referral = get_referral_or_404(request.user, referral_id)
    now = timezone.now()
    patient = referral.patient
    form = ConfirmForm(request.POST if request.method == "POST" else None, initial={
        "reasonable_adjustments": patient.reasonable_adjustments, "interpreter_language": patient.interpreter_language})
    if request.method == "POST":
        return _confirm_named_hold(request, referral, form, now=now)
    named = _hold_id(request.GET.get("hold", ""))
    hold = holds.active_hold(referral, now=now)
    if hold is None or (named is not None and hold.pk != named):
        return refused(request, referral, _no_longer_held(hold))
    return _confirm_page(request, referral, hold, form, now=now)


def _hold_id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _no_longer_held(current: Hold | None) -> str:
    """Why a named hold cannot be confirmed: replaced by a newer one, or simply run out."""
    return HoldReplaced().message if current is not None else holds_expired_message()


def _confirm_named_hold(request: HttpRequest, referral: Referral, form: ConfirmForm, *, now: datetime) -> HttpResponse:
    hold_id = _hold_id(str(form.data.get("hold_id", "")))
    named = referral.holds.select_related("slot__site").filter(pk=hold_id).first() if hold_id else None
    if named is None:
        if form.is_valid():  # what they typed is kept, whatever happened to the time
            _record_needs(referral, form)
        return refused(request, referral, _no_longer_held(holds.active_hold(referral, now=now)))
    if not form.is_valid():
        return _confirm_page(request, referral, named, form, now=now)
    _record_needs(referral, form)
    current = active_booking(request, referral)
    try:
        if current is None:
            confirm_booking(referral, named.slot_id, actor_user=request.user, channel=BookingChannel.PATIENT, now=now,
                            hold_id=named.pk)
        else:
            ensure_patient_may_change(current, now=now)
            reschedule_booking(current, named.slot_id, actor_user=request.user, now=now, channel=BookingChannel.PATIENT,
                               hold_id=named.pk)
    except BookingError as error:
        return refused(request, referral, error.message)
    messages.success(request, "Your appointment is booked" if current is None else "Your appointment has been changed")
    return redirect("booking:patient-booking", referral_id=referral.pk)


def _record_needs(referral: Referral, form: ConfirmForm) -> None:
    record_needs(
        referral.patient,
        reasonable_adjustments=form.cleaned_data["reasonable_adjustments"],
        interpreter_language=form.cleaned_data["interpreter_language"],
    )


def _confirm_page(request: HttpRequest, referral: Referral, hold: Hold, form: ConfirmForm, *, now: datetime) -> HttpResponse:
    current = active_booking(request, referral)
    minutes_left = max(1, int((hold.expires_at - now).total_seconds() // 60))
    return render(request, "booking/patient/confirm.jinja", {
        "referral": referral,
        "hold": hold,
        "when": when(hold.slot.starts_at),
        "held_until": when(hold.expires_at, "%-I:%M%p"),
        "minutes_left": minutes_left,
        "current": AppointmentView(current) if current else None,
        "form": form,
    }, status=400 if form.errors else 200)


@require_GET
@patient_required
@with_active_booking
def appointment(request: HttpRequest, referral: Referral, booking: Booking) -> HttpResponse:
    now = timezone.now()
    record(AuditAction.VIEW, booking, summary="Patient viewed their appointment", patient_id=referral.patient_id)
    return render(request, "booking/patient/appointment.jinja", {
        "referral": referral,
        "booking": booking,
        "appointment": AppointmentView(booking),
        "can_change": patient_may_change(booking, now=now),
        "awaiting_confirmation": awaiting_confirmation(booking) and patient_may_change(booking, now=now),
        "preparation": preparation_points(referral.exam_type),
        "cutoff": when(change_cutoff(booking)),
        "patient": referral.patient,
        "short_notice_form": ShortNoticeForm(),
    })


@require_POST
@patient_required
@with_active_booking
def confirm_attendance(request: HttpRequest, referral: Referral, booking: Booking) -> HttpResponse:
    attendance.confirm_attendance(booking, actor_user=request.user, now=timezone.now())
    messages.success(request, "Thank you. We have told the site you are coming.")
    return redirect("booking:patient-booking", referral_id=referral.pk)


@require_GET
@patient_required
@with_active_booking
def calendar_file(request: HttpRequest, referral: Referral, booking: Booking) -> HttpResponse:
    response = HttpResponse(appointment_ics(booking, now=timezone.now()), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="scan-{referral.booking_reference}.ics"'
    return response


@require_http_methods(["GET", "POST"])
@patient_required
@with_active_booking
def cancel(request: HttpRequest, referral: Referral, booking: Booking) -> HttpResponse:
    now = timezone.now()
    form = CancelForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            ensure_patient_may_change(booking, now=now)
            cancel_booking(
                booking,
                actor_user=request.user,
                reason=form.reason_text,
                contact_method="online",
                now=now,
                cancelled_by=CancelledBy.PATIENT,
            )
        except BookingError as exc:
            error = exc.message
        else:
            messages.success(request, "Your appointment has been cancelled")
            return redirect("booking:patient-home")
    elif not patient_may_change(booking, now=now):
        error = ChangeTooLate().message
    return render(request, "booking/patient/cancel.jinja", {
        "referral": referral,
        "appointment": AppointmentView(booking),
        "form": form,
        "booking_error": error,
    }, status=400 if (form.errors or error) and request.method == "POST" else 200)


@require_POST
@patient_required
def short_notice(request: HttpRequest) -> HttpResponse:
    patient = Patient.objects.visible_to(request.user).get()
    form = ShortNoticeForm(request.POST)
    if form.is_valid():
        set_short_notice_opt_in(patient, form.opt_in)
        messages.success(
            request,
            "We will offer you earlier appointments at short notice" if form.opt_in
            else "We will not offer you appointments at short notice",
        )
    else:
        messages.error(request, form.errors["short_notice_opt_in"][0])
    return redirect(_safe_next(request) or "booking:patient-home")


def holds_expired_message() -> str:
    return HoldExpired().message


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else ""
