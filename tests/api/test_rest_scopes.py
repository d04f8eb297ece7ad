"""What each role sees in the lists, what the API books and cancels, and that all of it is audited."""

from __future__ import annotations

import pytest

from audit.models import AuditAction, AuditEvent
from booking.models import BookingChannel, BookingStatus, OfferStatus
from slots.models import SlotStatus
from tests.factories import BookingFactory, OfferFactory

pytestmark = pytest.mark.django_db


def refs(response) -> set[str]:
    return {row["booking_reference"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("role", "seen"),
    [
        ("clerk", {"WMAPI0001"}),
        ("integration", {"WMAPI0001"}),
        ("other_clerk", {"WMAPI0002"}),
        ("patient", {"WMAPI0001"}),
        ("other_patient", {"WMAPI0002"}),
        ("admin", {"WMAPI0001", "WMAPI0002"}),
    ],
)
def test_each_role_sees_only_its_referrals_offers_and_bookings(
    api, referral, other_referral, qe_slot, coventry_slot, role, seen
):
    OfferFactory(referral=referral, slot=qe_slot, status="sent")
    OfferFactory(referral=other_referral, slot=coventry_slot, status="sent")
    BookingFactory(referral=referral)
    BookingFactory(referral=other_referral)
    client = api(role)
    assert refs(client.get("/api/referrals/")) == seen
    assert refs(client.get("/api/offers/")) == seen
    assert refs(client.get("/api/bookings/")) == seen


def test_clerks_and_patients_search_the_whole_network_pool(api, qe_slot, coventry_slot):
    for role in ("clerk", "other_clerk", "patient", "integration"):
        ids = {row["id"] for row in api(role).get("/api/availability/").json()["results"]}
        assert ids == {qe_slot.pk, coventry_slot.pk}, role


def test_a_referral_shows_the_patient_and_the_wait(api, referral):
    body = api("clerk").get(f"/api/referrals/{referral.pk}/").json()
    assert body["patient"]["nhs_number"] == referral.patient.nhs_number
    assert body["exam"] == {
        "code": "MKNEE",
        "name": "MRI Knee",
        "modality": "MR",
        "duration_minutes": 30,
        "preparation": "No special preparation.",
    }
    assert body["days_waited"] == 28


def test_reading_patient_data_is_audited_with_the_token_user_as_actor(api, referral, clerk):
    api("clerk").get(f"/api/referrals/{referral.pk}/")
    event = AuditEvent.objects.get(
        action=AuditAction.VIEW, object_type="booking.Referral", object_id=str(referral.pk)
    )
    assert (event.actor_id, event.actor_label, event.actor_role, event.patient_id) == (
        clerk.pk,
        "clerk",
        "clerk",
        referral.patient_id,
    )
    api("clerk").get("/api/referrals/")
    listed = AuditEvent.objects.filter(summary="API listed 1 referrals").get()
    assert listed.actor_id == clerk.pk and listed.detail["referral_ids"] == [referral.pk]


def test_booking_goes_through_the_booking_service(api, referral, qe_slot, integration_user):
    response = api("integration").post(
        "/api/bookings/", {"referral": referral.pk, "slot": qe_slot.pk}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["channel"], body["slot"]["id"]) == (
        BookingStatus.CONFIRMED,
        BookingChannel.API,
        qe_slot.pk,
    )
    qe_slot.refresh_from_db()
    referral.refresh_from_db()
    assert qe_slot.status == SlotStatus.BOOKED
    assert referral.status == "booked"
    created = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="booking.Booking")
    assert (created.actor_id, created.actor_label, created.patient_id) == (
        integration_user.pk,
        "uhb-ris",
        referral.patient_id,
    )


def test_a_taken_slot_is_409_with_a_message_for_people(api, referral, other_referral, qe_slot):
    api("admin").post("/api/bookings/", {"referral": other_referral.pk, "slot": qe_slot.pk}, format="json")
    response = api("clerk").post(
        "/api/bookings/", {"referral": referral.pk, "slot": qe_slot.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "SlotUnavailable"


def test_a_slot_for_another_exam_is_refused(api, referral, qe_site):
    from tests.factories import ModalityFactory, SlotFactory

    ct_slot = SlotFactory(site=qe_site, modality=ModalityFactory(code="CT"))
    response = api("clerk").post(
        "/api/bookings/", {"referral": referral.pk, "slot": ct_slot.pk}, format="json"
    )
    assert response.status_code == 409
    assert "different kind of scan" in response.json()["detail"]


def test_cancelling_frees_the_slot_and_records_why(api, booking, clerk):
    response = api("clerk").post(
        f"/api/bookings/{booking.pk}/cancel/",
        {"reason": "Patient moved away", "contact_method": "phone"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == BookingStatus.CANCELLED
    change = booking.status_changes.get(to_status=BookingStatus.CANCELLED)
    assert (change.changed_by_id, change.reason, change.contact_method) == (
        clerk.pk,
        "Patient moved away",
        "phone",
    )
    booking.slot.refresh_from_db()
    assert booking.slot.status == SlotStatus.OPEN
    again = api("clerk").post(f"/api/bookings/{booking.pk}/cancel/", {"reason": "Twice"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "InvalidTransition"


def test_a_patient_cannot_cancel_online_within_the_cutoff(api, booking, settings):
    settings.PATIENT_CHANGE_CUTOFF_HOURS = 24 * 11
    response = api("patient").post(
        f"/api/bookings/{booking.pk}/cancel/", {"reason": "Can't come"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "ChangeTooLate"
    assert (
        api("clerk")
        .post(f"/api/bookings/{booking.pk}/cancel/", {"reason": "Rang"}, format="json")
        .status_code
        == 200
    )


def test_cancelling_needs_a_reason(api, booking):
    response = api("clerk").post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"reason": ["This field is required."]}


def test_accepting_an_offer_books_its_slot_once(api, offer):
    response = api("patient").post(f"/api/offers/{offer.pk}/accept/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["slot"]["id"] == offer.slot_id
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
    assert api("patient").post(f"/api/offers/{offer.pk}/accept/", {}, format="json").status_code == 409


def test_an_expired_offer_cannot_be_accepted(api, offer, frozen_clock):
    import datetime as dt

    frozen_clock.shift(dt.timedelta(hours=3))
    response = api("patient").post(f"/api/offers/{offer.pk}/accept/", {}, format="json")
    assert response.status_code == 409
    offer.refresh_from_db()
    assert offer.status == OfferStatus.SENT


def test_declining_an_offer_is_recorded(api, offer, patient_user):
    response = api("patient").post(f"/api/offers/{offer.pk}/decline/", {"reason": "Too far"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == OfferStatus.DECLINED
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="booking.Offer")
    assert event.actor_id == patient_user.pk and event.detail["reason"] == "Too far"
