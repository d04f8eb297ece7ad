from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.models import Priority, Referral
from booking.presenters import ReferralPresenter, waiting_list_summary

from .navigation import page_or_partial


@require_GET
@require_role(Role.CLERK)
def waiting_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    referrals = Referral.objects.visible_to(request.user).waiting().order_by("clock_start")
    priority = request.GET.get("priority", "")
    if priority in Priority.values:
        referrals = referrals.filter(priority=priority)
    page = Paginator(referrals, 25).get_page(request.GET.get("page"))
    rows = [ReferralPresenter(r, now) for r in page.object_list]
    record(
        AuditAction.VIEW,
        object_type="booking.Referral",
        summary=f"Viewed waiting list page {page.number} ({len(rows)} patients)",
        detail={"referral_ids": [r.referral.pk for r in rows], "patient_ids": [r.referral.patient_id for r in rows]},
    )
    context = {
        "page": page,
        "rows": rows,
        "priority": priority,
        "priorities": Priority.choices,
        "summary": waiting_list_summary(Referral.objects.visible_to(request.user).waiting(), now),
        "trust": request.user.trust,
    }
    return page_or_partial(
        request,
        "booking/clerk/waiting_list.jinja",
        "booking/clerk/_waiting_list_table.jinja",
        context,
        section="waiting-list",
    )
