"""FHIR Appointment: book a pool slot, read, cancel (PUT or JSON Patch); OperationOutcome on error."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditAction, AuditEvent
from booking.models import Booking, BookingChannel, BookingStatus
from slots.models import SlotStatus
from tests.api.fhir_helpers import fhir, outcome

pytestmark = pytest.mark.django_db

NHS = "https://fhir.nhs.uk/Id/nhs-number"
REFERENCE = "https://wmin.nhs.uk/Id/booking-reference"


def appointment(slot_id: int, nhs_number: str, reference: str = "WMAPI0001", **changes) -> dict:
    resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "basedOn": [{"identifier": {"system": REFERENCE, "value": reference}}],
        "participant": [
            {"actor": {"identifier": {"system": NHS, "value": nhs_number}}, "status": "accepted"}
        ],
    }
    resource.update(changes)
    return resource


def post(client, body, content_type="application/fhir+json"):
    return client.post("/fhir/Appointment", json.dumps(body), content_type=content_type)


def test_booking_a_slot_through_fhir_uses_the_booking_service(api, referral, qe_slot, integration_user):
    response = post(api("integration"), appointment(qe_slot.pk, referral.patient.nhs_number))
    body = fhir(response, 201)
    booking = Booking.objects.get()
    assert (booking.channel, booking.status, booking.created_by_id) == (
        BookingChannel.API,
        BookingStatus.CONFIRMED,
        integration_user.pk,
    )
    assert response["Location"] == f"http://testserver/fhir/Appointment/{booking.pk}"
    assert body["id"] == str(booking.pk) and body["status"] == "booked"
    assert body["slot"] == [{"reference": f"Slot/{qe_slot.pk}"}]
    assert body["basedOn"][0]["identifier"] == {"system": REFERENCE, "value": "WMAPI0001"}
    assert body["participant"][0]["actor"]["identifier"] == {
        "system": NHS,
        "value": referral.patient.nhs_number,
    }
    assert (body["start"], body["end"], body["minutesDuration"]) == (
        "2026-11-30T09:00:00Z",
        "2026-11-30T09:30:00Z",
        30,
    )
    qe_slot.refresh_from_db()
    assert qe_slot.status == SlotStatus.BOOKED
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="booking.Booking")
    assert (event.actor_id, event.patient_id) == (integration_user.pk, referral.patient_id)


def test_the_referral_may_be_a_service_request_reference(api, referral, qe_slot):
    body = appointment(
        qe_slot.pk, referral.patient.nhs_number, basedOn=[{"reference": f"ServiceRequest/{referral.pk}"}]
    )
    fhir(post(api("clerk"), body), 201)


def test_plain_json_is_accepted_too(api, referral, qe_slot):
    fhir(post(api("clerk"), appointment(qe_slot.pk, referral.patient.nhs_number), "application/json"), 201)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json at all", 400, "structure"),
        ({"resourceType": "Patient"}, 400, "structure"),
        ({"resourceType": "Appointment", "status": "booked", "participant": "nobody"}, 400, "structure"),
        (
            {
                "resourceType": "Appointment",
                "status": "booked",
                "participant": [{"status": "accepted"}],
                "colour": "red",
            },
            400,
            "structure",
        ),
        (
            {"resourceType": "Appointment", "status": "booked", "participant": [{"status": "accepted"}]},
            400,
            "required",
        ),
    ],
)
def test_an_invalid_appointment_is_a_400_operation_outcome(api, referral, body, status, code):
    raw = body if isinstance(body, str) else json.dumps(body)
    outcome(api("clerk").post("/fhir/Appointment", raw, content_type="application/fhir+json"), status, code)


@pytest.mark.parametrize(
    ("change", "status", "code", "expression"),
    [
        ({"status": "fulfilled"}, 422, "business-rule", "Appointment.status"),
        ({"slot": []}, 400, "required", "Appointment.slot"),
        ({"slot": [{"reference": "Location/RRK15"}]}, 400, "value", "Appointment.slot[0].reference"),
        ({"basedOn": None}, 400, "required", "Appointment.basedOn"),
        (
            {"participant": [{"actor": {"reference": "Patient/1"}, "status": "accepted"}]},
            400,
            "required",
            "Appointment.participant",
        ),
        (
            {"start": "2026-12-25T09:00:00Z", "end": "2026-12-25T09:30:00Z"},
            422,
            "business-rule",
            "Appointment.start",
        ),
    ],
)
def test_appointment_business_rules(api, referral, qe_slot, change, status, code, expression):
    body = {
        k: v
        for k, v in {**appointment(qe_slot.pk, referral.patient.nhs_number), **change}.items()
        if v is not None
    }
    result = outcome(post(api("clerk"), body), status, code)
    assert result["issue"][0]["expression"] == [expression]
    assert not Booking.objects.exists()


def test_the_nhs_number_must_be_the_referrals_patients(api, referral, qe_slot):
    result = outcome(post(api("clerk"), appointment(qe_slot.pk, "9434765919")), 422, "business-rule")
    assert "NHS number" in result["issue"][0]["diagnostics"]


def test_another_trusts_referral_is_not_bookable(api, other_referral, qe_slot):
    outcome(
        post(api("clerk"), appointment(qe_slot.pk, other_referral.patient.nhs_number, "WMAPI0002")),
        422,
        "business-rule",
    )


def test_a_taken_slot_is_a_409_conflict(api, referral, other_referral, qe_slot):
    fhir(post(api("admin"), appointment(qe_slot.pk, other_referral.patient.nhs_number, "WMAPI0002")), 201)
    result = outcome(
        post(api("clerk"), appointment(qe_slot.pk, referral.patient.nhs_number)), 409, "conflict"
    )
    assert result["issue"][0]["details"]["coding"][0]["code"] == "REC_CONFLICT"


def test_read_is_audited(api, booking, clerk):
    body = fhir(api("clerk").get(f"/fhir/Appointment/{booking.pk}"))
    assert body["status"] == "booked"
    event = AuditEvent.objects.get(action=AuditAction.VIEW, object_type="booking.Booking")
    assert (event.actor_id, event.patient_id) == (clerk.pk, booking.referral.patient_id)


def test_cancel_with_put(api, booking, clerk):
    current = fhir(api("clerk").get(f"/fhir/Appointment/{booking.pk}"))
    current.update(status="cancelled", cancelationReason={"text": "Patient unwell"})
    body = fhir(
        api("clerk").put(
            f"/fhir/Appointment/{booking.pk}", json.dumps(current), content_type="application/fhir+json"
        )
    )
    assert body["status"] == "cancelled" and body["cancelationReason"] == {"text": "Patient unwell"}
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    change = booking.status_changes.get(to_status=BookingStatus.CANCELLED)
    assert (change.changed_by_id, change.reason) == (clerk.pk, "Patient unwell")
    # Idempotent: the same PUT again changes nothing.
    fhir(
        api("clerk").put(
            f"/fhir/Appointment/{booking.pk}", json.dumps(current), content_type="application/fhir+json"
        )
    )


def test_cancel_with_json_patch(api, booking):
    patch = [
        {"op": "test", "path": "/status", "value": "booked"},
        {"op": "replace", "path": "/status", "value": "cancelled"},
    ]
    body = fhir(
        api("patient").patch(
            f"/fhir/Appointment/{booking.pk}", json.dumps(patch), content_type="application/json-patch+json"
        )
    )
    assert body["status"] == "cancelled"
    booking.slot.refresh_from_db()
    assert booking.slot.status == SlotStatus.OPEN


@pytest.mark.parametrize(
    ("patch", "status", "code"),
    [
        ([{"op": "replace", "path": "/start", "value": "2026-12-01T09:00:00Z"}], 422, "not-supported"),
        ([{"op": "replace", "path": "/status", "value": "noshow"}], 422, "business-rule"),
        (
            [
                {"op": "test", "path": "/status", "value": "pending"},
                {"op": "replace", "path": "/status", "value": "cancelled"},
            ],
            409,
            "conflict",
        ),
        ([{"op": "move", "path": "/status", "from": "/x"}], 422, "not-supported"),
        ({"status": "cancelled"}, 400, "structure"),
        ([{"op": "replace", "path": "/status", "value": 7}], 400, "structure"),
    ],
)
def test_patches_we_do_not_accept(api, booking, patch, status, code):
    response = api("clerk").patch(
        f"/fhir/Appointment/{booking.pk}", json.dumps(patch), content_type="application/json-patch+json"
    )
    outcome(response, status, code)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_put_with_another_id_is_refused(api, booking):
    current = fhir(api("clerk").get(f"/fhir/Appointment/{booking.pk}"))
    current.update(id="999", status="cancelled")
    outcome(
        api("clerk").put(
            f"/fhir/Appointment/{booking.pk}", json.dumps(current), content_type="application/fhir+json"
        ),
        400,
        "invalid",
    )


def test_unsupported_media_type(api, booking):
    response = api("clerk").post("/fhir/Appointment", "<Appointment/>", content_type="application/fhir+xml")
    outcome(response, 415, "not-supported")
