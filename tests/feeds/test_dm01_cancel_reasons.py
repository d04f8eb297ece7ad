"""HL7 cancellations say who cancelled through the trust's feed profile: an S15 whose SCH-6 reason
the profile maps to the patient restarts the DM01 clock; an unknown reason is the hospital's (the
patient is never penalised by a guess); an S26 (did not attend) is the patient's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from booking.models import BookingChannel, BookingStatus, CancelledBy, Dm01ClockRestart
from booking.services.bookings import confirm_booking
from slots.models import Slot
from tests.factories import ExamTypeFactory, ModalityFactory, ReferralFactory
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import T0, Feed, apply
from wmin.feeds.models import FeedProfile
from wmin.feeds.simulator.messages import RisStyle

REFERRED = T0 - dt.timedelta(days=40)


@pytest.fixture
def rrk(db):
    trust = make_trust("RRK", ["RRK"], cancel_reason_map={"PC": "patient", "HC": "hospital"})
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"), dm01_test="ct")
    return trust


@pytest.fixture
def feed(rrk):
    return Feed(RisStyle("RRK"))


def booked(feed, trust, slot_id: str):
    apply(feed.siu("S24", slot_id))
    referral = ReferralFactory(trust=trust, exam_type=ExamTypeFactory(code="CHEAD"), clock_start=REFERRED)
    slot = Slot.objects.get(trust=trust, ris_slot_id=slot_id)
    return confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)


def test_s15_with_a_reason_mapped_to_the_patient_restarts_the_clock(feed, rrk):
    booking = booked(feed, rrk, "C1")
    assert apply(feed.siu("S15", "C1", event_reason="PC^Patient cancelled")).code == "AA"
    booking.refresh_from_db()
    assert (booking.status, booking.cancelled_by) == (BookingStatus.CANCELLED, CancelledBy.PATIENT)
    restart = Dm01ClockRestart.objects.get(booking=booking)
    referral = booking.referral
    referral.refresh_from_db()
    assert (restart.event, restart.cancelled_by) == ("patient_cancelled", "patient")
    assert referral.clock_start == REFERRED and referral.dm01_clock_start == restart.restarted_from > REFERRED


@pytest.mark.parametrize("reason", ["ZZ^Something the profile does not list", "HC", ""])
def test_s15_with_an_unknown_or_hospital_reason_is_the_hospital(feed, rrk, reason):
    booking = booked(feed, rrk, "C2")
    apply(feed.siu("S15", "C2", event_reason=reason))
    booking.refresh_from_db()
    booking.referral.refresh_from_db()
    assert (booking.status, booking.cancelled_by) == (BookingStatus.CANCELLED, CancelledBy.HOSPITAL)
    assert booking.referral.dm01_clock_start == REFERRED
    assert not Dm01ClockRestart.objects.exists()


def test_s26_did_not_attend_restarts_from_the_missed_appointment(feed, rrk):
    booking = booked(feed, rrk, "C3")
    apply(feed.siu("S26", "C3"))
    booking.refresh_from_db()
    booking.referral.refresh_from_db()
    assert booking.status == BookingStatus.DID_NOT_ATTEND
    assert booking.referral.dm01_clock_start == booking.slot.starts_at
    assert Dm01ClockRestart.objects.get(booking=booking).event == "did_not_attend"


def test_s15_for_the_patient_at_a_trust_that_does_not_restart(feed, rrk):
    rrk.dm01_restart_on_patient_cancel = False
    rrk.save()
    booking = booked(feed, rrk, "C4")
    apply(feed.siu("S15", "C4", event_reason="PC"))
    booking.refresh_from_db()
    booking.referral.refresh_from_db()
    assert booking.cancelled_by == CancelledBy.PATIENT
    assert booking.referral.dm01_clock_start == REFERRED


def test_the_profile_map_takes_only_patient_or_hospital(rrk):
    profile = FeedProfile.objects.get(trust=rrk)
    profile.cancel_reason_map = {"PC": "the patient"}
    with pytest.raises(ValidationError):
        profile.full_clean()
    assert profile.cancelled_by("pc ") == "hospital"  # an unusable value is never read as the patient
