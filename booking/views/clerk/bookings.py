"""Book, move or cancel on a patient's behalf, and resolve a conflict with a RIS: one action each.

Every change goes through the one booking path (`booking.services.bookings`, channel "clerk"),
which audits it and tells the slot's trust's RIS through the outbound HL7 queue; the clerk's
contact (how, and the patient's reason) is logged against the patient beside it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.access import get_booking_or_404, get_referral_or_404
from booking.forms.clerk import BookSlotForm, CancelBookingForm, ContactForm, ContactMethod, MoveSlotForm
from booking.models import Booking, BookingChannel, BookingStatus, Referral
from booking.services.bookings import cancel_booking, confirm_booking, reschedule_booking
from booking.services.errors import BookingError
from booking.worklist.contacts import record_contact
from booking.worklist.ris import conflict_story, ris_outcome
from booking.worklist.shortlist import shortlist_for

from .navigation import go_to, page_or_partial

CLERK = BookingChannel.CLERK
SLOT_FORM = "booking/clerk/_slot_choice_form.jinja"


def told_ris(booking: Booking) -> str:
    return ris_outcome(booking)


def _where(booking: Booking) -> str:
    return f"{booking.slot.site.name} on {timezone.localtime(booking.slot.starts_at):%A %-d %B at %H:%M}"


def _viewed(referral: Referral, what: str) -> None:
    record(AuditAction.VIEW, referral, summary=what, patient_id=referral.patient_id)


def _log_contact(form: ContactForm, *, referral: Referral, booking: Booking, what: str) -> None:
    record_contact(
        patient_id=referral.patient_id,
        trust_id=referral.trust_id,
        booking_id=booking.pk,
        what=what,
        contact_method=form.cleaned_data["contact_method"],
        reason=form.cleaned_data.get("reason", ""),
    )


def _patient_page(referral: Referral) -> str:
    return reverse("booking:clerk-patient", args=[referral.patient_id])


def _changed(request: HttpRequest, form: ContactForm, *, referral: Referral, booking: Booking, what: str) -> HttpResponse:
    """After a change: the contact logged, the clerk told what happened (and whether the RIS was),
    and back to the patient's page."""
    _log_contact(form, referral=referral, booking=booking, what=what)
    messages.success(request, f"{what}. {told_ris(booking)}")
    return go_to(request, _patient_page(referral))


def _choice_context(**context: Any) -> dict[str, Any]:
    return {"contact_methods": ContactMethod.choices, **context}


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def book(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    now = timezone.now()
    form = BookSlotForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            booking = confirm_booking(
                referral, form.cleaned_data["slot_id"], actor_user=request.user, channel=CLERK, now=now
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            what = f"Booked {referral.exam_type.name} at {_where(booking)}"
            return _changed(request, form, referral=referral, booking=booking, what=what)
    _viewed(referral, "Clerk opened the booking shortlist")
    context = _choice_context(
        referral=referral,
        form=form,
        form_id=f"book-{referral.pk}",
        action=reverse("booking:clerk-book", args=[referral.pk]),
        shortlist=shortlist_for(request.user, referral, now=now),
        submit_label="Book",
    )
    return page_or_partial(request, "booking/clerk/book.jinja", SLOT_FORM, context, section="find")


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def move(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_or_404(request.user, booking_id)
    if not booking.is_active:
        raise Http404("That appointment is no longer booked")
    referral = booking.referral
    now = timezone.now()
    form = MoveSlotForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            moved = reschedule_booking(
                booking, form.cleaned_data["slot_id"], actor_user=request.user, now=now, channel=CLERK
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            what = f"Moved {referral.exam_type.name} from {_where(booking)} to {_where(moved)}"
            return _changed(request, form, referral=referral, booking=moved, what=what)
    _viewed(referral, "Clerk opened the shortlist to move an appointment")
    context = _choice_context(
        booking=booking,
        referral=referral,
        form=form,
        form_id=f"move-{booking.pk}",
        action=reverse("booking:clerk-move", args=[booking.pk]),
        shortlist=shortlist_for(request.user, referral, now=now, exclude_slot_ids=(booking.slot_id,)),
        submit_label="Move here",
        reason_label="Why does the patient want to move?",
    )
    return page_or_partial(request, "booking/clerk/move.jinja", SLOT_FORM, context, section="find")


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_or_404(request.user, booking_id)
    if not booking.is_active:
        raise Http404("That appointment is no longer booked")
    referral = booking.referral
    form = CancelBookingForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            cancel_booking(
                booking,
                actor_user=request.user,
                reason=form.cleaned_data["reason"],
                contact_method=form.cleaned_data["contact_method"],
                now=timezone.now(),
                cancelled_by=form.cleaned_data["cancelled_by"],
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            what = f"Cancelled {referral.exam_type.name} at {_where(booking)}"
            _log_contact(form, referral=referral, booking=booking, what=what)
            messages.success(request, f"{what}. The slot goes back to the network pool for backfill.")
            return go_to(request, _patient_page(referral))
    _viewed(referral, "Clerk opened the cancellation page")
    context = _choice_context(
        booking=booking,
        referral=referral,
        form=form,
        form_id=f"cancel-{booking.pk}",
        action=reverse("booking:clerk-cancel", args=[booking.pk]),
        reason_label="Why is the appointment being cancelled?",
    )
    return page_or_partial(
        request, "booking/clerk/cancel.jinja", "booking/clerk/_cancel_form.jinja", context, section="find"
    )


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def resolve_conflict(request: HttpRequest, booking_id: int) -> HttpResponse:
    """A RIS refused the booking: rebook into the next best slot in one action (or cancel)."""
    booking = get_booking_or_404(request.user, booking_id)
    referral = booking.referral
    now = timezone.now()
    in_conflict = booking.status == BookingStatus.CONFLICT
    form = BookSlotForm(request.POST if request.method == "POST" else None)
    if form.is_bound and not in_conflict:
        form.is_valid()
        form.add_error(None, "This booking is no longer in conflict: it has already been resolved.")
    elif form.is_bound and form.is_valid():
        try:
            moved = reschedule_booking(
                booking, form.cleaned_data["slot_id"], actor_user=request.user, now=now, channel=CLERK
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            what = f"Rebooked {referral.exam_type.name} after a RIS conflict: now {_where(moved)}"
            return _changed(request, form, referral=referral, booking=moved, what=what)
    _viewed(referral, "Clerk opened a booking in conflict with a RIS")
    context = _choice_context(
        booking=booking,
        referral=referral,
        in_conflict=in_conflict,
        story=conflict_story(booking),
        form=form,
        form_id=f"conflict-{booking.pk}",
        action=reverse("booking:clerk-conflict", args=[booking.pk]),
        shortlist=(
            shortlist_for(request.user, referral, now=now, exclude_slot_ids=(booking.slot_id,), limit=8)
            if in_conflict
            else None
        ),
        submit_label="Rebook here",
        caption="Next best slots",
        reason_label="The patient's reason (optional)",
        cancel_form=CancelBookingForm(),
    )
    return page_or_partial(request, "booking/clerk/conflict.jinja", SLOT_FORM, context, section="worklist")
