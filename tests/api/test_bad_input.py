"""Whatever a client sends, the REST API answers 400/413/415 in JSON and FHIR an OperationOutcome:
never a 500, never an HTML page (issue 17, item 7)."""

from __future__ import annotations

import json

import pytest

from tests.api.fhir_helpers import outcome
from wmin.api.parsers import MAX_DEPTH

pytestmark = pytest.mark.django_db

TOO_DEEP = "[" * 50_000 + "]" * 50_000
JUST_TOO_DEEP = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)


def _rest_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("body", [TOO_DEEP, JUST_TOO_DEEP, '{"referral": NaN, "slot": 1}'])
def test_a_hostile_json_body_is_a_400_in_json(api, referral, body):
    body = _rest_error(api("clerk").generic("POST", "/api/bookings/", body, content_type="application/json"), 400)
    assert body["detail"]


def test_an_over_size_rest_body_is_a_413_in_json(api, referral):
    big = json.dumps({"referral": referral.pk, "slot": 1, "padding": "x" * 3_000_000})
    body = _rest_error(api("clerk").generic("POST", "/api/bookings/", big, content_type="application/json"), 413)
    assert "larger than" in body["detail"]


def test_another_media_type_is_a_415_in_json(api, referral):
    response = api("clerk").generic("POST", "/api/bookings/", "referral=1&slot=1", content_type="application/x-www-form-urlencoded")
    _rest_error(response, 415)


def test_a_token_header_that_is_not_ascii_is_a_401_in_json(client):
    response = client.get("/api/referrals/", HTTP_AUTHORIZATION="Token caf\u00e9".encode().decode("latin-1"))
    _rest_error(response, 401)


def test_a_session_post_without_csrf_is_a_403_in_json(clerk, referral):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(clerk, backend="django.contrib.auth.backends.ModelBackend")
    response = browser.post("/api/bookings/", {"referral": referral.pk, "slot": 1}, content_type="application/json")
    _rest_error(response, 403)


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "99999999999999999999"])
def test_a_count_that_is_not_plain_digits_is_a_400_outcome(api, qe_slot, value):
    outcome(api("clerk").get("/fhir/Slot", {"_count": value}), 400, "invalid")


@pytest.mark.parametrize("body", [TOO_DEEP, JUST_TOO_DEEP])
def test_a_deeply_nested_fhir_body_is_a_400_outcome(api, referral, body):
    response = api("clerk").generic("POST", "/fhir/Appointment", body, content_type="application/fhir+json")
    outcome(response, 400, "structure")


def test_an_over_size_fhir_body_is_a_413_outcome(api, referral):
    big = json.dumps({"resourceType": "Appointment", "comment": "x" * 3_000_000})
    outcome(api("clerk").generic("POST", "/fhir/Appointment", big, content_type="application/fhir+json"), 413, "too-long")


def test_a_slot_reference_with_odd_digits_is_a_400_outcome(api, referral):
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": "Slot/\u00b2"}],
        "participant": [{"actor": {"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}}, "status": "accepted"}],
    }
    response = api("clerk").generic("POST", "/fhir/Appointment", json.dumps(appointment), content_type="application/fhir+json")
    outcome(response, 400, "value")


@pytest.mark.parametrize("request_id", ["x" * 37, "a b", "id\u00e9", "<script>"])
def test_an_unsafe_request_id_is_replaced(api, qe_site, request_id):
    response = api("anonymous").get("/api/sites/", HTTP_X_REQUEST_ID=request_id.encode().decode("latin-1"))
    assert response.status_code == 200
    assert response["X-Request-ID"] != request_id
    assert len(response["X-Request-ID"]) == 36


def test_a_plain_request_id_is_kept(api, qe_site):
    response = api("anonymous").get("/api/sites/", HTTP_X_REQUEST_ID="trust-ris-0001")
    assert response["X-Request-ID"] == "trust-ris-0001"


def test_an_audited_request_with_a_long_request_id_is_stored_not_refused(api, referral):
    """306 characters used to reach the 36-character audit column: a 500 on PostgreSQL."""
    from audit.models import AuditEvent

    response = api("clerk").get("/api/referrals/", HTTP_X_REQUEST_ID="r" * 306)
    assert response.status_code == 200
    event = AuditEvent.objects.filter(object_type="booking.Referral").latest("pk")
    assert event.request_id == response["X-Request-ID"] and len(event.request_id) == 36
