from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from booking.presenters import ReferralPresenter
from wmin.accounts.models import Role
from wmin.accounts.roles import require_role
from wmin.accounts.scope import referrals_for, sites
from wmin.audit.models import AuditAction
from wmin.audit.trail import record


@require_GET
@require_role(Role.PATIENT)
def patient_home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    referrals = [ReferralPresenter(r, now) for r in referrals_for(request.user).order_by("clock_start")]
    record(AuditAction.VIEW, request.user.patient, summary="Patient viewed their referrals", patient_id=request.user.patient_id)
    modality_codes = {r.referral.exam_type.modality.code for r in referrals}
    offering = {code: sites().offering(code).count() for code in modality_codes}
    return render(request, "booking/patient/home.jinja", {"referrals": referrals, "offering": offering})
