"""GET /fhir/Slot: search the network pool (BaRS-style), and read one slot.

GET /fhir/Slot?service-type=MR&status=free&start=ge2026-12-01&start=lt2026-12-15
    &schedule.actor:HealthcareService.location.near=52.48|-1.89|10|km
    &_include=Slot:schedule&_include:iterate=Schedule:actor:HealthcareService
    &_include:iterate=HealthcareService:location
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from slots.models import Site, Slot, SlotQuerySet, SlotStatus

from ..nearby import sites_within
from . import directory, shapes
from .base import FhirView, fhir_response
from .bundles import page_of, searchset
from .outcome import FhirError
from .search import SearchParams, date_filter, include_set, invalid, near, reference_id, tokens

SLOT_STATUSES = ("free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error")
NEAR = "schedule.actor:HealthcareService.location.near"
SERVICE = "schedule.actor:HealthcareService"
LOCATION = "schedule.actor:HealthcareService.location"


def _status_filter(code: str, now: datetime) -> Q:
    held = Q(hold__isnull=False) & Q(hold__expires_at__gt=now)
    match code:
        case "free":
            return Q(status=SlotStatus.OPEN, starts_at__gt=now) & ~held
        case "busy":
            return Q(status=SlotStatus.BOOKED)
        case "busy-unavailable":
            return Q(status__in=[SlotStatus.BLOCKED, SlotStatus.WITHDRAWN])
        case "busy-tentative":
            return Q(status=SlotStatus.HELD) | (Q(status=SlotStatus.OPEN) & held)
        case _:
            return Q(pk__in=[])


def _pairs_filter(ids: list[str], resource_type: str, param: str) -> Q:
    """Schedule and HealthcareService ids are both '<site code>-<modality code>'."""
    query = Q(pk__in=[])
    for raw in ids:
        site_code, _, modality_code = reference_id(raw, resource_type, param).rpartition("-")
        query |= Q(site__code=site_code, modality__code=modality_code)
    return query


def search_slots(params: SearchParams, user: Any, now: datetime) -> SlotQuerySet:
    slots = Slot.objects.pool_visible_to(user).select_related("site__trust", "modality", "hold")
    slots = slots.filter(directory.service_type_filter(params.values("service-type")))
    for raw in params.values("start"):
        slots = slots.filter(date_filter("starts_at", raw, "start"))
    for raw in params.values("status"):
        codes = [code for _, code in tokens([raw])[0]]
        if unknown := [code for code in codes if code not in SLOT_STATUSES]:
            raise invalid(
                "status", f"unknown slot status {', '.join(unknown)}; use {', '.join(SLOT_STATUSES)}"
            )
        either = Q(pk__in=[])
        for code in codes:
            either |= _status_filter(code, now)
        slots = slots.filter(either)
    for raw in params.values("schedule"):
        slots = slots.filter(_pairs_filter(raw.split(","), "Schedule", "schedule"))
    for raw in params.values(SERVICE):
        slots = slots.filter(_pairs_filter(raw.split(","), "HealthcareService", SERVICE))
    for raw in params.values(LOCATION):
        codes = [reference_id(value, "Location", LOCATION) for value in raw.split(",")]
        slots = slots.filter(site__code__in=codes)
    for raw in params.values(NEAR):
        distances = sites_within(Site.objects.public(), near(raw, NEAR))
        slots = slots.filter(site_id__in=list(distances))
    return slots.order_by("starts_at", "pk")


def included(rows: list[Any], wanted: set[str]) -> list[dict[str, Any]]:
    pairs = directory.pairs_for_slots(rows)
    resources: list[dict[str, Any]] = []
    if "Slot:schedule" in wanted:
        resources += [shapes.schedule(site, modality) for site, modality in pairs]
    if wanted & {"Schedule:actor:HealthcareService", "Schedule:actor"}:
        resources += [shapes.healthcare_service(site, modality) for site, modality in pairs]
    if wanted & {"HealthcareService:location", "Schedule:actor:Location", "Schedule:actor"}:
        seen = {}
        for site, _ in pairs:
            seen.setdefault(site.pk, site)
        resources += [shapes.location(site) for site in seen.values()]
    return resources


class SlotSearch(FhirView):
    def get(self, request: Request) -> Response:
        now = timezone.now()
        params = SearchParams(request)
        count, page = params.count(), params.page()
        slots = search_slots(params, request.user, now)
        wanted = include_set(params)
        ignored = params.check_unknown()
        total = slots.count()
        rows = page_of(slots, page=page, count=count)
        bundle = searchset(
            request,
            [shapes.slot(row, now=now) for row in rows],
            total=total,
            page=page,
            count=count,
            included=included(rows, wanted),
            ignored=ignored,
        )
        return fhir_response(bundle)


class SlotRead(FhirView):
    def get(self, request: Request, id: str) -> Response:
        row = (
            Slot.objects.pool_visible_to(request.user)
            .select_related("site__trust", "modality", "hold")
            .filter(pk=_int_id(id, "Slot"))
            .first()
        )
        if row is None:
            raise FhirError(404, "not-found", f"Slot/{id} is not a pool slot you may see")
        return fhir_response(shapes.validated(shapes.slot(row, now=timezone.now())))


def _int_id(value: str, resource_type: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise FhirError(404, "not-found", f"{resource_type}/{value} does not exist")
    return int(value)
