"""When nothing suits a patient's saved needs: see which need blocks, and relax one with their agreement."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.access import get_referral_or_404
from booking.forms.clerk import ContactMethod, RelaxNeedForm
from booking.services.relaxing import relax_saved_need
from booking.worklist.contacts import record_contact
from booking.worklist.shortlist import shortlist_for

from .navigation import page


@require_http_methods(["GET", "POST"])
@require_role(Role.CLERK)
def relax_need(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    back = _safe_next(request) or reverse("booking:clerk-patient", args=[referral.patient_id])
    shortlist = shortlist_for(request.user, referral, now=timezone.now())
    form = RelaxNeedForm(request.POST if request.method == "POST" else None,
                         needs=[(r.need, r.label) for r in shortlist.relaxations])
    if form.is_bound and form.is_valid():
        chosen = next(r for r in shortlist.relaxations if r.need == form.cleaned_data["need"])
        relax_saved_need(referral, chosen.need, contact_method=form.cleaned_data["contact_method"],
                         reason=form.cleaned_data["reason"])
        what = f"Relaxed the saved need “{chosen.label}” for {referral.exam_type.name}"
        record_contact(patient_id=referral.patient_id, trust_id=referral.trust_id, booking_id=None, what=what,
                       contact_method=form.cleaned_data["contact_method"], reason=form.cleaned_data["reason"])
        messages.success(request, f"{what}. The slots that now suit them are listed.")
        return redirect(back)
    record(AuditAction.VIEW, referral, summary="Clerk opened the needs that block a booking", patient_id=referral.patient_id)
    context = {
        "referral": referral,
        "shortlist": shortlist,
        "form": form,
        "form_id": f"relax-{referral.pk}",
        "contact_methods": ContactMethod.choices,
        "back": back,
    }
    return page(request, "booking/clerk/relax_need.jinja", context, section="find", status=400 if form.errors else 200)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if target.startswith("/clerk/") and not target.startswith("//") else ""
