"""The clerk's home: the worklist, newest first, filtered by kind in place."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.roles import require_role
from audit.models import AuditAction
from audit.trail import record
from booking.worklist import ItemKind, build_worklist, count_by_kind, with_candidates

from .navigation import page_or_partial

PAGE_SIZE = 20


@require_GET
@require_role(Role.CLERK)
def clerk_home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    kind = request.GET.get("kind", "")
    chosen = ItemKind(kind) if kind in ItemKind._value2member_map_ else None
    everything = build_worklist(request.user, now=now)
    items = [item for item in everything if chosen is None or item.kind == chosen]
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = with_candidates(request.user, list(page.object_list), now=now)
    patient_ids = sorted({pid for item in shown for pid in item.patient_ids})
    record(
        AuditAction.VIEW,
        object_type="booking.Worklist",
        summary=f"Viewed worklist page {page.number} ({len(shown)} items, {len(patient_ids)} patients)",
        detail={"kind": kind, "patient_ids": patient_ids},
    )
    context = {
        "page": page,
        "items": shown,
        "kind": chosen.value if chosen else "",
        "kinds": list(ItemKind),
        "counts": count_by_kind(everything),
        "total": len(everything),
        "trust": request.user.trust,
        "now": now,
    }
    return page_or_partial(
        request, "booking/clerk/worklist.jinja", "booking/clerk/_worklist.jinja", context, section="worklist"
    )
