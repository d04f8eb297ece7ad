"""A hub booking waits for the trust's RIS: its SRR/ACK over a real MLLP socket confirms it, or refuses
it and the patient is offered the next best slot at once; booking keeps what the RIS said."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Notification,
    Offer,
    OfferSource,
    OfferStatus,
    ReferralStatus,
    RisAnswer,
    RisDelivery,
)
from booking.services.bookings import confirm_booking
from booking.services.offers import accept_offer
from booking.worklist.build import conflicts, ris_tasks
from slots.models import SlotStatus
from tests.factories import (
    ExamTypeFactory,
    ModalityFactory,
    PatientFactory,
    ReferralFactory,
    SlotFactory,
    UserFactory,
)
from tests.feeds.conftest import make_trust
from wmin.feeds import outbox
from wmin.feeds.models import FeedProfile, OutboundKind, OutboundMessage, OutboundStatus
from wmin.feeds.simulator.fake_ris import FakeRis, FakeRisThread
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db


@pytest.fixture
def rrk(db):
    trust = make_trust("RRK", ["RRK"], ris_host="127.0.0.1", ris_port=9)
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"))
    return trust


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def slots(rrk, now):
    site = rrk.sites.get(code="RRK01")
    ct = ModalityFactory(code="CT")
    start = now + dt.timedelta(days=4)
    return [SlotFactory(site=site, modality=ct, starts_at=start + dt.timedelta(days=d), ris_slot_id=f"RIS-{d}") for d in range(3)]


@pytest.fixture
def referral(rrk):
    patient = PatientFactory(email="amira@example.org", postcode="B15 2TH", outcode="B15")
    return ReferralFactory(trust=rrk, patient=patient, exam_type=ExamTypeFactory(code="CHEAD"))


@pytest.fixture
def fake_ris(rrk):
    started: list[FakeRisThread] = []

    def running(**options):
        thread = FakeRisThread(FakeRis(RisStyle("RRK"), **options))
        port = thread.start()
        FeedProfile.objects.filter(trust=rrk).update(ris_port=port)
        started.append(thread)
        return thread.ris

    yield running
    for thread in started:
        thread.stop()


def book(referral, slot, now) -> Booking:
    return confirm_booking(referral, slot.pk, channel=BookingChannel.PATIENT, now=now, require_hold=False)


def history(booking):
    return list(booking.status_changes.order_by("pk").values_list("from_status", "to_status"))


def test_a_hub_booking_waits_for_the_ris_and_its_aa_confirms_it(fake_ris, referral, slots, now):
    fake_ris()
    booking = book(referral, slots[0], now)
    assert booking.status == BookingStatus.PENDING_RIS
    message = Notification.objects.get(patient=referral.patient, template="booking_confirmed")
    assert message.personalisation["waiting_for_hospital"] is True  # told at once, in those words
    row = OutboundMessage.objects.get(booking=booking, kind=OutboundKind.BOOK)
    assert RisDelivery.objects.get(message_ref=row.control_id).answer == RisAnswer.WAITING

    assert outbox.send(row.pk).status == OutboundStatus.ACKED  # over the socket: the fake RIS says AA
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert history(booking) == [("", BookingStatus.PENDING_RIS), (BookingStatus.PENDING_RIS, BookingStatus.CONFIRMED)]
    assert booking.status_changes.last().actor_label == "RRK RIS"
    assert RisDelivery.objects.get(message_ref=row.control_id).answer == RisAnswer.ACCEPTED


def test_a_refused_srm_reoffers_the_patient_the_next_best_slot_at_once(fake_ris, rrk, referral, slots, now):
    ris = fake_ris(decide=lambda kind, request: "Slot already booked locally" if request.filler_appointment_id == "RIS-0" else None)
    booking = book(referral, slots[0], now)
    row = OutboundMessage.objects.get(booking=booking)

    assert outbox.send(row.pk, now=now).status == OutboundStatus.REJECTED  # AR over the socket
    booking.refresh_from_db()
    slots[0].refresh_from_db()
    assert booking.status == BookingStatus.CONFLICT
    assert history(booking)[-1] == (BookingStatus.PENDING_RIS, BookingStatus.CONFLICT)
    assert "Slot already booked locally" in booking.status_changes.last().reason
    assert (slots[0].status, slots[0].pooled) == (SlotStatus.BLOCKED, False)  # the RIS has it: out of the pool
    # The patient is offered the next best slot, in one message that says what happened
    offer = Offer.objects.get(referral=referral)
    assert (offer.source, offer.status, offer.slot_id) == (OfferSource.REFUSED, OfferStatus.SENT, slots[1].pk)
    message = Notification.objects.filter(patient=referral.patient).latest("pk")
    assert message.template == "booking_refused" and message.personalisation["offered"] is True
    # The clerk sees the conflict with what the RIS said, read from booking's own rows
    clerk = UserFactory(role=Role.CLERK, trust=rrk)
    item = next(i for i in conflicts(clerk, now=now) if i.booking_id == booking.pk)
    assert "Slot already booked locally" in item.ris_said
    assert "The hub has offered the patient RRK General" in item.next_step

    # Accepting moves the patient: the refused booking is cancelled (no SRM^S04 for what the RIS
    # never took), the new one waits for the RIS, and the RIS accepts it.
    moved = accept_offer(offer, actor_user=None, channel=BookingChannel.OFFER, now=now)
    booking.refresh_from_db()
    assert (booking.status, moved.status, moved.slot_id) == (BookingStatus.CANCELLED, BookingStatus.PENDING_RIS, slots[1].pk)
    assert not OutboundMessage.objects.filter(booking=booking, kind=OutboundKind.CANCEL).exists()
    assert outbox.send(OutboundMessage.objects.get(booking=moved).pk, now=now).status == OutboundStatus.ACKED
    moved.refresh_from_db()
    assert moved.status == BookingStatus.CONFIRMED
    assert [kind for kind, _ in ris.received] == ["S01", "S01"]
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.BOOKED


def test_a_refusal_with_no_other_slot_tells_the_patient_the_team_will_call(fake_ris, rrk, referral, slots, now):
    fake_ris(decide=lambda kind, request: "Slot already booked locally")
    for other in slots[1:]:
        other.status = SlotStatus.BLOCKED
        other.save()
    booking = book(referral, slots[0], now)
    outbox.send(OutboundMessage.objects.get(booking=booking).pk, now=now)
    assert not Offer.objects.filter(referral=referral).exists()
    message = Notification.objects.filter(patient=referral.patient).latest("pk")
    assert message.template == "booking_refused" and message.personalisation["offered"] is False
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFLICT


def test_a_trust_without_srm_books_at_once_and_its_clerks_get_a_task(rrk, referral, slots, now):
    rrk.accepts_srm = False
    rrk.save()
    booking = book(referral, slots[0], now)
    assert booking.status == BookingStatus.CONFIRMED
    assert history(booking) == [("", BookingStatus.CONFIRMED)]
    assert RisDelivery.objects.get(booking=booking).answer == RisAnswer.CLERK_TASK
    clerk = UserFactory(role=Role.CLERK, trust=rrk)
    assert [item.booking.booking_id for item in ris_tasks(clerk, now=now)] == [booking.pk]


def test_a_profile_without_a_ris_address_means_no_waiting(rrk, referral, slots, now):
    profile = FeedProfile.objects.get(trust=rrk)
    profile.ris_host = ""
    profile.save()
    rrk.refresh_from_db()
    assert not rrk.takes_srm
    assert book(referral, slots[0], now).status == BookingStatus.CONFIRMED
    profile.ris_host = "127.0.0.1"
    profile.save()
    rrk.refresh_from_db()
    assert rrk.takes_srm


def test_a_bulk_update_of_profiles_keeps_each_trusts_srm_connection_in_step(rrk, referral, slots, now):
    FeedProfile.objects.filter(trust=rrk).update(active=False)
    rrk.refresh_from_db()
    assert not rrk.takes_srm
    assert book(referral, slots[0], now).status == BookingStatus.CONFIRMED  # nothing to wait for
    FeedProfile.objects.filter(trust=rrk).update(active=True)
    rrk.refresh_from_db()
    assert rrk.takes_srm
    FeedProfile.objects.filter(trust=rrk).update(ris_port=None)
    rrk.refresh_from_db()
    assert not rrk.takes_srm
    FeedProfile.objects.filter(trust=rrk).update(allowed_hosts=["10.0.0.0/8"], ris_port=2575)
    rrk.refresh_from_db()
    assert rrk.takes_srm
