"""The links in patients' messages: to sign-in, with the booking reference filled in, landing on
the page the message was about. The date of birth is still asked: a link opens nothing by itself."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import Role
from audit.models import AuditAction
from audit.trail import record
from booking.patient_links import BadLink, ExpiredLink, open_link


@require_GET
def patient_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        opened = open_link(token)
    except BadLink:
        raise Http404("No such link") from None
    except ExpiredLink as expired:
        return render(request, "booking/patient/link_expired.jinja", {"sign_in_url": _sign_in(expired.landing_path)})
    referral = opened.referral
    record(AuditAction.VIEW, referral, summary=f"Link in a message opened ({opened.landing})", patient_id=referral.patient_id)
    user = request.user
    if user.is_authenticated and user.role == Role.PATIENT and user.patient_id == referral.patient_id:
        return redirect(opened.landing_path)
    return redirect(_sign_in(opened.landing_path, reference=referral.booking_reference))


def _sign_in(next_path: str, *, reference: str = "") -> str:
    query = {"next": next_path, **({"reference": reference} if reference else {})}
    return f"{reverse('accounts:patient-sign-in')}?{urlencode(query)}"
