"""Mutated and truncated messages over the socket: never a crash, never a message left unstored."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_HL7
from tests.feeds.conftest import MllpClient, make_trust
from tests.feeds.helpers import Feed
from wmin.feeds.hl7.envelope import clean
from wmin.feeds.hl7.mllp import MllpDecoder, frame
from wmin.feeds.hl7.outbound import parse_reply
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
