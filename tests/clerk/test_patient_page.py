"""A patient's record: referrals, bookings and their history, the network shortlist with reasons."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from booking.models import BookingStatus, BookingStatusChange, RisAnswer, RisDelivery, RisMessageKind
from tests.clerk.conftest import make_booking
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


def page(client, patient_id):
    return client.get(reverse("booking:clerk-patient", args=[patient_id]))


def test_shows_referral_and_a_shortlist_across_every_trust_with_reasons(
    clerk_client, waiting, open_slot, other_open_slot
):
    body = page(clerk_client, waiting.patient_id).content.decode()
    assert "CT Head" in body and "WMAMIRA001" in body and "4 weeks" in body
    assert "Queen Elizabeth Hospital" in body and "University Hospital Coventry" in body
    assert "UHCW, another trust" in body
    assert "UHCW&#39;s RIS is sent the booking (HL7 SRM)" in body
    assert "Nearest CT with a slot this week" in body
    assert "2 km from home" in body
    assert f'value="{other_open_slot.pk}"' in body  # each slot is its own Book button


def test_a_trust_without_srm_is_named_as_getting_a_task(clerk_client, waiting, other_open_slot, other_trust):
    other_trust.accepts_srm = False
    other_trust.save()
    body = page(clerk_client, waiting.patient_id).content.decode()
    assert "UHCW&#39;s RIS takes no booking messages: their clerks get a task to book it in" in body


def test_shows_bookings_their_history_and_the_ris_message_status(clerk_client, waiting, other_open_slot, at):
    booking = make_booking(waiting, other_open_slot, channel="clerk")
    BookingStatusChange.objects.create(booking=booking, from_status="confirmed", to_status="conflict",
                                       actor_label="UHCW RIS", reason="Slot taken locally")
    booking.status = BookingStatus.CONFLICT
    booking.save()
    RisDelivery.objects.create(trust=other_open_slot.trust, booking=booking, kind=RisMessageKind.BOOK,
                               message_ref="C1", answer=RisAnswer.REFUSED, created_at=booking.created_at)
    body = page(clerk_client, waiting.patient_id).content.decode()
    assert "Bookings and their history" in body
    assert "Confirmed → In conflict with the trust&#39;s RIS" in body
    assert "Slot taken locally" in body and "UHCW RIS" in body
    assert "latest message: Rejected by the RIS" in body
    assert reverse("booking:clerk-conflict", args=[booking.pk]) in body


def test_reading_the_record_is_audited_against_the_patient(clerk_client, waiting):
    page(clerk_client, waiting.patient_id)
    event = AuditEvent.objects.get(object_type="booking.Patient", action="view")
    assert event.patient_id == waiting.patient_id
    assert event.actor_label == "clerk"


def test_another_trusts_patient_is_not_found(clerk_client, other_patient_referral):
    assert page(clerk_client, other_patient_referral.patient_id).status_code == 404


def test_only_this_trusts_referrals_are_shown(clerk_client, waiting, other_trust, exam):
    ReferralFactory(patient=waiting.patient, trust=other_trust, exam_type=exam, booking_reference="WMELSEWHERE")
    body = page(clerk_client, waiting.patient_id).content.decode()
    assert "WMAMIRA001" in body and "WMELSEWHERE" not in body
