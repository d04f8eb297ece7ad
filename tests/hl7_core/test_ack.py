"""Original-mode ACKs: they answer the right message, carry ERR, escape text, and parse back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse

from wmin.feeds.hl7 import (
    AckError,
    ContentError,
    build_ack,
    build_reject,
    clean,
    parse_reply,
    peek_header,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INCOMING = "MSH|^~\\&|RIS|RRK^1.2.3^ISO|HUB|WMIN|20261123085959||SIU^S12^SIU_S12|MSG-42|P|2.5.1\rSCH|1|2\r"
AWKWARD = "bad | pipe ^ hat & amp ~ tilde \\ slash\nnew line"


def _segments(ack: str) -> dict[str, list[str]]:
    return {segment[:3]: segment.split("|") for segment in ack.split("\r")}


def test_an_aa_swaps_sender_and_receiver_and_echoes_the_control_id() -> None:
    ack = build_ack(peek_header(INCOMING), "AA", control_id="ACK-1", now=NOW)
    msh, msa = _segments(ack)["MSH"], _segments(ack)["MSA"]
    assert msh[2:6] == ["HUB", "WMIN", "RIS", "RRK^1.2.3^ISO"]
    assert msh[6] == "20261123090000+0000"
    assert msh[8:12] == ["ACK^S12^ACK", "ACK-1", "P", "2.5.1"]
    assert msa[1:3] == ["AA", "MSG-42"]
    assert "\n" not in ack and not ack.endswith("\r")


def test_a_fresh_control_id_is_uuid_based_and_short() -> None:
    header = peek_header(INCOMING)
    first = _segments(build_ack(header, "AA"))["MSH"][9]
    second = _segments(build_ack(header, "AA"))["MSH"][9]
    assert first != second
    assert len(first) <= 20 and all(c in "0123456789abcdef" for c in first)


def test_an_ae_carries_one_err_per_error_with_0357_code_location_and_message() -> None:
    errors = [
        AckError("102", "NHS number fails the check", "PID^1^3"),
        AckError("101", "No slot id", "SCH^1^2"),
    ]
    ack = build_ack(peek_header(INCOMING), "AE", text="Content error", errors=errors, now=NOW)
    err_segments = [s.split("|") for s in ack.split("\r") if s.startswith("ERR")]
    assert [e[2] for e in err_segments] == ["PID^1^3", "SCH^1^2"]
    assert [e[3] for e in err_segments] == [
        "102^Data type error^HL70357",
        "101^Required field missing^HL70357",
    ]
    assert [e[4] for e in err_segments] == ["E", "E"]
    assert err_segments[0][8] == "NHS number fails the check"


def test_our_ack_parses_back_and_awkward_text_survives_escaping() -> None:
    header = peek_header(INCOMING)
    ack = build_ack(header, "AE", text=AWKWARD, errors=[AckError("207", AWKWARD, "PID^1^5")], now=NOW)
    reply = parse_reply(ack)
    assert reply.code == "AE"
    assert reply.acknowledged_control_id == "MSG-42"
    assert reply.text == AWKWARD  # the line break travels as \.br\
    assert reply.error_codes == ("207",)


def test_a_control_id_needing_escapes_is_echoed_exactly() -> None:
    header = peek_header(INCOMING.replace("MSG-42", "A\\F\\B"))
    assert header.control_id == "A|B"
    assert parse_reply(build_ack(header, "AA", now=NOW)).acknowledged_control_id == "A|B"


def test_our_ack_is_read_by_python_hl7_and_by_hl7apy() -> None:
    ack = build_ack(
        peek_header(INCOMING), "AE", text="x", errors=[AckError("102", "bad", "PID^1^3")], now=NOW
    )
    message = hl7.parse(ack)
    assert str(message.segment("MSA")[2]) == "MSG-42"
    parsed = hl7apy_parse(ack, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    assert parsed.msa.msa_2.to_er7() == "MSG-42"
    assert parsed.err.err_3.to_er7() == "102^Data type error^HL70357"


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4"])
def test_before_v2_5_the_error_is_err1_alone(version: str) -> None:
    header = peek_header(INCOMING.replace("2.5.1", version))
    ack = build_ack(header, "AE", errors=[AckError("102", "bad", "PID^1^3")], now=NOW)
    assert _segments(ack)["ERR"] == ["ERR", "PID^1^3^102&Data type error&HL70357"]
    assert _segments(ack)["MSH"][11] == version
    assert parse_reply(ack).error_codes == ("102",)
    assert str(hl7.parse(ack).segment("ERR")[1]) == "PID^1^3^102&Data type error&HL70357"
    if version != "2.3":  # hl7apy's v2.3 tables know no ACK message structure to check against
        parsed = hl7apy_parse(ack, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        assert parsed.err.err_1.to_er7() == "PID^1^3^102&Data type error&HL70357"


@pytest.mark.parametrize(
    ("location", "err2", "err1"),
    [
        ("MSH-11", "MSH^1^11", "MSH^1^11^202&Unsupported processing id&HL70357"),
        ("MSH^1^12", "MSH^1^12", "MSH^1^12^202&Unsupported processing id&HL70357"),
        ("SCH", "SCH^1", "SCH^1^^202&Unsupported processing id&HL70357"),
        ("", "", "^^^202&Unsupported processing id&HL70357"),
    ],
)
def test_an_error_location_is_written_as_segment_sequence_field(location: str, err2: str, err1: str) -> None:
    modern = build_ack(peek_header(INCOMING), "AR", errors=[AckError("202", "x", location)], now=NOW)
    legacy = build_ack(peek_header(INCOMING.replace("2.5.1", "2.4")), "AR", errors=[AckError("202", "x", location)])
    assert _segments(modern)["ERR"][1:4] == ["", err2, "202^Unsupported processing id^HL70357"]
    assert _segments(legacy)["ERR"] == ["ERR", err1]


def test_a_v2_3_ack_names_its_type_in_two_components() -> None:
    ack = build_ack(peek_header(INCOMING.replace("2.5.1", "2.3")), "AA", now=NOW)
    assert _segments(ack)["MSH"][8] == "ACK^S12"


def test_the_reply_uses_the_senders_separators() -> None:
    header = peek_header("MSH#$*\\@#RIS#RRK#HUB#WMIN#20261123090000##SIU$S12#C#1#P#2.5.1\r")
    ack = build_ack(header, "AE", text="a#b", errors=[AckError("102", "x", "PID^1^3")], now=NOW)
    assert ack.startswith("MSH#$*\\@#HUB#WMIN#RIS#RRK#")
    assert "ACK$S12$ACK" in ack and "PID$1$3" in ack
    assert parse_reply(ack).text == "a#b"


def test_a_reject_salvages_the_control_id_from_a_broken_message() -> None:
    raw = b"\x0bjunk MSH|^~\\&|RIS|RRK|HUB|WMIN|x||SIU^S12|CTRL-9|P|2.4\rPID|\xff\xfe"
    reply = parse_reply(build_reject(raw, "Cannot read PID", now=NOW))
    assert (reply.code, reply.acknowledged_control_id, reply.text) == ("AR", "CTRL-9", "Cannot read PID")
    msh = _segments(build_reject(raw, "x", now=NOW))["MSH"]
    assert msh[2:6] == ["HUB", "WMIN", "RIS", "RRK"]
    assert msh[8] == "ACK^S12^ACK" and msh[11] == "2.4"


@pytest.mark.parametrize("raw", [b"", b"hello", b"\x00\xff" * 20, b"MSH", b"MSH|"])
def test_a_reject_of_nothing_salvageable_leaves_msa2_empty(raw: bytes) -> None:
    reply = parse_reply(build_reject(raw, "Not HL7", now=NOW))
    assert (reply.code, reply.acknowledged_control_id) == ("AR", "")


def test_parse_reply_refuses_a_message_that_is_not_an_ack() -> None:
    with pytest.raises(ContentError) as caught:
        parse_reply(INCOMING)
    assert caught.value.code == "200"


def test_every_shared_sample_gets_an_ack_that_parses_back(shared_hl7_dir: Path) -> None:
    for path in sorted(shared_hl7_dir.glob("*.hl7")):
        for message in clean(path.read_bytes()):
            header = peek_header(message.text)
            ack = build_ack(header, "AE", text="why", errors=[AckError("207", "because", "MSH^1^9")], now=NOW)
            reply = parse_reply(ack)
            assert reply.acknowledged_control_id == header.control_id, path.name
            assert (reply.code, reply.error_codes) == ("AE", ("207",)), path.name
