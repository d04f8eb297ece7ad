"""Every FHIR endpoint by every role, with OperationOutcome bodies for every refusal."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import ROLES
from tests.api.fhir_helpers import fhir

pytestmark = pytest.mark.django_db

OWN = {"clerk", "patient", "integration", "admin"}
ISSUE = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 422: "business-rule"}


def expect(own: int, other: int) -> dict[str, int]:
    return {
        "anonymous": 401,
        "manager": 403,
        **{role: own for role in OWN},
        "other_clerk": other,
        "other_patient": other,
    }


def check(response, status: int) -> None:
    body = fhir(response, status)
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["code"] == ISSUE[status]
    if status == 401:
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "url",
    [
        "/fhir/metadata",
        "/fhir/Location/RRK15",
        "/fhir/Location",
        "/fhir/HealthcareService?service-type=MR",
        "/fhir/HealthcareService/RRK15-MR",
        "/fhir/Schedule/RRK15-MR",
    ],
)
def test_the_directory_is_public(api, qe_site, role, url):
    check(api(role).get(url), 200)


@pytest.mark.parametrize("role", ROLES)
def test_slot_search_and_read(api, qe_slot, role):
    check(api(role).get("/fhir/Slot?status=free"), expect(200, 200)[role])
    check(api(role).get(f"/fhir/Slot/{qe_slot.pk}"), expect(200, 200)[role])


@pytest.mark.parametrize("role", ROLES)
def test_book(api, referral, qe_slot, role):
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{qe_slot.pk}"}],
        "basedOn": [
            {"identifier": {"system": "https://wmin.nhs.uk/Id/booking-reference", "value": "WMAPI0001"}}
        ],
        "participant": [
            {
                "actor": {
                    "identifier": {
                        "system": "https://fhir.nhs.uk/Id/nhs-number",
                        "value": referral.patient.nhs_number,
                    }
                },
                "status": "accepted",
            }
        ],
    }
    response = api(role).post("/fhir/Appointment", json.dumps(body), content_type="application/fhir+json")
    check(response, expect(201, 422)[role])


@pytest.mark.parametrize("role", ROLES)
def test_read_an_appointment(api, booking, role):
    check(api(role).get(f"/fhir/Appointment/{booking.pk}"), expect(200, 404)[role])


@pytest.mark.parametrize("role", ROLES)
def test_cancel_an_appointment(api, booking, role):
    patch = json.dumps([{"op": "replace", "path": "/status", "value": "cancelled"}])
    response = api(role).patch(
        f"/fhir/Appointment/{booking.pk}", patch, content_type="application/json-patch+json"
    )
    check(response, expect(200, 404)[role])


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/fhir/Slot"),
        ("delete", "/fhir/Appointment/{booking}"),
        ("get", "/fhir/Appointment"),
        ("put", "/fhir/Location/RRK15"),
    ],
)
def test_wrong_method_is_405(api, booking, method, url):
    check(getattr(api("clerk"), method)(url.format(booking=booking.pk)), 405)
