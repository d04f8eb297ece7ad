"""A freed slot: the backfill's progress and this trust's best candidates, one action to fill it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.access import active_booking_of, get_pool_slot_or_404, get_referral_or_404
from booking.forms.clerk import ContactMethod, FillSlotForm
from booking.models import BookingChannel
from booking.services.bookings import confirm_booking, reschedule_booking
from booking.services.errors import BookingError
from booking.worklist.contacts import record_contact
from booking.worklist.freed import freed_slot_detail

from .bookings import told_ris
from .navigation import go_to, page_or_partial


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def freed_slot(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = get_pool_slot_or_404(request.user, slot_id)
    form = FillSlotForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        referral = get_referral_or_404(request.user, form.cleaned_data["referral_id"])
        now = timezone.now()
        current = active_booking_of(request.user, referral)
        try:
            if current is None:
                booking = confirm_booking(referral, slot.pk, actor_user=request.user, channel=BookingChannel.CLERK, now=now)
            else:
                booking = reschedule_booking(current, slot.pk, actor_user=request.user, now=now, channel=BookingChannel.CLERK)
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            when = timezone.localtime(booking.slot.starts_at)
            what = f"Filled a freed slot: {referral.exam_type.name} at {booking.slot.site.name} on {when:%A %-d %B at %H:%M}"
            record_contact(
                patient_id=referral.patient_id,
                booking_id=booking.pk,
                what=what,
                contact_method=form.cleaned_data["contact_method"],
                reason=form.cleaned_data.get("reason", ""),
            )
            messages.success(request, f"{what}. {told_ris(booking)}")
            return go_to(request, reverse("booking:clerk-patient", args=[referral.patient_id]))
    detail = freed_slot_detail(request.user, slot.pk, now=timezone.now())
    record(
        AuditAction.VIEW,
        object_type="slots.Slot",
        object_id=slot.pk,
        summary=f"Viewed freed slot {slot.pk} and {len(detail.candidates)} candidates",
        detail={"patient_ids": list(detail.patient_ids)},
    )
    return page_or_partial(
        request,
        "booking/clerk/freed_slot.jinja",
        "booking/clerk/_fill_slot_form.jinja",
        {"detail": detail, "form": form, "contact_methods": ContactMethod.choices},
        section="worklist",
    )
