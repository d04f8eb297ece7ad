"""/fhir/: FHIR R4 (UK Core, BaRS-shaped). No trailing slashes, as FHIR clients expect (one is tolerated)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from . import appointments, metadata, sites, slots
from .base import FHIR_JSON, FhirJSONRenderer
from .outcome import issue, operation_outcome

ID = r"(?P<id>[A-Za-z0-9.\-]{1,64})"

app_name = "fhir"
urlpatterns = [
    re_path(r"^metadata/?$", metadata.Metadata.as_view(), name="metadata"),
    re_path(r"^Slot/?$", slots.SlotSearch.as_view(), name="slots"),
    re_path(rf"^Slot/{ID}/?$", slots.SlotRead.as_view(), name="slot"),
    re_path(rf"^Schedule/{ID}/?$", sites.ScheduleRead.as_view(), name="schedule"),
    re_path(r"^HealthcareService/?$", sites.HealthcareServiceSearch.as_view(), name="healthcare-services"),
    re_path(rf"^HealthcareService/{ID}/?$", sites.HealthcareServiceRead.as_view(), name="healthcare-service"),
    re_path(r"^Location/?$", sites.LocationSearch.as_view(), name="locations"),
    re_path(rf"^Location/{ID}/?$", sites.LocationRead.as_view(), name="location"),
    re_path(r"^Appointment/?$", appointments.AppointmentCreate.as_view(), name="appointments"),
    re_path(rf"^Appointment/{ID}/?$", appointments.AppointmentInstance.as_view(), name="appointment"),
]


@csrf_exempt
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    outcome = operation_outcome([issue("not-supported", f"This server has no /fhir/{rest}", http_status=404)])
    body = FhirJSONRenderer().render(outcome)
    return HttpResponse(body, status=404, content_type=f"{FHIR_JSON}; charset=utf-8")


urlpatterns.append(re_path(r"^(?P<rest>.*)$", unknown))
