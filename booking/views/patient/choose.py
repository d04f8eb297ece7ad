"""Choosing: the ranked list of sites, one site's times, and holding the time the patient picks."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import AuditAction
from audit.trail import record
from booking.access import get_referral_or_404
from booking.forms.patient import ChoiceFiltersForm, HoldForm
from booking.models import Hold, Referral
from booking.presenters import ReferralPresenter
from booking.services import holds
from booking.services.choices import TIMES_OF_DAY, ChoiceFilters, choices_for, slots_at_site
from booking.services.errors import BookingError
from booking.services.patients import ensure_patient_may_change, patient_may_change, save_choice_preferences
from booking.services.relaxing import relaxations
from slots.models import Site, Slot

from .access import active_booking, patient_required
from .presenters import ChoicePage, days_of, filters_query, sites_to_show

CHOICES_PAGE = "booking/patient/choices.jinja"
CHOICES_PARTIAL = "booking/patient/_choices.jinja"  # htmx: a filter changed
NEXT_SITES_PARTIAL = "booking/patient/_next_sites.jinja"  # htmx: "Show more sites"
SITE_LIST_ID = "site-list"
REFUSAL_KEY = "booking.patient.refusal"  # why the last hold or confirm was refused, for the next GET


@require_GET
@patient_required
def choose(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    refusal = request.session.pop(REFUSAL_KEY, None)
    booking_error = refusal["message"] if refusal and refusal.get("referral") == referral.pk else ""
    return choice_page(request, referral, request.GET, booking_error=booking_error)


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


@require_http_methods(["GET", "POST"])
@patient_required
def hold(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = get_referral_or_404(request.user, referral_id)
    if request.method == "GET":  # an address bar or bookmark that kept /hold/: the times are on the choice page
        return HttpResponseRedirect(reverse("booking:patient-choices", kwargs={"referral_id": referral.pk}), status=303)
    filter_data = QueryDict(request.POST.get("filter_query", ""))
    form = HoldForm(request.POST)
    if not form.is_valid():
        return refused(request, referral, form.errors["slot_id"][0], filter_data)
    now = timezone.now()
    try:
        booking = active_booking(request, referral)
        if booking is not None:
            ensure_patient_may_change(booking, now=now)
        held = holds.hold_slot(referral, form.cleaned_data["slot_id"], now=now)
    except BookingError as error:
        return refused(request, referral, error.message, filter_data)
    filters_form = ChoiceFiltersForm(filter_data, saved=ChoiceFilters.saved_for(referral), today=timezone.localdate(now))
    if filters_form.is_bound and filters_form.is_valid():
        save_choice_preferences(referral, filters_form.filters())
    return redirect(confirm_url(referral, held))


def confirm_url(referral: Referral, hold: Hold) -> str:
    """The confirm page for this hold: the address names it, so a tab never shows another hold's time."""
    return reverse("booking:patient-confirm", kwargs={"referral_id": referral.pk}) + f"?hold={hold.pk}"


def refused(request: HttpRequest, referral: Referral, message: str, filter_data: QueryDict | None = None) -> HttpResponse:
    """A hold or confirm was refused: back to the choice page by GET (POST-redirect-GET), which says
    why and shows the next best times, so the address bar never keeps /hold/ or /confirm/ and a
    reload repeats nothing. The patient's filters travel in the address."""
    request.session[REFUSAL_KEY] = {"referral": referral.pk, "message": message}
    url = reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})
    query = _filter_query(filter_data) if filter_data is not None else ""
    return HttpResponseRedirect(f"{url}?{query}#next-best" if query else f"{url}#next-best", status=303)


def choice_page(request: HttpRequest, referral: Referral, data: QueryDict, *, booking_error: str = "") -> HttpResponse:
    """The whole choice page, or just its results (or the next sites) when htmx asks; also where
    booking errors land. `?show=` lists more of the ranked sites, a page at a time."""
    now = timezone.now()
    form = ChoiceFiltersForm(data, saved=ChoiceFilters.saved_for(referral), today=timezone.localdate(now))
    filters = form.filters()
    choices = choices_for(referral, slots=Slot.objects.pool_visible_to(request.user), sites=Site.objects.public(), filters=filters, now=now)
    # Nothing suits everything asked for: what dropping each one thing would open.
    unblock = [] if choices.ranked else relaxations(
        referral, filters, slots=Slot.objects.pool_visible_to(request.user), sites=Site.objects.public(), now=now)
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
        # After a refusal, the time the patient does hold (chosen in another tab, say) if any.
        "held": holds.active_hold(referral, now=now) if booking_error else None,
        "filter_query": filter_query,
        "choose_url": choose_url,
        "more_url": f"{choose_url}?{filter_query}&show={page.next_show}" if filter_query else f"{choose_url}?show={page.next_show}",
        "site_list_id": SITE_LIST_ID,
        "relaxations": [(r, f"{choose_url}?{filters_query(r.filters)}") for r in unblock],
    }
    return render(request, _choice_template(request, booking_error), context)


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
