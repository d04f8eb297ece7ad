"""Mutated and truncated messages over the socket: never a crash, never a message left unstored."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_HL7
from tests.feeds.conftest import MllpClient, ack_code, ack_field, make_trust
from tests.feeds.helpers import Feed
from wmin.feeds.hl7.envelope import clean, holds_message
from wmin.feeds.hl7.mllp import START_BLOCK, MllpDecoder, frame
from wmin.feeds.hl7.outbound import parse_reply
from wmin.feeds.hl7.parse import peek_header
from wmin.feeds.ingest import receive_frame
from wmin.feeds.models import InboundMessage
from wmin.feeds.simulator.messages import RisStyle


def _bases() -> list[bytes]:
    feed = Feed(RisStyle("RRK"))
    ours = [feed.siu("S12", "FZ1"), feed.siu("S15", "FZ1"), feed.siu("S24", "FZ2")]
    corpus = [p.read_bytes() for p in sorted(SHARED_HL7.glob("*.hl7"))] if SHARED_HL7.is_dir() else []
    return ours + corpus


BASES = _bases()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["truncate", "insert", "delete", "flip", "separator", "repeat"]))
        at = draw(st.integers(0, len(data)))
        if kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "separator" and at < len(data):
            data[at] = draw(st.sampled_from(b"|^~\\&\r\n\x0b\x1c"))
        elif kind == "repeat":
            data[at:at] = data[max(0, at - 30) : at]
    return bytes(data)


def _payloads_the_listener_sees(data: bytes) -> list[bytes]:
    """MLLP: an end block inside the data ends the frame there (the rest is noise by the protocol)."""
    return MllpDecoder(10_000_000).feed(frame(data))


@pytest.fixture
def senders(db):
    """Known senders, so mutations reach parsing and the handlers, not only the sender check."""
    return make_trust("RRK", ["RRK", "XYZ_RADIOLOGY", "GHHSFacility", "BLT", "Ntierprise Clinic"])


@pytest.mark.django_db(transaction=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_mutated_messages_over_the_socket(listener, senders, data):
    expected = _payloads_the_listener_sees(data)
    with MllpClient((listener.host, listener.port), timeout=20) as ris:
        ris.send(data)
        replies = [ris.receive() for _ in expected]
    for payload, reply in zip(expected, replies, strict=True):
        assert parse_reply(clean(reply)[0].text).code in ("AA", "AE", "AR"), reply
        assert InboundMessage.objects.filter(raw=payload).exists(), payload[:80]


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_mutated_messages_through_ingest(senders, data):
    acks = receive_frame(data, peer="127.0.0.1:1")
    assert acks and all(a.code in ("AA", "AE", "AR") for a in acks), acks
    assert all(InboundMessage.objects.filter(pk=a.message_id).exists() for a in acks)
    assert all(a.encoded() for a in acks)


@pytest.mark.django_db
def test_a_field_separator_that_is_also_an_encoding_character_still_gets_a_readable_ack(senders):
    payload = b"MSH~^~\\&|RIS|RRK|WMIN-HUB|WMIN|20261123030100||SIU^S12^SIU_S12|T1|P|2.5.1\rSCH|1|2\r"
    (ack,) = receive_frame(payload, peer="127.0.0.1:1")
    assert parse_reply(clean(ack.encoded())[0].text).code == ack.code == "AR"


@st.composite
def byte_streams(draw) -> tuple[list[tuple[str, bytes]], list[int], bool]:
    """Good messages, junk frames and noise between frames in any order, cut into arbitrary
    chunks, sometimes ending in half a frame: (the pieces, chunk sizes, ends mid-frame)."""
    feed = Feed(RisStyle("RRK"))
    piece = st.one_of(
        st.builds(lambda n: ("message", feed.siu("S24", f"HYP-{n}")), st.integers(0, 10**9)),
        st.binary(max_size=400).map(lambda b: ("junk", b.replace(b"\x1c", b""))),
        st.binary(min_size=1, max_size=60).map(lambda b: ("noise", b.replace(b"\x0b", b""))),
    )
    pieces = draw(st.lists(piece, max_size=10))
    chunks = draw(st.lists(st.integers(1, 700), min_size=1, max_size=12))
    return pieces, chunks, draw(st.booleans())


def _stream_bytes(pieces: list[tuple[str, bytes]], half_frame: bool) -> bytes:
    data = b"".join(frame(body) if kind != "noise" else body for kind, body in pieces)
    return data + (START_BLOCK + b"MSH|^~\\&|half" if half_frame else b"")


def _expected_replies(pieces: list[tuple[str, bytes]], junk_frames_before_close: int) -> tuple[list[str], bool]:
    """What each frame is (message, junk) up to where the listener closes a junk-only connection."""
    kinds: list[str] = []
    refused = good = 0
    for kind, body in pieces:
        if kind == "noise":
            continue
        if kind == "message" or holds_message(body):
            good += 1
            kinds.append("message" if kind == "message" else "other")
        else:
            refused += 1
            kinds.append("junk")
            if not good and refused >= junk_frames_before_close:
                return kinds, True
    return kinds, False


@pytest.mark.django_db(transaction=True)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=byte_streams())
def test_any_byte_stream_leaves_the_listener_up_and_every_well_formed_message_acknowledged(senders, listener, stream):
    pieces, chunks, half_frame = stream
    data = _stream_bytes(pieces, half_frame)
    listener.listener.junk_frames_before_close = 2  # so that short streams reach it too
    kinds, closes = _expected_replies(pieces, listener.listener.junk_frames_before_close)
    event("closed for junk" if closes else f"{kinds.count('message')} messages, {kinds.count('junk')} junk frames")
    with MllpClient((listener.host, listener.port), timeout=30) as ris:
        with contextlib.suppress(OSError):  # a junk-only connection may be closed while we still send
            at = 0
            for size in itertools.cycle(chunks):
                if at >= len(data):
                    break
                ris.send_raw(data[at : at + size])
                at += size
        if closes:  # replies in flight may be lost to the reset; the connection must end
            with contextlib.suppress(ConnectionError):
                while True:
                    ris.receive()
        else:
            replies = [ris.receive() for _ in kinds]
            sent = iter(body for kind, body in pieces if kind == "message")
            for kind, reply in zip(kinds, replies, strict=True):
                if kind == "message":
                    assert ack_code(reply) == "AA", reply
                    assert ack_field(reply, "MSA", 2) == peek_header(next(sent).decode()).control_id
                else:
                    assert ack_code(reply) in ("AR", "AE", "AA"), reply
    with MllpClient((listener.host, listener.port), timeout=30) as after:  # still serving
        assert ack_code(after.exchange(Feed(RisStyle("RRK")).siu("S24", "HYP-AFTER"))) == "AA"
