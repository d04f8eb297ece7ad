"""The patient's pages: their referral, the choice of site and date, hold, confirm, change."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.models import AuditAction
from audit.trail import record
from booking.forms.patient import ShortNoticeForm
from booking.models import Booking, Offer, OfferStatus, Referral
from booking.presenters import ReferralPresenter
from slots.models import Site

from .access import patient_required
from .presenters import AppointmentView, when


@require_GET
@patient_required
def patient_home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    referrals = [ReferralPresenter(r, now) for r in Referral.objects.visible_to(request.user).order_by("clock_start")]
    bookings = {b.referral_id: AppointmentView(b) for b in Booking.objects.visible_to(request.user).active().select_related("slot__site")}
    offers: dict[int, list] = {}
    for offer in Offer.objects.visible_to(request.user).filter(status=OfferStatus.SENT, expires_at__gt=now).order_by("slot__starts_at"):
        offers.setdefault(offer.referral_id, []).append({"offer": offer, "when": when(offer.slot.starts_at),
                                                         "reply_by": when(offer.expires_at)})
    record(AuditAction.VIEW, request.user.patient, summary="Patient viewed their referrals", patient_id=request.user.patient_id)
    modality_codes = {r.referral.exam_type.modality.code for r in referrals}
    offering = {code: Site.objects.public().offering(code).count() for code in modality_codes}
    return render(request, "booking/patient/home.jinja", {
        "referrals": referrals,
        "bookings": bookings,
        "offers": offers,
        "offering": offering,
        "patient": request.user.patient,
        "short_notice_form": ShortNoticeForm(),
    })
