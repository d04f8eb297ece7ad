"""Hub → RIS: SRM rows written with the booking, sent over MLLP to a fake RIS until acknowledged."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.db import transaction
from django.utils import timezone

from booking.models import Booking, BookingChannel, BookingStatus
from booking.services.bookings import cancel_booking, confirm_booking, reschedule_booking
from tests.factories import ExamTypeFactory, ModalityFactory, ReferralFactory, SlotFactory
from tests.feeds.conftest import make_trust
from wmin.feeds import outbox, tasks
from wmin.feeds.hl7.outbound import parse_reply, parse_srm
from wmin.feeds.models import FeedProfile, OutboundKind, OutboundMessage, OutboundStatus
from wmin.feeds.simulator.fake_ris import FakeRis, FakeRisThread
from wmin.feeds.simulator.messages import RisStyle


@pytest.fixture
def rrk(db):
    trust = make_trust("RRK", ["RRK"], ris_host="127.0.0.1", ris_port=9, exam_code_map={"CTHEAD-RIS": "CHEAD"})
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"))
    return trust


@pytest.fixture
def slots(rrk):
    site = rrk.sites.get(code="RRK01")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=4)
    ct = ModalityFactory(code="CT")
    return [SlotFactory(site=site, modality=ct, starts_at=start + dt.timedelta(hours=h), ris_slot_id=f"RIS-{h}") for h in range(3)]


@pytest.fixture
def referral(rrk):
    return ReferralFactory(trust=rrk, exam_type=ExamTypeFactory(code="CHEAD"))


def book(referral, slot) -> Booking:
    return confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)


@pytest.fixture
def fake_ris(rrk):
    def running(**options):
        thread = FakeRisThread(FakeRis(RisStyle("RRK"), **options))
        port = thread.start()
        FeedProfile.objects.filter(trust=rrk).update(ris_host="127.0.0.1", ris_port=port)
        started.append(thread)
        return thread.ris

    started: list[FakeRisThread] = []
    yield running
    for thread in started:
        thread.stop()


def test_a_booking_writes_its_srm_s01_in_the_same_transaction(referral, slots):
    booking = book(referral, slots[0])
    row = OutboundMessage.objects.get(booking=booking)
    assert (row.kind, row.status, row.trust.ods_code) == (OutboundKind.BOOK, OutboundStatus.PENDING, "RRK")
    kind, request = parse_srm(row.payload)
    assert (kind, request.filler_appointment_id, request.placer_appointment_id) == ("S01", "RIS-0", f"WMIN{booking.pk}")
    assert request.patient.nhs_number == referral.patient.nhs_number
    assert request.exam.identifier == "CTHEAD-RIS"  # the RIS's own code, from the profile's map


def test_a_booking_rolled_back_leaves_no_outbox_row(referral, slots):
    with pytest.raises(RuntimeError), transaction.atomic():
        book(referral, slots[0])
        assert OutboundMessage.objects.count() == 1
        raise RuntimeError("the request failed after booking")
    assert (Booking.objects.count(), OutboundMessage.objects.count()) == (0, 0)


def test_a_trust_without_srm_gets_a_clerk_task(rrk, referral, slots):
    rrk.accepts_srm = False
    rrk.save()
    booking = book(referral, slots[0])
    assert OutboundMessage.objects.get(booking=booking).status == OutboundStatus.CLERK_TASK


def test_a_reschedule_sends_one_cancel_and_one_booking(referral, slots):
    first = book(referral, slots[0])
    moved = reschedule_booking(first, slots[1].pk, actor_user=None, now=timezone.now(), channel=BookingChannel.CLERK)
    kinds = sorted(OutboundMessage.objects.values_list("booking_id", "kind"))
    assert kinds == sorted([(first.pk, OutboundKind.BOOK), (first.pk, OutboundKind.CANCEL), (moved.pk, OutboundKind.BOOK)])


def test_aa_from_the_ris_marks_the_message_acked(fake_ris, referral, slots):
    ris = fake_ris()
    row = OutboundMessage.objects.get(booking=book(referral, slots[0]))
    assert tasks.send_outbound(row.pk) == OutboundStatus.ACKED
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at is not None) == (OutboundStatus.ACKED, 1, True)
    assert f"|AA|{row.control_id}" in row.ack
    assert [(kind, r.filler_appointment_id) for kind, r in ris.received] == [("S01", "RIS-0")]


def test_ar_from_the_ris_puts_the_booking_into_conflict(fake_ris, referral, slots):
    fake_ris(decide=lambda kind, request: "Slot went locally first")
    booking = book(referral, slots[0])
    row = OutboundMessage.objects.get(booking=booking)
    assert outbox.send(row.pk).status == OutboundStatus.REJECTED
    row.refresh_from_db()
    booking.refresh_from_db()
    assert (row.status, booking.status) == (OutboundStatus.REJECTED, BookingStatus.CONFLICT)
    assert "went locally first" in row.last_error
    assert booking.status_changes.last().actor_label == "RRK RIS"


def test_connection_refused_is_retried_later_then_given_up(rrk, referral, slots):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    FeedProfile.objects.filter(trust=rrk).update(ris_port=port)
    row = OutboundMessage.objects.get(booking=book(referral, slots[0]))
    before = timezone.now()
    result = outbox.send(row.pk)
    row.refresh_from_db()
    assert (result.status, result.retry_in, row.status, row.attempts) == ("pending", 30, OutboundStatus.PENDING, 1)
    assert before + dt.timedelta(seconds=29) < row.next_attempt_at < timezone.now() + dt.timedelta(seconds=31)
    assert "Connection" in row.last_error or "refused" in row.last_error
    assert outbox.send(row.pk).retry_in == 60  # exponential backoff
    OutboundMessage.objects.filter(pk=row.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
    assert outbox.send(row.pk).status == OutboundStatus.FAILED


def test_a_message_claimed_twice_is_sent_once(fake_ris, referral, slots):
    ris = fake_ris()
    row = OutboundMessage.objects.get(booking=book(referral, slots[0]))
    assert outbox.send(row.pk).status == OutboundStatus.ACKED
    assert outbox.send(row.pk).status == "not pending"
    assert len(ris.received) == 1


def test_the_sweep_sends_what_is_due_and_recovers_a_dead_sender(fake_ris, referral, slots, django_capture_on_commit_callbacks):
    ris = fake_ris()
    due = OutboundMessage.objects.get(booking=book(referral, slots[0]))
    other = ReferralFactory(trust=referral.trust, exam_type=referral.exam_type)
    stuck = OutboundMessage.objects.get(booking=book(other, slots[1]))
    past = timezone.now() - dt.timedelta(seconds=1)
    OutboundMessage.objects.filter(pk=due.pk).update(next_attempt_at=past)
    OutboundMessage.objects.filter(pk=stuck.pk).update(status=OutboundStatus.SENDING, next_attempt_at=past)
    assert tasks.send_due_outbound() == 2
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.ACKED}
    assert len(ris.received) == 2


def test_a_cancellation_waits_for_its_booking_to_reach_the_ris(fake_ris, referral, slots):
    ris = fake_ris()
    booking = book(referral, slots[0])
    cancel_booking(booking, actor_user=None, reason="Patient called", now=timezone.now(), notify=False)
    cancel = OutboundMessage.objects.get(booking=booking, kind=OutboundKind.CANCEL)
    assert outbox.send(cancel.pk).retry_in is not None  # the S01 has not gone yet
    book_row = OutboundMessage.objects.get(booking=booking, kind=OutboundKind.BOOK)
    outbox.send(book_row.pk)
    OutboundMessage.objects.filter(pk=cancel.pk).update(next_attempt_at=timezone.now())
    assert outbox.send(cancel.pk).status == OutboundStatus.ACKED
    assert [kind for kind, _ in ris.received] == ["S01", "S04"]


@pytest.mark.django_db(transaction=True)
def test_the_commit_itself_starts_the_send(fake_ris, referral, slots):
    ris = fake_ris()
    booking = book(referral, slots[0])  # autocommit: on_commit runs the (eager) task at once
    row = OutboundMessage.objects.get(booking=booking)
    assert row.status == OutboundStatus.ACKED
    assert len(ris.received) == 1


def test_no_cancellation_is_sent_for_a_booking_the_ris_refused(fake_ris, referral, slots):
    fake_ris(decide=lambda kind, request: "Slot went locally first")
    booking = book(referral, slots[0])
    outbox.send(OutboundMessage.objects.get(booking=booking).pk)
    booking.refresh_from_db()
    cancel_booking(booking, actor_user=None, reason="Rebooked elsewhere", now=timezone.now(), notify=False)
    assert list(OutboundMessage.objects.filter(booking=booking).values_list("kind", flat=True)) == [OutboundKind.BOOK]



def _send_each(rows) -> list[str]:
    for row in rows:
        outbox.send(row.pk)
    return [OutboundMessage.objects.get(pk=row.pk).status for row in rows]


def _answer(ris: FakeRis, srm: str) -> str:
    return parse_reply(ris.answer(srm.encode("utf-8")).decode("utf-8")).code


def test_the_simulated_ris_refuses_a_slot_it_has_booked_itself_or_for_an_earlier_request(fake_ris, rrk, slots):
    ris = fake_ris(booked_locally={"RIS-1"}.__contains__)
    first, second, third = (ReferralFactory(trust=rrk, exam_type=ExamTypeFactory(code="CHEAD")) for _ in range(3))
    taken = book(first, slots[0])
    booked_by_staff = book(second, slots[1])
    assert _send_each(OutboundMessage.objects.filter(booking__in=[taken, booked_by_staff]).order_by("pk")) == [
        OutboundStatus.ACKED, OutboundStatus.REJECTED,
    ]
    assert "already booked" in OutboundMessage.objects.get(booking=booked_by_staff).ack
    # RIS-0 is in the RIS's diary now: the same request again is taken again, another refused.
    srm = OutboundMessage.objects.get(booking=taken).payload
    assert _answer(ris, srm) == "AA"
    assert _answer(ris, srm.replace(f"WMIN{taken.pk}", "WMIN999999")) == "AR"
    cancel_booking(taken, actor_user=None, reason="test", now=timezone.now())
    assert _send_each(OutboundMessage.objects.filter(booking=taken, kind=OutboundKind.CANCEL)) == [OutboundStatus.ACKED]
    assert _send_each(OutboundMessage.objects.filter(booking=book(third, slots[0]))) == [OutboundStatus.ACKED]


def test_the_simulated_ris_refuses_a_seeded_share_as_taken_locally_first(referral, slots):
    srm = OutboundMessage.objects.get(booking=book(referral, slots[0])).payload
    requests = [srm.replace("RIS-0", f"SIM-{n}") for n in range(400)]

    def refused(seed: int) -> list[bool]:
        ris = FakeRis(RisStyle("RRK"), reject_share=0.1, seed=seed)
        return [_answer(ris, request) == "AR" for request in requests]

    first = refused(seed=3)
    assert first == refused(seed=3)  # seeded: the same demo, the same refusals
    assert 0.05 < sum(first) / len(first) < 0.15
