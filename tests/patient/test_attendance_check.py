"""A booking likely to be missed is checked with the patient in time to fill it if they cannot come."""

from datetime import timedelta

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from booking.models import BookingStatus, Notification, OfferStatus
from booking.optimiser.dna_risk import DEFAULT_RATE, dna_probability
from booking.services.attendance import RISK_THRESHOLD, ask_likely_missed_to_confirm
from slots.models import SlotStatus
from tests.factories import BookingFactory, ReferralFactory, SlotFactory

pytestmark = pytest.mark.django_db


def test_a_first_time_patient_gets_the_modality_rate_and_each_missed_appointment_raises_it():
    assert dna_probability(0, 0, 0.05) == pytest.approx(0.05)
    assert dna_probability(0, 0, None) == pytest.approx(DEFAULT_RATE)
    risks = [dna_probability(missed, 4 - missed, 0.05) for missed in range(5)]
    assert risks == sorted(risks) and risks[0] < RISK_THRESHOLD <= risks[1]


def booked_in(referral, site, *, hours: float, now):
    slot = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=now + timedelta(hours=hours),
                       status=SlotStatus.BOOKED)
    return BookingFactory(referral=referral, slot=slot, status=BookingStatus.CONFIRMED)


def missed_before(patient, site, exam, *, times: int, now):
    for n in range(times):
        earlier = ReferralFactory(patient=patient, exam_type=exam, trust=site.trust)
        slot = SlotFactory(site=site, modality=exam.modality, starts_at=now - timedelta(days=30 + n),
                           status=SlotStatus.BOOKED)
        BookingFactory(referral=earlier, slot=slot, status=BookingStatus.DID_NOT_ATTEND)


def attended_before(site, exam, *, times: int, now):
    """Other patients' appointments that took place: the modality's recent history."""
    for n in range(times):
        slot = SlotFactory(site=site, modality=exam.modality, starts_at=now - timedelta(days=10, hours=n),
                           status=SlotStatus.BOOKED)
        BookingFactory(referral=ReferralFactory(exam_type=exam, trust=site.trust), slot=slot,
                       status=BookingStatus.ATTENDED)


def test_only_patients_likely_to_miss_an_appointment_two_to_four_days_ahead_are_asked_once(
    referral, other_referral, site, now
):
    attended_before(site, referral.exam_type, times=40, now=now)
    likely = booked_in(referral, site, hours=60, now=now)
    missed_before(referral.patient, site, referral.exam_type, times=2, now=now)
    first_timer = booked_in(other_referral, site, hours=60, now=now)
    too_soon = booked_in(ReferralFactory(exam_type=referral.exam_type), site, hours=30, now=now)
    missed_before(too_soon.referral.patient, site, referral.exam_type, times=2, now=now)

    assert ask_likely_missed_to_confirm(now) == 1
    assert ask_likely_missed_to_confirm(now) == 0  # once only

    likely.refresh_from_db()
    assert likely.attendance_check_sent_at == now
    assert Notification.objects.filter(patient=referral.patient, template="attendance_check").count() == 1
    assert not Notification.objects.filter(patient=first_timer.referral.patient, template="attendance_check").exists()
    event = AuditEvent.objects.get(object_type="booking.Booking", object_id=str(likely.pk))
    assert event.detail["prior_dnas"] == 2 and event.detail["dna_probability"] >= RISK_THRESHOLD


def test_the_patient_confirms_they_will_come(patient_client, referral, site, now):
    booking = booked_in(referral, site, hours=60, now=now)
    missed_before(referral.patient, site, referral.exam_type, times=2, now=now)
    ask_likely_missed_to_confirm(now)
    page = reverse("booking:patient-booking", args=[referral.pk])
    assert "Can you still come?" in patient_client.get(page).content.decode()

    response = patient_client.post(reverse("booking:patient-attendance", args=[referral.pk]))

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.attendance_confirmed_at is not None
    assert "Can you still come?" not in patient_client.get(page).content.decode()


def test_releasing_the_slot_offers_it_to_someone_waiting(
    patient_client, referral, site, now, django_capture_on_commit_callbacks
):
    booking = booked_in(referral, site, hours=60, now=now)
    missed_before(referral.patient, site, referral.exam_type, times=2, now=now)
    waiting = ReferralFactory(exam_type=referral.exam_type, trust=referral.trust, clock_start=now - timedelta(days=70))
    ask_likely_missed_to_confirm(now)

    with django_capture_on_commit_callbacks(execute=True):
        response = patient_client.post(reverse("booking:patient-cancel", args=[referral.pk]), {"reason": "cannot_make_it"})

    assert response.status_code == 302, response.content.decode()[:500]
    assert waiting.offers.get(slot=booking.slot).status == OfferStatus.SENT
