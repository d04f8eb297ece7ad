"""Hostile input through the whole core (MllpDecoder → clean → parse_message → ACK): nothing but
UnparseableMessage, ContentError or FrameTooLarge ever escapes, no frame is lost, every reply parses."""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wmin.feeds.hl7 import (
    AckError,
    ContentError,
    FrameTooLarge,
    MllpDecoder,
    UnparseableMessage,
    build_ack,
    build_reject,
    clean,
    frame,
    parse_message,
    parse_reply,
    peek_header,
)

EXPECTED_FAILURES = (UnparseableMessage, ContentError, FrameTooLarge)
HL7_BYTES = b'|^~\\&\r\n\x0b\x1c\x00\xef\xbb\xbf\xff\xfe 0123456789MSHPIDSCHTQ1ORCOBRAISMSA"+-.'
PROPERTY_SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def sample_payloads(shared_hl7_dir: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(shared_hl7_dir.glob("*.hl7"))]


def _mutate(data: st.DataObject, payload: bytes) -> bytes:
    """One of: truncate, flip bytes, insert HL7-ish bytes, delete a run, duplicate a run."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "none"]))
    size = len(payload)
    if kind == "none" or size == 0:
        return payload
    at = data.draw(st.integers(0, size - 1))
    if kind == "truncate":
        return payload[:at]
    if kind == "flip":
        flips = data.draw(
            st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=8)
        )
        mutable = bytearray(payload)
        for index, mask in flips:
            mutable[index] ^= mask
        return bytes(mutable)
    if kind == "insert":
        inserted = data.draw(st.lists(st.sampled_from(list(HL7_BYTES)), min_size=1, max_size=12).map(bytes))
        return payload[:at] + inserted + payload[at:]
    end = data.draw(st.integers(at, min(size, at + 200)))
    if kind == "delete":
        return payload[:at] + payload[end:]
    return payload[:end] + payload[at:end] + payload[end:]


def _through_the_core(payload: bytes) -> None:
    """What the listener does with one payload; asserts the invariants, lets expected failures out."""
    reply = parse_reply(build_reject(payload, "unreadable"))  # an AR is always possible
    assert reply.code == "AR"
    for message in clean(payload):
        try:
            header = peek_header(message.text)
        except UnparseableMessage:
            continue
        try:
            parsed = parse_message(message.text)
        except ContentError as exc:
            ack = build_ack(
                header, "AE", text=exc.reason, errors=[AckError(exc.code, exc.reason, exc.location)]
            )
        except UnparseableMessage:
            continue
        else:
            assert parsed.header == header
            ack = build_ack(parsed.header, "AA")
        assert parse_reply(ack).acknowledged_control_id == header.control_id


def _run(payload: bytes) -> None:
    with contextlib.suppress(*EXPECTED_FAILURES):
        _through_the_core(payload)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_samples_only_ever_fail_in_the_expected_ways(
    sample_payloads: list[bytes], data: st.DataObject
) -> None:
    payload = data.draw(st.sampled_from(sample_payloads))
    for _ in range(data.draw(st.integers(1, 3))):
        payload = _mutate(data, payload)
    _run(payload)


@PROPERTY_SETTINGS
@given(payload=st.binary(max_size=600))
def test_random_bytes_only_ever_fail_in_the_expected_ways(payload: bytes) -> None:
    _run(payload)


@PROPERTY_SETTINGS
@given(
    body=st.one_of(
        st.lists(st.sampled_from(list(HL7_BYTES)), max_size=400).map(bytes),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=200).map(lambda t: t.encode("utf-8")),
    ),
    kind=st.sampled_from(["SIU^S12", "SIU^S15^SIU_S12", "ORM^O01", "OMI^O23", "ADT^A08", "ACK", "SQR^S25", "SQM^S25",
                          "SRR^S01", "ZZZ^Z01", ""]),
)  # fmt: skip
def test_random_bodies_behind_a_valid_msh_only_ever_fail_in_the_expected_ways(body: bytes, kind: str) -> None:
    msh = f"MSH|^~\\&|RIS|RRK|HUB|WMIN|20261123090000||{kind}|C1|P|2.5.1\r".encode()
    _run(msh + body)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_streams_through_the_decoder_lose_no_frame(
    sample_payloads: list[bytes], data: st.DataObject
) -> None:
    payloads = [
        _mutate(data, data.draw(st.sampled_from(sample_payloads)))
        for _ in range(data.draw(st.integers(1, 4)))
    ]
    stream = b"".join(data.draw(st.sampled_from([b"", b"noise", b"\r\n"])) + frame(p) for p in payloads)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(stream)), max_size=10))) | {0, len(stream)})
    decoder = MllpDecoder(max_message_bytes=data.draw(st.sampled_from([64, 4096, 1_048_576])))
    received: list[bytes] = []
    for start, end in itertools.pairwise(cuts):
        try:
            received.extend(decoder.feed(stream[start:end]))
        except FrameTooLarge:
            continue
    with contextlib.suppress(FrameTooLarge):
        received.extend(decoder.feed(b""))
    for payload in received:
        _run(payload)
    intact = [
        p for p in payloads if b"\x1c\r" not in p and b"\x0b" not in p and len(p) <= decoder.max_message_bytes
    ]
    if len(intact) == len(payloads):
        assert received == payloads


_TOKENS = ["", "20261201090000", "202612010900+0100", "20261341", "-0500", "9434765919", "9434765918", "NHS", "NH",
           "^", "~", "&", "\\", "\\X41\\", "\\XZZ\\", "\\F\\", "\\.br\\", '""', "30", "3600.000", "min", "s", "M15",
           "NW", "XX", "AA", "AR", "S12", "x" * 50, "Müller", " "]  # fmt: skip
_FIELD = st.lists(st.sampled_from(_TOKENS), max_size=6).map("".join) | st.text(max_size=12)
_SEGMENT = st.tuples(
    st.sampled_from(["SCH", "TQ1", "PID", "EVN", "RGS", "AIS", "AIG", "AIL", "AIP", "ORC", "OBR", "IPC", "MSA",
                     "ERR", "QAK", "QRD", "QRF", "ARQ", "NTE", "ZDS"]),
    st.lists(_FIELD, max_size=28),
).map(lambda seg: "|".join([seg[0], *seg[1]]))  # fmt: skip


@PROPERTY_SETTINGS
@given(
    segments=st.lists(_SEGMENT, max_size=12),
    kind=st.sampled_from(["SIU^S12", "SIU^S24", "SQR^S25", "SQM^S25", "ORM^O01", "OMI^O23", "ADT^A31", "ACK^S12",
                          "SRR^S04"]),
)  # fmt: skip
def test_structured_nonsense_only_ever_fails_in_the_expected_ways(segments: list[str], kind: str) -> None:
    msh = f"MSH|^~\\&|RIS|RRK|HUB|WMIN|20261123090000||{kind}|C1|P|2.5.1"
    _run("\r".join([msh, *segments]).encode("utf-8"))
