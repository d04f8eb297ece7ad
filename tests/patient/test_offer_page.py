"""The patient answers an offer of an earlier appointment, with or without JavaScript."""

from datetime import timedelta

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from booking.models import Offer, OfferSource, OfferStatus
from booking.services.offers import send_offer

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_offer(referral, slot, now):
    offer = Offer.objects.create(referral=referral, slot=slot, source=OfferSource.BACKFILL, rank=1,
                                 reason="Nearest CT with a slot this week")
    return send_offer(offer, expires_at=now + timedelta(hours=2), now=now)


def test_the_home_page_shows_an_open_offer_with_a_link_to_answer_it(patient_client, sent_offer):
    body = patient_client.get(reverse("booking:patient-home")).content.decode()
    assert "We can offer you an earlier appointment" in body
    assert reverse("booking:patient-offer", args=[sent_offer.pk]) in body


def test_saying_yes_books_the_appointment(patient_client, sent_offer, referral):
    response = patient_client.post(reverse("booking:patient-offer", args=[sent_offer.pk]), {"answer": "accept"})
    assert response.status_code == 302
    assert response["Location"] == reverse("booking:patient-booking", args=[referral.pk])
    assert referral.bookings.active().get().slot_id == sent_offer.slot_id


def test_saying_no_keeps_the_patient_waiting_and_records_why(patient_client, sent_offer, referral):
    response = patient_client.post(
        reverse("booking:patient-offer", args=[sent_offer.pk]), {"answer": "decline", "reason": "Too far"}
    )
    assert response.status_code == 302
    sent_offer.refresh_from_db()
    assert sent_offer.status == OfferStatus.DECLINED
    assert AuditEvent.objects.filter(object_type="booking.Offer", object_id=str(sent_offer.pk),
                                     detail__reason="Too far").exists()


def test_no_answer_is_shown_back_in_plain_english(patient_client, sent_offer):
    response = patient_client.post(reverse("booking:patient-offer", args=[sent_offer.pk]), {})
    assert response.status_code == 400
    assert "Select yes if you want this appointment" in response.content.decode()


def test_an_answered_offer_cannot_be_answered_again(patient_client, sent_offer):
    url = reverse("booking:patient-offer", args=[sent_offer.pk])
    patient_client.post(url, {"answer": "decline"})
    response = patient_client.post(url, {"answer": "accept"})
    assert response.status_code == 409
    assert "You have already said no to this appointment" in response.content.decode()


def test_a_lapsed_offer_says_it_has_ended(patient_client, sent_offer, now):
    Offer.objects.filter(pk=sent_offer.pk).update(expires_at=now - timedelta(minutes=1))
    response = patient_client.post(reverse("booking:patient-offer", args=[sent_offer.pk]), {"answer": "accept"})
    assert response.status_code == 409
    assert "This offer has ended" in response.content.decode()


@pytest.mark.parametrize("who", ["other_patient", "clerk_client", "manager_client", "anonymous"])
def test_nobody_else_can_answer_the_offer(who, request, sent_offer, client, other_referral):
    from accounts.models import Role
    from tests.conftest import _client_for
    from tests.factories import UserFactory

    if who == "other_patient":
        viewer = _client_for(UserFactory(username="someone-else", role=Role.PATIENT, patient=other_referral.patient))
    elif who == "anonymous":
        viewer = client
    else:
        viewer = request.getfixturevalue(who)
    response = viewer.post(reverse("booking:patient-offer", args=[sent_offer.pk]), {"answer": "accept"})
    assert response.status_code in {302, 403, 404}
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("accounts:patient-sign-in"))
    sent_offer.refresh_from_db()
    assert sent_offer.status == OfferStatus.SENT


def test_the_offer_notice_is_markup_not_escaped_text(patient_client, sent_offer):
    body = patient_client.get(reverse("booking:patient-home")).content.decode()
    assert "&lt;strong&gt;" not in body
    assert "<strong>We can offer you an earlier appointment:</strong>" in body


def test_the_heading_says_earlier_only_to_a_patient_who_has_an_appointment(patient_client, sent_offer, another_slot, now):
    from booking.services.bookings import confirm_booking

    url = reverse("booking:patient-offer", args=[sent_offer.pk])
    assert "<h1>An appointment for your" in patient_client.get(url).content.decode()
    confirm_booking(sent_offer.referral, another_slot.pk, channel="clerk", now=now, notify=False)
    assert "<h1>An earlier appointment for your" in patient_client.get(url).content.decode()
