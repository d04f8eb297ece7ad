"""Finding a patient and reading their record (each read audited against the patient)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.forms.clerk import BookSlotForm, ContactMethod, FindPatientForm
from booking.worklist.patient_record import patient_record
from booking.worklist.search import find_patients
from booking.worklist.shortlist import shortlist_for

from .navigation import page, page_or_partial


@require_GET
@require_role(Role.CLERK)
def find_patient(request: HttpRequest) -> HttpResponse:
    searched = bool(request.GET)
    form = FindPatientForm(request.GET if searched else None)
    matches = []
    if searched and form.is_valid():
        matches = find_patients(request.user, form.cleaned_data)
        for match in matches:
            record(
                AuditAction.VIEW,
                object_type="booking.Patient",
                object_id=match.patient_id,
                patient_id=match.patient_id,
                summary=f"Found in a search by {form.search_by.replace('_', ' ')}",
            )
    context = {"form": form, "searched": searched and form.is_valid(), "matches": matches}
    return page_or_partial(
        request, "booking/clerk/find_patient.jinja", "booking/clerk/_find_patient.jinja", context, section="find"
    )


@require_GET
@require_role(Role.CLERK)
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    now = timezone.now()
    patient = patient_record(request.user, patient_id, now=now)
    record(AuditAction.VIEW, patient.patient, summary="Clerk opened the patient's record", patient_id=patient.patient.pk)
    shortlists = {
        r.referral.pk: shortlist_for(request.user, r.referral, now=now) for r in patient.referrals if r.can_book
    }
    context = {
        "record": patient,
        "shortlists": shortlists,
        "book_form": BookSlotForm(),
        "contact_methods": ContactMethod.choices,
        "now": now,
    }
    return page(request, "booking/clerk/patient.jinja", context, section="find")
