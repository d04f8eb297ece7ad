"""Cleaning the envelope: BOMs, stray MLLP bytes, line ends, batches, MSH-18 character sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmin.feeds.hl7 import UnparseableMessage, clean, parse_message

MSH = "MSH|^~\\&|RIS|RRK|HUB|WMIN|20261123090000||ADT^A08|{cid}|P|2.5.1||||||{charset}"
PID = "PID|1||123^^^RRK^MR||{family}^Jo||19580327|F"


def _message(family: str = "Smith", *, charset: str = "", cid: str = "1") -> str:
    return MSH.format(cid=cid, charset=charset) + "\r" + PID.format(family=family) + "\r"


def test_a_clean_message_passes_through_untouched_with_no_notes() -> None:
    (message,) = clean(_message().encode())
    assert message.text == _message()
    assert message.encoding == "utf-8"
    assert message.notes == ()


def test_a_utf8_bom_is_stripped_and_noted() -> None:
    (message,) = clean(b"\xef\xbb\xbf" + _message().encode())
    assert message.text.startswith("MSH|")
    assert any("byte order mark" in note for note in message.notes)


def test_a_utf16_payload_with_a_bom_is_decoded() -> None:
    (message,) = clean(_message("Zoë").encode("utf-16"))
    assert parse_message(message.text).body.patient.family_name == "Zoë"
    assert message.encoding == "utf-16"


def test_a_utf16_payload_without_a_bom_is_recognised() -> None:
    (message,) = clean(_message("Zoë").encode("utf-16-le"))
    assert message.encoding == "utf-16-le"
    assert message.text == _message("Zoë")


def test_stray_mllp_bytes_are_removed_and_noted() -> None:
    (message,) = clean(b"\x0b" + _message().encode() + b"\x1c\r")
    assert message.text == _message()
    assert any("0x0B" in note for note in message.notes)
    assert any("0x1C" in note for note in message.notes)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\n\r"])
def test_lf_and_crlf_become_cr_and_blank_segments_go(newline: str) -> None:
    payload = _message().replace("\r", newline) + newline * 2
    (message,) = clean(payload.encode())
    assert message.text == _message()


def test_indented_segments_lose_their_indentation() -> None:
    (message,) = clean(("  " + _message().replace("\rPID", "\r    PID")).encode())
    assert message.text == _message()
    assert any("leading whitespace" in note for note in message.notes)


def test_a_batch_yields_each_message_and_drops_the_wrapper() -> None:
    batch = (
        "FHS|^~\\&\rBHS|^~\\&\r"
        + _message(cid="1")
        + _message(cid="2")
        + _message(cid="3")
        + "BTS|3\rFTS|1\r"
    )
    messages = clean(batch.encode())
    assert [parse_message(m.text).header.control_id for m in messages] == ["1", "2", "3"]
    assert all(any("batch" in note for note in m.notes) for m in messages)


def test_the_shared_batch_sample_yields_two_adt_messages(shared_hl7_dir: Path) -> None:
    messages = clean((shared_hl7_dir / "batch_adt_pythonhl7_1_edge.hl7").read_bytes())
    assert [parse_message(m.text).header.control_id for m in messages] == ["12334456778890", "12334456778891"]


def test_two_messages_in_one_frame_without_a_batch_are_split() -> None:
    messages = clean((_message(cid="A") + _message(cid="B")).encode())
    assert [parse_message(m.text).header.control_id for m in messages] == ["A", "B"]


def test_noise_before_the_msh_is_cut_off() -> None:
    (message,) = clean(b"\x00\x00garbage" + _message().encode())
    assert message.text == _message()


@pytest.mark.parametrize("charset", ["8859/1", "ISO IR100"])
def test_latin1_declared_in_msh18_is_decoded_as_latin1(charset: str) -> None:
    (message,) = clean(_message("Müller", charset=charset).encode("latin-1"))
    assert message.encoding == "iso8859-1"
    assert parse_message(message.text).body.patient.family_name == "Müller"


def test_8859_1_declared_but_sent_as_utf8_is_read_as_utf8() -> None:
    (message,) = clean(_message("Müller", charset="8859/1").encode("utf-8"))
    assert message.encoding == "utf-8"
    assert parse_message(message.text).body.patient.family_name == "Müller"
    assert any("valid UTF-8" in note for note in message.notes)


def test_unicode_utf8_declared_is_decoded_as_utf8() -> None:
    (message,) = clean(_message("Ōkubo", charset="UNICODE UTF-8").encode("utf-8"))
    assert (message.encoding, parse_message(message.text).body.patient.family_name) == ("utf-8", "Ōkubo")


def test_ascii_declared_but_with_latin1_bytes_falls_back_and_says_so() -> None:
    (message,) = clean(_message("Müller", charset="ASCII").encode("latin-1"))
    assert message.encoding == "cp1252"
    assert parse_message(message.text).body.patient.family_name == "Müller"
    assert message.notes


def test_no_msh18_tries_utf8_then_cp1252() -> None:
    (utf8,) = clean(_message("O\u2019Brien").encode("utf-8"))
    (cp1252,) = clean(_message("O\u2019Brien").encode("cp1252"))
    assert (utf8.encoding, cp1252.encoding) == ("utf-8", "cp1252")
    assert parse_message(cp1252.text).body.patient.family_name == "O\u2019Brien"


def test_each_message_of_a_batch_is_decoded_by_its_own_msh18() -> None:
    payload = _message("Müller", charset="8859/1", cid="1").encode("latin-1") + _message(
        "Müller", charset="UNICODE UTF-8", cid="2"
    ).encode("utf-8")
    first, second = clean(payload)
    assert (first.encoding, second.encoding) == ("iso8859-1", "utf-8")
    assert first.text.count("Müller") == second.text.count("Müller") == 1


def test_an_unknown_charset_is_guessed_and_noted() -> None:
    (message,) = clean(_message("Smith", charset="EBCDIC-ISH").encode())
    assert message.encoding == "utf-8"
    assert any("unknown MSH-18" in note for note in message.notes)


@pytest.mark.parametrize("payload", [b"", b"\x0b\x1c\r", b"PID|1||123", b"hello world", b"\xff\xfe"])
def test_a_payload_without_msh_is_unparseable(payload: bytes) -> None:
    with pytest.raises(UnparseableMessage) as caught:
        clean(payload)
    assert "MSH" in caught.value.reason
    assert caught.value.header is None


def test_the_shared_bom_samples_decode_cleanly(shared_hl7_dir: Path) -> None:
    for name in ("orm_o01_msfhirconv_1.hl7", "orm_o01_msfhirconv_2.hl7"):
        (message,) = clean((shared_hl7_dir / name).read_bytes())
        assert message.text.startswith("MSH|^~\\&|ORDApp")
        assert "\ufeff" not in message.text


def test_the_shared_latin1_sample_declared_8859_1_stays_latin1(shared_hl7_dir: Path) -> None:
    (message,) = clean((shared_hl7_dir / "adt_a31_dcm4che_1.hl7").read_bytes())
    assert message.encoding == "iso8859-1"


@pytest.mark.parametrize(
    ("payload", "holds"),
    [
        (_message().encode(), True),
        (b"\xef\xbb\xbf" + _message().encode(), True),
        (_message().encode("utf-16"), True),
        (b"\r\n  noise " + _message().encode(), True),
        (b"BHS|^~\\&|RIS|RRK\rBTS|0\r", False),
        (b"GET / HTTP/1.1\r\nHost: hub\r\n\r\n", False),
        (b"MSHX|not a segment", False),
        (b"", False),
    ],
)
def test_a_payload_holds_a_message_when_cleaning_finds_one(payload: bytes, holds: bool) -> None:
    from wmin.feeds.hl7.envelope import holds_message

    assert holds_message(payload) is holds


def test_the_same_message_framed_or_stamped_afresh_is_the_same_message() -> None:
    from wmin.feeds.hl7.envelope import same_message

    original = _message().encode()
    assert same_message(original, original)
    assert same_message(original, b"\xef\xbb\xbf" + original.replace(b"\r", b"\r\n"))
    assert same_message(original, original.replace(b"20261123090000", b"20261124101500", 1))  # MSH-7 only
    assert not same_message(original, _message(family="Jones").encode())
    assert not same_message(original, _message(cid="2").encode())
    assert not same_message(original, original + _message().encode())  # two messages are not one
    assert not same_message(original, b"junk")
