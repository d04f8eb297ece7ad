"""Choosing: the ranked list of sites, one site's times, and holding the time the patient picks."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditAction
from audit.trail import record
from booking.access import get_referral_or_404
from booking.forms.patient import ChoiceFiltersForm, HoldForm
from booking.models import Referral
from booking.presenters import ReferralPresenter
from booking.services import holds
from booking.services.choices import TIMES_OF_DAY, ChoiceFilters, choices_for, slots_at_site
from booking.services.errors import BookingError
from booking.services.patients import ensure_patient_may_change, patient_may_change, save_choice_preferences
from slots.models import Site, Slot

from .access import active_booking, patient_required
from .presenters import ChoicePage, days_of, sites_to_show

CHOICES_PAGE = "booking/patient/choices.jinja"
CHOICES_PARTIAL = "booking/patient/_choices.jinja"  # htmx: a filter changed
NEXT_SITES_PARTIAL = "booking/patient/_next_sites.jinja"  # htmx: "Show more sites"
SITE_LIST_ID = "site-list"


@require_GET
@patient_required
def choose(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    return choice_page(request, referral, request.GET)


@require_GET
@patient_required
def site_times(request: HttpRequest, referral_id: int, site_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    site = Site.objects.public().filter(pk=site_id, scanners__modality_id=referral.exam_type.modality_id).first()
    if site is None:
        raise Http404("No such site for this scan")
    now = timezone.now()
    form = ChoiceFiltersForm(request.GET, saved=ChoiceFilters.saved_for(referral), today=timezone.localdate(now))
    after = _parse_after(request.GET.get("after", ""))
    times = slots_at_site(referral, site.pk, slots=Slot.objects.pool_visible_to(request.user), filters=form.filters(), now=now, after=after)
    record(AuditAction.VIEW, referral, summary=f"Patient viewed times at {site.name}", patient_id=referral.patient_id)
    return render(request, "booking/patient/site_times.jinja", {
        "referral": referral,
        "site": site,
        "days": days_of(times),
        "later": times[-1].starts_at.isoformat() if len(times) >= 30 else "",
        "filter_query": _filter_query(request.GET),
    })


@require_POST
@patient_required
def hold(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    filter_data = QueryDict(request.POST.get("filter_query", ""))
    form = HoldForm(request.POST)
    if not form.is_valid():
        return choice_page(request, referral, filter_data, booking_error=form.errors["slot_id"][0], status=400)
    now = timezone.now()
    try:
        booking = active_booking(request, referral)
        if booking is not None:
            ensure_patient_may_change(booking, now=now)
        holds.hold_slot(referral, form.cleaned_data["slot_id"], now=now)
    except BookingError as error:
        return choice_page(request, referral, filter_data, booking_error=error.message, status=409)
    filters_form = ChoiceFiltersForm(filter_data, saved=ChoiceFilters.saved_for(referral), today=timezone.localdate(now))
    if filters_form.is_bound and filters_form.is_valid():
        save_choice_preferences(referral, filters_form.filters())
    return redirect("booking:patient-confirm", referral_id=referral.pk)


def choice_page(
    request: HttpRequest, referral: Referral, data: QueryDict, *, booking_error: str = "", status: int = 200
) -> HttpResponse:
    """The whole choice page, or just its results (or the next sites) when htmx asks; also where
    booking errors land. `?show=` lists more of the ranked sites, a page at a time."""
    now = timezone.now()
    form = ChoiceFiltersForm(data, saved=ChoiceFilters.saved_for(referral), today=timezone.localdate(now))
    filters = form.filters()
    choices = choices_for(referral, slots=Slot.objects.pool_visible_to(request.user), sites=Site.objects.public(), filters=filters, now=now)
    booking = active_booking(request, referral) if referral.status == "booked" else None
    record(AuditAction.VIEW, referral, summary="Patient viewed their choice of sites", patient_id=referral.patient_id)
    page = ChoicePage(choices, filters.travel_mode, now, sites_to_show(data.get("show")))
    filter_query = _filter_query(data)
    choose_url = reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})
    context = {
        "referral": referral,
        "waiting": ReferralPresenter(referral, now),
        "form": form,
        "times_of_day": TIMES_OF_DAY,
        "page": page,
        "booking": booking,
        "can_change": booking is None or patient_may_change(booking, now=now),
        "booking_error": booking_error,
        "filter_query": filter_query,
        "choose_url": choose_url,
        "more_url": f"{choose_url}?{filter_query}&show={page.next_show}" if filter_query else f"{choose_url}?show={page.next_show}",
        "site_list_id": SITE_LIST_ID,
    }
    return render(request, _choice_template(request, booking_error), context, status=status)


def _choice_template(request: HttpRequest, booking_error: str) -> str:
    if not request.htmx or booking_error:
        return CHOICES_PAGE
    return NEXT_SITES_PARTIAL if request.htmx.target == SITE_LIST_ID else CHOICES_PARTIAL


def _filter_query(data: QueryDict) -> str:
    names = ("filtered", "travel_mode", "time_of_day", "max_travel_km", "needs", "unavailable_dates", "work_postcode")
    kept = QueryDict(mutable=True)
    for name in names:
        values = data.getlist(name)
        if values:
            kept.setlist(name, values)
    return kept.urlencode()


def _parse_after(text: str) -> datetime | None:
    try:
        moment = parse_datetime(text) if text else None
    except ValueError:
        return None
    return moment if moment is not None and timezone.is_aware(moment) else None
