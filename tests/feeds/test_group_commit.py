"""Frames that arrive together on several connections share their commits and lose nothing."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections

from booking.models import Booking, BookingChannel, BookingStatus, Referral, ReferralStatus
from booking.services.bookings import confirm_booking
from booking.signals import slot_freed
from slots.models import Modality, Slot, SlotStatus, Trust
from tests.factories import ExamTypeFactory, ReferralFactory
from tests.feeds.conftest import MllpClient, ack_code, ack_field, make_trust, running_listener
from tests.feeds.helpers import Feed, sim_patient
from wmin.feeds.ingest import apply_together
from wmin.feeds.models import InboundMessage, InboundStatus
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)
PEER = "127.0.0.1:5000"
T0_SLOT = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def feed(transactional_db):
    make_trust("RRK", ["RRK"])
    return Feed(RisStyle("RRK"))


class Statements:
    """The SQL statements run."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        for statement in sql.split("; "):  # some go in one round trip with the next
            self.sql.append(" ".join(statement.replace('"', "").split()))
        return execute(sql, params, many, context)

    def count(self, verb: str, table: str) -> int:
        where = {"SELECT": f"FROM {table} ", "INSERT": f"INTO {table} ", "UPDATE": f"UPDATE {table} "}[verb]
        return sum(sql.startswith(verb) and where in sql + " " for sql in self.sql)


def together(*payloads: bytes) -> list[bytes | None]:
    """The replies, in order, as the listener gives them: the group's, then each frame it left."""
    replies, leftovers = apply_together([(payload, PEER) for payload in payloads])
    for index, answer in leftovers:
        replies[index] = answer()
    return [replies[index] for index in range(len(payloads))]


def test_a_group_is_stored_with_one_insert_and_answered_with_one_update(feed):
    payloads = [feed.siu("S24", f"G{n}") for n in range(6)]
    statements = Statements()
    with connection.execute_wrapper(statements):
        replies = together(*payloads)
    assert [ack_code(r) for r in replies] == ["AA"] * 6
    assert statements.count("INSERT", "feeds_inboundmessage") == 1
    assert statements.count("UPDATE", "feeds_inboundmessage") == 1
    assert set(Slot.objects.filter(ris_slot_id__startswith="G").values_list("status", flat=True)) == {SlotStatus.OPEN}
    rows = InboundMessage.objects.filter(control_id__in=feed.sent)
    assert sorted(rows.values_list("status", flat=True)) == [InboundStatus.APPLIED] * 6
    assert all(row.ack and row.applied_at for row in rows)


def test_replies_come_back_in_the_order_the_frames_came(feed):
    payloads = [feed.siu("S24", f"O{n}") for n in range(5)]
    replies = together(*payloads)
    assert [ack_field(r, "MSA", 2) for r in replies] == feed.sent


def test_a_content_error_in_a_group_is_answered_ae_and_the_rest_still_apply(feed):
    good = [feed.siu("S24", f"E{n}") for n in range(3)]
    bad = feed.siu("S24", "EBAD", scanner_id="", exam_code="ZZTOP")
    replies = together(good[0], bad, good[1], good[2])
    assert [ack_code(r) for r in replies] == ["AA", "AE", "AA", "AA"]
    assert Slot.objects.filter(ris_slot_id__in=["E0", "E1", "E2"]).count() == 3
    assert not Slot.objects.filter(ris_slot_id="EBAD").exists()
    row = InboundMessage.objects.get(control_id=feed.sent[3])
    assert (row.status, row.error_code) == (InboundStatus.CONTENT_ERROR, "103")


def test_the_same_message_twice_in_a_group_is_applied_once_and_answered_alike(feed):
    payload = feed.siu("S24", "TWICE")
    first, second = together(payload, payload)
    assert first == second and ack_code(first) == "AA"
    row = InboundMessage.objects.get(control_id=feed.sent[-1])
    assert (row.attempts, Slot.objects.get(ris_slot_id="TWICE").version) == (2, 1)


def test_a_message_stored_earlier_gets_its_first_ack_and_changes_nothing(feed):
    payload = feed.siu("S24", "AGAIN")
    (original,) = together(payload)
    fresh = feed.siu("S24", "NEW")
    again, new = together(payload, fresh)
    assert again == original
    assert ack_code(new) == "AA"
    assert Slot.objects.get(ris_slot_id="AGAIN").version == 1


def test_frames_a_group_cannot_take_are_stored_and_answered_on_their_own(feed):
    unknown = Feed(RisStyle("NOBODY")).siu("S24", "U1")
    garbage = b"this is not HL7 at all"
    no_control_id = feed.siu("S24", "NC1").replace(feed.sent[-1].encode(), b"", 1)
    good = feed.siu("S24", "OK1")
    replies = together(unknown, garbage, no_control_id, good)
    assert [ack_code(r) for r in replies] == ["AR", "AR", "AE", "AA"]  # MSH-10 is required
    assert InboundMessage.objects.filter(raw=garbage, status=InboundStatus.REJECTED).exists()
    assert InboundMessage.objects.filter(raw=no_control_id, status=InboundStatus.CONTENT_ERROR).exists()
    assert list(Slot.objects.values_list("ris_slot_id", flat=True)) == ["OK1"]


def test_a_later_event_in_the_same_group_applies_on_top_of_the_earlier(feed):
    opened = feed.siu("S24", "SEQ")
    blocked = feed.siu("S23", "SEQ")
    replies = together(opened, blocked)
    assert [ack_code(r) for r in replies] == ["AA", "AA"]
    slot = Slot.objects.get(ris_slot_id="SEQ")
    assert (slot.status, slot.pooled, slot.version) == (SlotStatus.BLOCKED, False, 2)


def test_a_slot_locked_elsewhere_holds_up_only_its_own_message(feed, client_for):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and lock_timeout are PostgreSQL's; SQLite locks the whole database")
    with client_for() as ris:
        assert ack_code(ris.exchange(feed.siu("S24", "LOCKED"))) == "AA"
    blocked_payload, free_payload = feed.siu("S23", "LOCKED"), feed.siu("S24", "FREE")
    clerk = connections.create_connection("default")  # a booking transaction holding the slot's row
    clerk.set_autocommit(False)
    with clerk.cursor() as cursor:
        cursor.execute("SELECT id FROM slots_slot WHERE ris_slot_id = %s FOR UPDATE", ["LOCKED"])
    blocked_reply: list[bytes] = []
    waiting = threading.Thread(target=lambda: blocked_reply.append(client_for().exchange(blocked_payload)))
    waiting.start()
    try:
        time.sleep(0.3)  # the S23 is now waiting on the clerk's lock
        with client_for() as other:  # a reply queued behind the lock would time the client out instead
            assert ack_code(other.exchange(free_payload)) == "AA"
        assert not blocked_reply  # answered while the S23 still waits
    finally:
        clerk.rollback()
        clerk.close()
    waiting.join(30)
    assert [ack_code(r) for r in blocked_reply] == ["AA"]
    assert Slot.objects.get(ris_slot_id="LOCKED").status == SlotStatus.BLOCKED


def test_a_group_reads_and_locks_the_slots_it_names_in_one_query(feed):
    together(*[feed.siu("S24", f"K{n}") for n in range(4)])
    statements = Statements()
    with connection.execute_wrapper(statements):
        replies = together(*[feed.siu("S23", f"K{n}") for n in range(4)])
    assert [ack_code(r) for r in replies] == ["AA"] * 4
    assert statements.count("SELECT", "slots_slot") == 1
    assert statements.count("UPDATE", "slots_slot") == 1  # the four changes in one statement
    assert set(Slot.objects.filter(ris_slot_id__startswith="K").values_list("status", "version")) == {
        (SlotStatus.BLOCKED, 2)
    }


def test_slots_released_together_are_written_with_one_insert(feed):
    statements = Statements()
    with connection.execute_wrapper(statements):
        replies = together(*[feed.siu("S24", f"N{n}") for n in range(6)])
    assert [ack_code(r) for r in replies] == ["AA"] * 6
    assert statements.count("INSERT", "slots_slot") == 1
    assert Slot.objects.filter(ris_slot_id__startswith="N", status=SlotStatus.OPEN, pooled=True, version=1).count() == 6


def test_a_slot_released_and_booked_in_one_group_is_inserted_once_already_booked(feed):
    statements = Statements()
    with connection.execute_wrapper(statements):
        replies = together(feed.siu("S24", "RB"), feed.siu("S24", "OTHER"), feed.siu("S12", "RB"))
    assert [ack_code(r) for r in replies] == ["AA"] * 3
    assert (statements.count("INSERT", "slots_slot"), statements.count("UPDATE", "slots_slot")) == (1, 0)
    slot = Slot.objects.get(ris_slot_id="RB")
    assert (slot.status, slot.pooled, slot.version) == (SlotStatus.BOOKED, False, 2)


def test_a_local_booking_in_a_group_books_the_waiting_patient_once(feed):
    trust = Trust.objects.get(ods_code="RRK")
    referral = ReferralFactory(trust=trust, exam_type=ExamTypeFactory(code="CHEAD", modality=Modality.objects.get(code="CT")))
    patient = sim_patient(referral.patient)
    together(feed.siu("S24", "W2"))
    statements = Statements()
    with connection.execute_wrapper(statements):
        replies = together(feed.siu("S24", "W1"), feed.siu("S12", "W1", patient=patient), feed.siu("S12", "W2", patient=patient))
    assert [ack_code(r) for r in replies] == ["AA"] * 3
    # The group's patients asked about once, then the one referral to book loaded.
    assert statements.count("SELECT", "booking_referral") == 2
    booking = Booking.objects.get(referral=referral)
    assert (booking.slot.ris_slot_id, booking.channel, booking.status) == ("W1", BookingChannel.RIS, BookingStatus.CONFIRMED)
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.BOOKED
    assert set(Slot.objects.filter(ris_slot_id__in=["W1", "W2"]).values_list("status", flat=True)) == {SlotStatus.BOOKED}


def test_a_cancelled_hub_booking_in_a_group_frees_its_slot_after_the_earlier_slots_are_written(feed):
    together(feed.siu("S24", "HB"))
    trust = Trust.objects.get(ods_code="RRK")
    referral = ReferralFactory(trust=trust, exam_type=ExamTypeFactory(code="CHEAD", modality=Modality.objects.get(code="CT")))
    slot = Slot.objects.get(ris_slot_id="HB")
    booking = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=slot.created_at, notify=False)
    seen_when_freed: list[int] = []

    def freed(sender, slot_id, **kwargs):
        seen_when_freed.append(Slot.objects.filter(ris_slot_id__in=["BEFORE1", "BEFORE2"]).count())

    slot_freed.connect(freed)
    try:
        replies = together(feed.siu("S24", "BEFORE1"), feed.siu("S24", "BEFORE2"), feed.siu("S15", "HB"), feed.siu("S24", "AFTER"))
    finally:
        slot_freed.disconnect(freed)
    assert [ack_code(r) for r in replies] == ["AA"] * 4
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert seen_when_freed and set(seen_when_freed) == {2}  # the hook sees the group's earlier slots
    assert Slot.objects.filter(ris_slot_id__in=["BEFORE1", "BEFORE2", "AFTER"]).count() == 3


def test_the_next_frames_of_busy_connections_are_gathered_into_one_group(feed):
    with running_listener(group_linger=1.0) as thread:
        clients = [MllpClient((thread.host, thread.port)) for _ in range(3)]
        try:
            for n, client in enumerate(clients):  # each connection is now busy sending
                assert ack_code(client.exchange(feed.siu("S24", f"WARM{n}"))) == "AA"
            groups_before = thread.listener.groups_applied
            for n, client in enumerate(clients):
                client.send(feed.siu("S24", f"BURST{n}"))
                time.sleep(0.05)  # well inside the linger
            assert [ack_code(client.receive()) for client in clients] == ["AA"] * 3
            assert thread.listener.groups_applied - groups_before == 1
        finally:
            for client in clients:
                client.close()


def test_a_connection_sending_alone_is_not_kept_waiting_for_others(feed):
    # The linger is far longer than the client waits for a reply: waiting for others would time it out.
    with running_listener(group_linger=600.0) as thread, MllpClient((thread.host, thread.port), timeout=10.0) as client:
        for n in range(3):
            assert ack_code(client.exchange(feed.siu("S24", f"ALONE{n}"))) == "AA"


def test_two_groups_naming_the_same_new_slot_take_turns_rather_than_both_inserting_it(feed):
    if connection.vendor != "postgresql":
        pytest.skip("slot key locks are PostgreSQL advisory locks; SQLite has one writer at a time")
    from django.db import transaction

    from wmin.feeds.handlers import FeedWork
    from wmin.feeds.hl7 import parse_message
    from wmin.feeds.models import FeedProfile

    profile = FeedProfile.objects.get(trust__ods_code="RRK")
    other_group: list[list[bytes | None]] = []
    booked = feed.siu("S12", "TURN")
    with transaction.atomic():  # a group in the database that names slot TURN, not yet created
        parsed = parse_message(feed.siu("S24", "TURN").decode())
        FeedWork.begin([(parsed, profile)])  # locks every slot key the group names, TURN too
        waiting = threading.Thread(
            target=lambda: (other_group.append(together(booked)), connections.close_all())
        )
        waiting.start()
        time.sleep(0.5)
        assert not other_group  # it waits for this group: it does not insert TURN beside it
        Slot.objects.create(  # this group creates the slot, as its S24 would
            trust=profile.trust, ris_slot_id="TURN", site=profile.trust.sites.first(),
            modality=Modality.objects.get(code="CT"), starts_at=T0_SLOT, ends_at=T0_SLOT + dt.timedelta(minutes=20),
            version=1, last_event_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
        )
    waiting.join(30)
    assert [ack_code(r) for r in other_group[0]] == ["AA"]
    slot = Slot.objects.get(ris_slot_id="TURN")
    assert (slot.status, slot.version) == (SlotStatus.BOOKED, 2)  # applied on top, by version
