"""The MLLP listener over a real socket: kept-open connections, bad frames, order, concurrency."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest

from slots.models import Slot, SlotStatus
from tests.factories import PatientFactory
from tests.feeds.conftest import MllpClient, ack_code, ack_field, make_trust, running_listener
from tests.feeds.helpers import T0, Feed, sim_patient
from wmin.feeds.hl7.mllp import END_BLOCK, START_BLOCK, frame
from wmin.feeds.models import InboundMessage, InboundStatus
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def feed(transactional_db):
    make_trust("RRK", ["RRK"])
    return Feed(RisStyle("RRK"))


def test_s12_and_s15_in_either_order_end_in_the_same_state(feed, client_for):
    patient = sim_patient(PatientFactory())
    t1, t2 = T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2)
    with client_for() as ris:
        # In order for slot A; the cancellation overtakes the booking for slot B.
        assert ack_code(ris.exchange(feed.siu("S12", "A", at=t1, patient=patient))) == "AA"
        assert ack_code(ris.exchange(feed.siu("S15", "A", at=t2))) == "AA"
        assert ack_code(ris.exchange(feed.siu("S15", "B", at=t2))) == "AA"
        assert ack_code(ris.exchange(feed.siu("S12", "B", at=t1, patient=patient))) == "AA"
    a, b = Slot.objects.get(ris_slot_id="A"), Slot.objects.get(ris_slot_id="B")
    assert (a.status, a.pooled, a.last_event_at) == (SlotStatus.OPEN, True, t2)
    assert (b.status, b.pooled, b.last_event_at) == (SlotStatus.OPEN, True, t2)
    late = InboundMessage.objects.filter(trigger="S12").order_by("pk").last()
    # Stale by its appointment (already cancelled), whatever its time: stored, ACKed, not applied.
    assert late.status == InboundStatus.IGNORED and "already cancelled" in late.error


def test_a_malformed_frame_then_a_good_one_on_the_same_connection(feed, client_for):
    with client_for() as ris:
        bad = ris.exchange(b"this is not HL7 at all")
        good = ris.exchange(feed.siu("S24", "M1"))
        half_msh = ris.exchange(b"MSH|^~")
        good_again = ris.exchange(feed.siu("S24", "M2"))
    assert (ack_code(bad), ack_code(good), ack_code(half_msh), ack_code(good_again)) == ("AR", "AA", "AR", "AA")
    assert InboundMessage.objects.filter(raw=b"this is not HL7 at all", status=InboundStatus.REJECTED).exists()
    assert InboundMessage.objects.filter(raw=b"MSH|^~").exists()
    assert Slot.objects.filter(ris_slot_id__in=["M1", "M2"]).count() == 2


def test_noise_between_frames_split_frames_and_pipelined_frames(feed, client_for):
    one, two, three = (feed.siu("S24", f"P{n}") for n in (1, 2, 3))
    with client_for() as ris:
        ris.send_raw(b"\r\n garbage before a frame ")
        framed = frame(one)
        ris.send_raw(framed[:7])
        ris.send_raw(framed[7:] + b"noise" + frame(two) + frame(three))
        replies = [ris.receive() for _ in range(3)]
    assert [ack_code(r) for r in replies] == ["AA", "AA", "AA"]
    sent_ids = feed.sent[-3:]
    assert [ack_field(r, "MSA", 2) for r in replies] == sent_ids  # in order


def test_an_oversized_frame_is_refused_and_the_connection_carries_on(feed):
    with running_listener(max_message_bytes=2000) as listener, MllpClient((listener.host, listener.port)) as ris:
        refused = ris.exchange(b"MSH|^~\\&|X|RRK|" + b"A" * 5000)
        good = ris.exchange(feed.siu("S24", "O1"))
    assert (ack_code(refused), ack_code(good)) == ("AR", "AA")
    assert InboundMessage.objects.filter(status=InboundStatus.REJECTED, error__contains="exceeds").exists()


def test_many_connections_at_once_each_kept_open(feed, client_for):
    results: dict[int, list[str]] = {}

    def ris(n: int) -> None:
        style = Feed(RisStyle("RRK"))
        with client_for() as client:
            results[n] = [ack_code(client.exchange(style.siu("S24", f"C{n}-{m}"))) for m in range(5)]

    threads = [threading.Thread(target=ris, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {n: ["AA"] * 5 for n in range(8)}
    assert Slot.objects.filter(ris_slot_id__startswith="C").count() == 40


def test_a_connection_dropped_mid_frame_does_not_hurt_the_listener(feed, listener):
    sock = socket.create_connection((listener.host, listener.port))
    sock.sendall(START_BLOCK + b"MSH|^~\\&|RIS|RRK|")
    sock.close()
    with MllpClient((listener.host, listener.port)) as ris:
        assert ack_code(ris.exchange(feed.siu("S24", "Z1"))) == "AA"


def test_an_unknown_sender_and_a_host_not_allowed_get_ar(feed, client_for):
    from wmin.feeds.models import FeedProfile

    other = Feed(RisStyle("NOBODY"))
    with client_for() as ris:
        assert ack_code(ris.exchange(other.siu("S24", "U1"))) == "AR"
        FeedProfile.objects.filter(trust__ods_code="RRK").update(allowed_hosts=["10.0.0.0/8"])
        from wmin.feeds.ingest import forget_profiles

        forget_profiles()
        assert ack_code(ris.exchange(feed.siu("S24", "U2"))) == "AR"
        FeedProfile.objects.filter(trust__ods_code="RRK").update(allowed_hosts=["127.0.0.1"])
        forget_profiles()
        assert ack_code(ris.exchange(feed.siu("S24", "U3"))) == "AA"
    assert not Slot.objects.filter(ris_slot_id__in=["U1", "U2"]).exists()
    assert InboundMessage.objects.filter(status=InboundStatus.REJECTED).count() == 2


def test_end_block_inside_a_message_is_data(feed, client_for):
    payload = feed.siu("S24", "E1").replace(b"RGS|1|A", b"RGS|1|A" + END_BLOCK[:1] + b"x")
    with client_for() as ris:
        assert ack_code(ris.exchange(payload)) in ("AA", "AE")
        assert ack_code(ris.exchange(feed.siu("S24", "E2"))) == "AA"


def test_the_same_message_on_several_connections_at_once_is_applied_once(feed, client_for):
    payload = feed.siu("S24", "DUP1")
    replies: list[bytes] = []

    def send() -> None:
        with client_for() as ris:
            replies.append(ris.exchange(payload))

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(replies) == 5 and len(set(replies)) == 1 and ack_code(replies[0]) == "AA"
    row = InboundMessage.objects.get(control_id=feed.sent[-1])
    assert (row.attempts, Slot.objects.get(ris_slot_id="DUP1").version) == (5, 1)
