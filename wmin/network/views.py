"""Network managers' pages: aggregates only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from wmin.accounts.models import Role
from wmin.accounts.roles import require_role
from wmin.accounts.scope import sites

from .waits import network_totals, waits_by


@require_GET
@require_role(Role.MANAGER, Role.ADMIN)
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "totals": network_totals(now),
        "by_icb": waits_by("trust__icb__code", "trust__icb__name", now),
        "by_trust": waits_by("trust__ods_code", "trust__short_name", now),
        "by_modality": waits_by("exam_type__modality__code", "exam_type__modality__name", now),
        "site_count": sites().count(),
        "cdc_count": sites().cdcs().count(),
    }
    return render(request, "network/overview.jinja", context)
