"""GET /fhir/metadata: the CapabilityStatement, so a client can discover what this server does."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from . import shapes, systems
from .base import FhirView, fhir_response

RELEASED = "2026-11-23"


def _param(name: str, kind: str, documentation: str) -> dict[str, str]:
    return {"name": name, "type": kind, "documentation": documentation}


COUNT = _param("_count", "number", "Page size, 1 to 100 (default 50)")
PAGE = _param("_page", "number", "Page number, from 1; follow the Bundle's next link")


def capability_statement(base_url: str) -> dict[str, Any]:
    def resource(
        kind: str, interactions: list[str], params: list[dict[str, str]] = (), **extra: Any
    ) -> dict[str, Any]:  # type: ignore[assignment]
        entry: dict[str, Any] = {
            "type": kind,
            "profile": systems.profile(kind)["profile"][0],
            "interaction": [{"code": code} for code in interactions],
        }
        if params:
            entry["searchParam"] = [*params, COUNT, PAGE]
        entry.update(extra)
        return entry

    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": RELEASED,
        "publisher": "West Midlands Imaging Network",
        "kind": "instance",
        "implementation": {"description": "WMIN imaging booking hub FHIR API", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "UK Core profiles; Booking and Referral Standard (BaRS) shaped slot search and booking. "
                    "Errors are OperationOutcomes whose issue.details use " + systems.HTTP_ERROR_CODES + ". "
                    "Unknown search parameters are ignored and reported unless Prefer: handling=strict."
                ),
                "security": {
                    "service": [{"text": "Token"}],
                    "description": "Authorization: Token <key>, issued by an administrator with scopes (read; "
                    "book, for creating Appointments; cancel, for cancelling them), a trust and an expiry. "
                    "Slots and Appointments follow the caller's role scope; sites are public.",
                },
                "resource": [
                    resource(
                        "Slot",
                        ["search-type", "read"],
                        [
                            _param(
                                "service-type", "token", "Modality: our code (MR), DICOM (MR) or SNOMED CT"
                            ),
                            _param("start", "date", "Prefixes eq ne gt lt ge le sa eb; repeat for a range"),
                            _param("status", "token", "free | busy | busy-unavailable | busy-tentative"),
                            _param("schedule", "reference", "Schedule/<site code>-<modality>"),
                            _param("schedule.actor:HealthcareService", "reference", "HealthcareService id"),
                            _param(
                                "schedule.actor:HealthcareService.location",
                                "reference",
                                "Location (site code)",
                            ),
                            _param(
                                "schedule.actor:HealthcareService.location.near",
                                "special",
                                "lat|lon|distance|km",
                            ),
                        ],
                        searchInclude=[
                            "Slot:schedule",
                            "Schedule:actor:HealthcareService",
                            "HealthcareService:location",
                        ],
                    ),
                    resource("Schedule", ["read"]),
                    resource(
                        "HealthcareService",
                        ["search-type", "read"],
                        [
                            _param("service-type", "token", "Modality"),
                            _param("location", "reference", "Location/<site code>"),
                            _param("location.near", "special", "lat|lon|distance|km"),
                            _param("organization", "reference", "The trust's ODS code"),
                            _param("_id", "token", "<site code>-<modality>"),
                        ],
                        searchInclude=["HealthcareService:location"],
                    ),
                    resource(
                        "Location",
                        ["search-type", "read"],
                        [
                            _param("identifier", "token", f"{systems.ODS_SITE_CODE}|<code>"),
                            _param("near", "special", "lat|lon|distance|km"),
                            _param("name", "string", "Part of the site's name"),
                            _param("_id", "token", "Site code"),
                        ],
                    ),
                    resource("Appointment", ["create", "read", "update", "patch"]),
                ],
            }
        ],
    }
    return shapes.validated(statement)


class Metadata(FhirView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return fhir_response(capability_statement(request.build_absolute_uri("/fhir/")))
