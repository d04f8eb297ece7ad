"""An offer of an earlier appointment (a freed slot, or the network's proposal): yes or no."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.models import AuditAction
from audit.trail import record
from booking.forms.patient import OfferAnswerForm
from booking.models import BookingChannel, Offer, OfferStatus
from booking.services.errors import BookingError
from booking.services.offers import accept_offer, decline_offer

from .access import patient_required
from .presenters import when


@require_http_methods(["GET", "POST"])
@patient_required
def offer(request: HttpRequest, offer_id: int) -> HttpResponse:
    found = Offer.objects.visible_to(request.user).select_related("referral__exam_type").filter(pk=offer_id).first()
    if found is None:
        raise Http404("No such offer")
    now = timezone.now()
    referral = found.referral
    answerable = found.status == OfferStatus.SENT and found.expires_at is not None and found.expires_at > now
    form = OfferAnswerForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and answerable and form.is_valid():
        try:
            if form.accepted:
                accept_offer(found, actor_user=request.user, channel=BookingChannel.OFFER, now=now)
                messages.success(request, "Your appointment is booked")
                return redirect("booking:patient-booking", referral_id=referral.pk)
            decline_offer(found, actor_user=request.user, reason=form.cleaned_data["reason"], now=now)
            messages.info(request, "You said no to that appointment. You are still on the waiting list.")
            return redirect("booking:patient-home")
        except BookingError as exc:
            error = exc.message
            answerable = False
    if request.method == "GET":
        record(AuditAction.VIEW, found, summary=f"Patient viewed offer {found.pk}", patient_id=referral.patient_id)
    status = 409 if error or (request.method == "POST" and not answerable) else (400 if form.errors else 200)
    return render(request, "booking/patient/offer.jinja", {
        "offer": found,
        "referral": referral,
        "form": form,
        "answerable": answerable,
        "error": error or ("" if answerable or request.method == "GET" else _closed_message(found.status)),
        "when": when(found.slot.starts_at),
        "reply_by": when(found.expires_at) if found.expires_at else "",
        "has_appointment": referral.bookings.active().exists(),
    }, status=status)


def _closed_message(status: str) -> str:
    if status == OfferStatus.ACCEPTED:
        return "You have already accepted this appointment."
    if status == OfferStatus.DECLINED:
        return "You have already said no to this appointment."
    return "This offer has ended. The appointment may have gone to someone else, or the time to reply has passed."
