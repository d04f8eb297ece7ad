"""ORM/OMI orders onto the waiting list and ADT demographics, from a trust's RIS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import (
    BookingChannel,
    BookingStatus,
    Offer,
    OfferSource,
    Patient,
    Priority,
    Referral,
    ReferralStatus,
)
from booking.services.bookings import confirm_booking
from tests.factories import ExamTypeFactory, ModalityFactory, PatientFactory, SlotFactory
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import T0, Feed, apply, sim_patient
from wmin.feeds.handlers.orders import priority_of
from wmin.feeds.models import InboundMessage, OutboundKind, OutboundMessage
from wmin.feeds.simulator.messages import RisStyle, SimPatient


@pytest.fixture
def rrk(db):
    trust = make_trust("RRK", ["RRK"], exam_code_map={"NICIP-CTHEAD": "CHEAD"})
    ct = ModalityFactory(code="CT")
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ct)
    ExamTypeFactory(code="CCHAPC", name="CT Chest abdomen pelvis", modality=ct)
    ExamTypeFactory(code="MKNEE", name="MRI Knee", modality=ModalityFactory(code="MR"))
    return trust


@pytest.fixture
def feed(rrk):
    return Feed(RisStyle("RRK"))


@pytest.fixture
def person():
    return SimPatient("9434765919", "Jones", "Rhian", dt.date(1971, 5, 2), postcode="cv1 2hu", mobile="07700900456")


def test_nw_adds_the_patient_and_the_referral_with_the_clock_at_the_message_time(feed, person):
    sent = T0 - dt.timedelta(days=3)
    ack = apply(feed.orm("NW", "ORD1", person, at=sent, exam_code="NICIP-CTHEAD", priority="2WW", omi=True))
    assert ack.code == "AA", InboundMessage.objects.get(pk=ack.message_id).error
    referral = Referral.objects.get(placer_order_number="ORD1")
    patient = referral.patient
    assert (referral.exam_type.code, referral.priority, referral.status) == ("CHEAD", Priority.CANCER, "waiting")
    assert referral.clock_start == sent
    assert (patient.nhs_number, patient.family_name, patient.postcode, patient.outcode) == (
        "9434765919", "Jones", "CV1 2HU", "CV1"
    )


def test_orc15_sets_the_clock_and_later_changes_never_move_it(feed, person):
    first = T0 - dt.timedelta(days=40)
    apply(feed.orm("NW", "ORD2", person, clock_start=first, priority="R"))
    apply(feed.orm("XO", "ORD2", person, at=T0, exam_code="CCHAPC", priority="S"))
    # The same order sent again as NW under a new id, as some engines do after a restart.
    apply(feed.orm("NW", "ORD2", person, at=T0 + dt.timedelta(hours=1), exam_code="CCHAPC", priority="S"))
    referral = Referral.objects.get(placer_order_number="ORD2")
    assert referral.clock_start == first
    assert (referral.exam_type.code, referral.priority) == ("CCHAPC", Priority.URGENT)


def test_clock_start_is_the_first_nw_not_a_later_xo(feed, person):
    first_nw = T0 - dt.timedelta(days=10)
    apply(feed.orm("NW", "ORD3", person, at=first_nw))
    apply(feed.orm("XO", "ORD3", person, at=T0, priority="SOON"))
    referral = Referral.objects.get(placer_order_number="ORD3")
    assert (referral.clock_start, referral.priority) == (first_nw, Priority.SOON)


def test_ca_removes_the_referral_and_cancels_its_booking_with_an_srm_to_the_ris(feed, person, rrk):
    apply(feed.orm("NW", "ORD4", person))
    referral = Referral.objects.get(placer_order_number="ORD4")
    slot = SlotFactory(site=rrk.sites.first(), modality=referral.exam_type.modality, starts_at=timezone.now() + dt.timedelta(days=5))
    booking = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)
    assert apply(feed.orm("CA", "ORD4", person)).code == "AA"
    booking.refresh_from_db()
    referral.refresh_from_db()
    assert (booking.status, referral.status) == (BookingStatus.CANCELLED, ReferralStatus.REMOVED)
    assert OutboundMessage.objects.filter(booking=booking, kind=OutboundKind.CANCEL).exists()
    assert list(referral.status_changes.values_list("from_status", "to_status", "booking_id")) == [
        ("waiting", "booked", booking.pk), ("booked", "waiting", booking.pk), ("waiting", "removed", booking.pk)
    ]


def test_a_cancel_that_overtakes_its_order_keeps_the_late_order_off_the_list(feed, person):
    apply(feed.orm("CA", "ORD5", person, at=T0 + dt.timedelta(minutes=5)))
    apply(feed.orm("NW", "ORD5", person, at=T0))
    referral = Referral.objects.get(placer_order_number="ORD5")
    assert referral.status == ReferralStatus.REMOVED
    assert list(referral.status_changes.values_list("from_status", "to_status")) == [("waiting", "removed")]


def test_sc_completed_marks_the_referral_scanned(feed, person):
    apply(feed.orm("NW", "ORD6", person))
    text = feed.orm("SC", "ORD6", person).replace(b"|SC||", b"|CM||", 1)
    apply(text)
    referral = Referral.objects.get(placer_order_number="ORD6")
    assert referral.status == ReferralStatus.COMPLETED
    assert referral.status_changes.get().reason == "Order completed in the RIS"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("S", "urgent"), ("stat", "urgent"), ("A", "urgent"), ("Urgent", "urgent"), ("2WW", "cancer"),
     ("Suspected cancer", "cancer"), ("soon", "soon"), ("R", "routine"), ("Routine", "routine"), ("", "routine")],
)
def test_priorities(raw, expected):
    assert priority_of(raw)[0] == expected


def test_an_unknown_order_control_an_unmapped_exam_and_no_nhs_number_are_ae(feed, person):
    odd = apply(feed.orm("ZZ", "ORD7", person))
    unmapped = apply(feed.orm("NW", "ORD8", person, exam_code="LOCAL-999"))
    nameless = apply(feed.orm("NW", "ORD9", SimPatient("", "X", "Y", dt.date(1990, 1, 1))))
    codes = [InboundMessage.objects.get(pk=a.message_id).error_code for a in (odd, unmapped, nameless)]
    assert [a.code for a in (odd, unmapped, nameless)] == ["AE", "AE", "AE"]
    assert codes == ["103", "103", "101"]
    assert not Referral.objects.exists()


def test_adt_a08_updates_a_known_patient_and_ignores_a_stranger(feed):
    patient = PatientFactory(postcode="B15 2TT", outcode="B15")
    moved = sim_patient(patient)
    moved = SimPatient(moved.nhs_number, "Newname", moved.given_name, moved.date_of_birth, postcode="WV1 1AA", mobile="07700900999")
    assert apply(feed.adt("A08", moved)).code == "AA"
    patient.refresh_from_db()
    assert (patient.family_name, patient.postcode, patient.outcode, patient.mobile) == (
        "Newname", "WV1 1AA", "WV1", "07700900999"
    )
    stranger = apply(feed.adt("A31", SimPatient("9434765870", "A", "B", dt.date(1950, 1, 1))))
    assert stranger.code == "AA"
    assert not Patient.objects.filter(nhs_number="9434765870").exists()


def test_an_exam_changed_to_another_modality_puts_the_booking_in_conflict_and_offers_a_slot_for_the_new_exam(
    feed, person, rrk
):
    apply(feed.orm("NW", "ORD9", person))
    referral = Referral.objects.get(placer_order_number="ORD9")
    site = rrk.sites.first()
    start = timezone.now() + dt.timedelta(days=5)
    ct_slot = SlotFactory(site=site, modality=ModalityFactory(code="CT"), starts_at=start)
    mr_slot = SlotFactory(site=site, modality=ModalityFactory(code="MR"), starts_at=start + dt.timedelta(days=1))
    SlotFactory(site=site, modality=ModalityFactory(code="CT"), starts_at=start + dt.timedelta(hours=2))
    booking = confirm_booking(referral, ct_slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)
    assert apply(feed.orm("XO", "ORD9", person, exam_code="MKNEE")).code == "AA"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFLICT
    offer = Offer.objects.get(referral=referral)
    assert (offer.source, offer.slot_id) == (OfferSource.REFUSED, mr_slot.pk)  # for the new exam, not the old
