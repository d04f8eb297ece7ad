"""Sites as FHIR: Location (one per site), HealthcareService and Schedule (one per site and modality).

Public, like the site directory pages; rate-limited per address.
"""

from __future__ import annotations

from django.db.models import Q
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from slots.models import Site

from ..nearby import sites_within
from . import directory, shapes, systems
from .base import FhirView, fhir_response
from .bundles import page_of, searchset
from .outcome import FhirError
from .search import SearchParams, include_set, near, reference_id, tokens


class PublicFhirView(FhirView):
    permission_classes = [AllowAny]


def _not_found(resource_type: str, id: str) -> FhirError:
    return FhirError(404, "not-found", f"{resource_type}/{id} does not exist")


class LocationRead(PublicFhirView):
    def get(self, request: Request, id: str) -> Response:
        site = directory.site(id)
        if site is None:
            raise _not_found("Location", id)
        return fhir_response(shapes.location(site))


class LocationSearch(PublicFhirView):
    """?identifier=https://fhir.nhs.uk/Id/ods-site-code|RRK15, ?near=52.48|-1.89|10|km, ?name=…"""

    def get(self, request: Request) -> Response:
        params = SearchParams(request)
        count, page = params.count(), params.page()
        found = Site.objects.public().order_by("code")
        for raw in params.values("identifier"):
            either = Q(pk__in=[])
            for system, code in tokens([raw])[0]:
                if system in (None, "", systems.ODS_SITE_CODE, systems.WMIN_SITE_CODE):
                    either |= Q(code__iexact=code)
            found = found.filter(either)
        for raw in params.values("_id"):
            found = found.filter(code__in=raw.split(","))
        for raw in params.values("name"):
            found = found.filter(name__icontains=raw)
        for raw in params.values("near"):
            found = found.filter(pk__in=list(sites_within(Site.objects.public(), near(raw, "near"))))
        ignored = params.check_unknown()
        rows = page_of(found, page=page, count=count)
        bundle = searchset(
            request,
            [shapes.location(site) for site in rows],
            total=found.count(),
            page=page,
            count=count,
            ignored=ignored,
        )
        return fhir_response(bundle)


class HealthcareServiceRead(PublicFhirView):
    def get(self, request: Request, id: str) -> Response:
        pair = directory.pair(id)
        if pair is None:
            raise _not_found("HealthcareService", id)
        return fhir_response(shapes.healthcare_service(*pair))


class HealthcareServiceSearch(PublicFhirView):
    """?service-type=MR, ?location=Location/RRK15, ?location.near=52.48|-1.89|10|km, ?organization=RRK"""

    def get(self, request: Request) -> Response:
        params = SearchParams(request)
        count, page = params.count(), params.page()
        scanners = directory.service_type_filter(params.values("service-type"))
        for raw in params.values("location"):
            scanners &= Q(site__code__in=[reference_id(v, "Location", "location") for v in raw.split(",")])
        for raw in params.values("location.near"):
            scanners &= Q(site_id__in=list(sites_within(Site.objects.public(), near(raw, "location.near"))))
        for raw in params.values("organization"):
            scanners &= Q(
                site__trust__ods_code__in=[
                    reference_id(v, "Organization", "organization") for v in raw.split(",")
                ]
            )
        for raw in params.values("_id"):
            either = Q(pk__in=[])
            for value in raw.split(","):
                site_code, _, modality_code = value.rpartition("-")
                either |= Q(site__code=site_code, modality__code=modality_code)
            scanners &= either
        wanted = include_set(params)
        ignored = params.check_unknown()
        pairs = directory.pairs(scanners)
        rows = page_of(pairs, page=page, count=count)
        included = []
        if "HealthcareService:location" in wanted:
            included = [shapes.location(site) for site in {site.pk: site for site, _ in rows}.values()]
        bundle = searchset(
            request,
            [shapes.healthcare_service(site, modality) for site, modality in rows],
            total=len(pairs),
            page=page,
            count=count,
            included=included,
            ignored=ignored,
        )
        return fhir_response(bundle)


class ScheduleRead(PublicFhirView):
    def get(self, request: Request, id: str) -> Response:
        pair = directory.pair(id)
        if pair is None:
            raise _not_found("Schedule", id)
        return fhir_response(shapes.schedule(*pair))
