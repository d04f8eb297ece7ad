"""SIU events from a trust's RIS: slots in and out of the pool, and the hub bookings in them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import Booking, BookingChannel, BookingStatus, ReferralStatus
from booking.services.bookings import cancel_booking, confirm_booking
from booking.signals import slot_freed
from slots.models import Slot, SlotStatus
from tests.factories import ExamTypeFactory, ModalityFactory, PatientFactory, ReferralFactory, SiteFactory
from tests.feeds.conftest import ack_code, make_trust
from tests.feeds.helpers import T0, Feed, apply, sim_patient
from wmin.feeds.models import FeedProfile, InboundMessage, InboundStatus, OutboundMessage
from wmin.feeds.simulator.messages import RisStyle

STARTS = T0 + dt.timedelta(days=7)


@pytest.fixture
def rrk(db):
    trust = make_trust("RRK", ["RRK", "RRK-RIS"], exam_code_map={"CTHEAD": "CHEAD"})
    SiteFactory(code="RRK02", trust=trust, icb=trust.icb, name="Heartlands")
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"), duration_minutes=15)
    return trust


@pytest.fixture
def feed(rrk):
    return Feed(RisStyle("RRK"))


class Signals:
    def __init__(self, signal):
        self.signal, self.calls = signal, []

    def __enter__(self):
        self.signal.connect(self.receive)
        return self

    def __exit__(self, *exc):
        self.signal.disconnect(self.receive)

    def receive(self, sender, **kwargs):
        self.calls.append(kwargs)


def hub_booking(trust, slot_id: str) -> Booking:
    referral = ReferralFactory(trust=trust, exam_type=ExamTypeFactory(code="CHEAD"))
    slot = Slot.objects.get(trust=trust, ris_slot_id=slot_id)
    return confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)


def test_s24_opens_a_pool_slot_on_the_named_scanner(feed):
    ack = apply(feed.siu("S24", "A1", starts_at=STARTS, minutes=20, scanner_id="RRK01-MR1"))
    assert ack.code == "AA"
    slot = Slot.objects.get(ris_slot_id="A1")
    assert (slot.status, slot.pooled, slot.site.code, slot.modality.code) == (SlotStatus.OPEN, True, "RRK01", "MR")
    assert slot.scanner.ris_resource_id == "RRK01-MR1"
    assert (slot.starts_at, slot.duration_minutes, slot.version) == (STARTS, 20, 1)


def test_site_from_ail_and_modality_from_the_exam_map(feed):
    apply(feed.siu("S24", "A2", scanner_id="", site_code="RRK02", exam_code="CTHEAD"))
    slot = Slot.objects.get(ris_slot_id="A2")
    assert (slot.site.code, slot.modality.code, slot.scanner) == ("RRK02", "CT", None)


def test_main_site_when_the_location_is_unknown(feed):
    apply(feed.siu("S24", "A3", scanner_id="", site_code="NOWHERE", exam_code="CHEAD"))
    assert Slot.objects.get(ris_slot_id="A3").site.code == "RRK01"  # the hospital with the scanners


def test_an_exam_nobody_mapped_is_ae_103_and_stored(feed):
    ack = apply(feed.siu("S24", "A4", scanner_id="", exam_code="ZZTOP"))
    assert ack.code == "AE"
    row = InboundMessage.objects.get(pk=ack.message_id)
    assert (row.status, row.error_code) == (InboundStatus.CONTENT_ERROR, "103")
    assert not Slot.objects.filter(ris_slot_id="A4").exists()


def test_s23_blocks_and_a_hub_booking_in_it_goes_into_conflict(feed, rrk):
    apply(feed.siu("S24", "B1"))
    booking = hub_booking(rrk, "B1")
    assert ack_code(apply(feed.siu("S23", "B1")).encoded()) == "AA"
    booking.refresh_from_db()
    slot = Slot.objects.get(ris_slot_id="B1")
    assert (slot.status, slot.pooled, booking.status) == (SlotStatus.BLOCKED, False, BookingStatus.CONFLICT)


def test_s12_for_another_patient_puts_the_hub_booking_into_conflict(feed, rrk):
    apply(feed.siu("S24", "C1"))
    booking = hub_booking(rrk, "C1")
    stranger = sim_patient(PatientFactory())
    apply(feed.siu("S12", "C1", patient=stranger, status="booked"))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFLICT
    assert Slot.objects.get(ris_slot_id="C1").status == SlotStatus.BOOKED


def test_s12_echoing_our_own_booking_is_no_conflict(feed, rrk):
    apply(feed.siu("S24", "C2"))
    booking = hub_booking(rrk, "C2")
    apply(feed.siu("S12", "C2", patient=sim_patient(booking.referral.patient), placer_id=f"WMIN{booking.pk}"))
    booking.refresh_from_db()
    slot = Slot.objects.get(ris_slot_id="C2")
    assert (booking.status, slot.status, slot.pooled) == (BookingStatus.CONFIRMED, SlotStatus.BOOKED, True)


def test_s15_cancels_the_hub_booking_and_frees_the_slot_once(feed, rrk):
    apply(feed.siu("S24", "D1"))
    booking = hub_booking(rrk, "D1")
    outbox_before = OutboundMessage.objects.count()
    with Signals(slot_freed) as freed:
        assert apply(feed.siu("S15", "D1")).code == "AA"
    booking.refresh_from_db()
    slot = Slot.objects.get(ris_slot_id="D1")
    assert booking.status == BookingStatus.CANCELLED
    assert (slot.status, slot.pooled) == (SlotStatus.OPEN, True)
    assert [c["slot_id"] for c in freed.calls] == [slot.pk]
    assert booking.referral.__class__.objects.get(pk=booking.referral_id).status == ReferralStatus.WAITING
    assert OutboundMessage.objects.count() == outbox_before  # the RIS told us: no SRM^S04 back to it


def test_a_late_s15_for_a_replaced_hub_booking_leaves_the_booking_now_in_the_slot(feed, rrk):
    apply(feed.siu("S24", "D3"))
    first = hub_booking(rrk, "D3")
    cancel_booking(first, actor_user=None, reason="Patient rang to change", now=timezone.now(), notify=False)
    second = hub_booking(rrk, "D3")
    # The RIS's cancellation of the first booking arrives after the hub gave the slot to the second.
    ack = apply(feed.siu("S15", "D3", placer_id=f"WMIN{first.pk}"))
    second.refresh_from_db()
    slot = Slot.objects.get(ris_slot_id="D3")
    assert ack.code == "AA" and second.status == BookingStatus.CONFIRMED
    assert (slot.status, slot.pooled) == (SlotStatus.BOOKED, True)  # pooled: the hub's own booking
    stored = InboundMessage.objects.get(pk=ack.message_id)
    assert stored.status == InboundStatus.IGNORED and f"names hub booking WMIN{first.pk}" in stored.error
    # The RIS cancelling the booking now in the slot still cancels it.
    assert apply(feed.siu("S15", "D3", placer_id=f"WMIN{second.pk}")).code == "AA"
    second.refresh_from_db()
    assert second.status == BookingStatus.CANCELLED


def test_s15_of_a_locally_booked_slot_returns_it_to_the_pool(feed):
    apply(feed.siu("S12", "D2", patient=sim_patient(PatientFactory())))
    assert Slot.objects.get(ris_slot_id="D2").pooled is False
    with Signals(slot_freed) as freed:
        apply(feed.siu("S15", "D2"))
    slot = Slot.objects.get(ris_slot_id="D2")
    assert (slot.status, slot.pooled, len(freed.calls)) == (SlotStatus.OPEN, True, 1)


def test_s17_withdraws_and_cancels_without_starting_backfill(feed, rrk):
    apply(feed.siu("S24", "E1"))
    booking = hub_booking(rrk, "E1")
    with Signals(slot_freed) as freed:
        apply(feed.siu("S17", "E1"))
    booking.refresh_from_db()
    slot = Slot.objects.get(ris_slot_id="E1")
    assert (slot.status, slot.pooled, booking.status, freed.calls) == (
        SlotStatus.WITHDRAWN, False, BookingStatus.CANCELLED, []
    )


def test_s16_discontinued_blocks(feed):
    apply(feed.siu("S24", "E2"))
    apply(feed.siu("S16", "E2"))
    assert Slot.objects.get(ris_slot_id="E2").status == SlotStatus.BLOCKED


def test_s26_marks_the_booking_did_not_attend(feed, rrk):
    apply(feed.siu("S24", "F1"))
    booking = hub_booking(rrk, "F1")
    apply(feed.siu("S26", "F1"))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.DID_NOT_ATTEND


def test_s13_moves_the_slot(feed):
    apply(feed.siu("S12", "G1", patient=sim_patient(PatientFactory())))
    later = STARTS + dt.timedelta(hours=3)
    apply(feed.siu("S13", "G1", starts_at=later, minutes=40, scanner_id="RRK01-CT1"))
    slot = Slot.objects.get(ris_slot_id="G1")
    assert (slot.starts_at, slot.duration_minutes, slot.status, slot.version) == (later, 40, SlotStatus.BOOKED, 2)


def test_a_trust_that_releases_slots_by_sch25_status(feed, rrk):
    FeedProfile.objects.filter(trust=rrk).update(
        slot_release_mode="siu_status", status_map={"Free": "open", "Confirmed": "booked", "Held back": "blocked"}
    )
    style = RisStyle("RRK", status_words={"open": "Free", "booked": "Confirmed", "blocked": "Held back"})
    feed = Feed(style)
    apply(feed.siu("S12", "H1", status="open"))
    apply(feed.siu("S14", "H2", status="blocked"))
    apply(feed.siu("S12", "H3", status="booked", patient=sim_patient(PatientFactory())))
    statuses = dict(Slot.objects.filter(ris_slot_id__startswith="H").values_list("ris_slot_id", "status"))
    assert statuses == {"H1": SlotStatus.OPEN, "H2": SlotStatus.BLOCKED, "H3": SlotStatus.BOOKED}


def test_a_local_booking_books_the_patient_waiting_on_the_hub(feed, rrk):
    referral = ReferralFactory(trust=rrk, exam_type=ExamTypeFactory(code="CHEAD"))
    apply(feed.siu("S24", "J1"))
    apply(feed.siu("S12", "J1", patient=sim_patient(referral.patient)))
    referral.refresh_from_db()
    booking = Booking.objects.get(referral=referral)
    assert (booking.channel, booking.status, referral.status) == (
        BookingChannel.RIS, BookingStatus.CONFIRMED, ReferralStatus.BOOKED
    )
    change = referral.status_changes.get()  # booking.services.ris wrote the referral's history too
    assert (change.from_status, change.to_status, change.booking_id) == ("waiting", "booked", booking.pk)
    assert change.actor_label and "RIS" in change.reason
    assert not OutboundMessage.objects.filter(booking=booking).exists()
    apply(feed.siu("S15", "J1"))
    booking.refresh_from_db()
    referral.refresh_from_db()
    assert (booking.status, referral.status) == (BookingStatus.CANCELLED, ReferralStatus.WAITING)


def test_an_older_event_is_recorded_but_changes_nothing(feed):
    apply(feed.siu("S24", "K1", at=T0 + dt.timedelta(hours=2)))
    ack = apply(feed.siu("S23", "K1", at=T0 + dt.timedelta(hours=1)))
    assert ack.code == "AA"
    assert InboundMessage.objects.get(pk=ack.message_id).status == InboundStatus.IGNORED
    slot = Slot.objects.get(ris_slot_id="K1")
    assert (slot.status, slot.version, slot.last_event_at) == (SlotStatus.OPEN, 1, T0 + dt.timedelta(hours=2))
