"""Parsing rules on hand-made messages: the time fallback chain, NHS numbers, types, escapes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wmin.feeds.hl7 import ContentError, UnparseableMessage, parse_message, peek_header
from wmin.feeds.hl7.nhs_number import is_valid_nhs_number
from wmin.feeds.hl7.times import InvalidTime, duration_minutes, parse_dtm

VALID_NHS = "9434765919"
INVALID_NHS = "9434765918"


def _msh(kind: str = "SIU^S12^SIU_S12", cid: str = "C1", version: str = "2.5.1") -> str:
    return f"MSH|^~\\&|RIS|RRK|HUB|WMIN|20261123090000||{kind}|{cid}|P|{version}"


def _siu(*segments: str, kind: str = "SIU^S12^SIU_S12") -> str:
    return "\r".join([_msh(kind), *segments]) + "\r"


def _segment(segment_id: str, fields: dict[int, str]) -> str:
    values = [""] * (max(fields) + 1)
    values[0] = segment_id
    for n, value in fields.items():
        values[n] = value
    return "|".join(values)


SCH = _segment("SCH", {1: "PL1", 2: "SLOT-1", 25: "Booked"})


# Times -----------------------------------------------------------------------------------------


def test_tq1_start_and_end_come_first() -> None:
    body = parse_message(
        _siu(
            "SCH|PL1|SLOT-1|||||||30|min|^^45^20261201100000^20261201104500",
            "TQ1|||||||20261201090000|20261201092000",
            "RGS|1",
            "AIS|1||MRHEAD|20261201110000|||15|min",
        )
    ).body
    assert body.starts_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert body.ends_at == datetime(2026, 12, 1, 9, 20, tzinfo=UTC)
    assert body.duration_minutes == 20


def test_tq1_start_with_tq1_6_duration_gives_the_end() -> None:
    body = parse_message(_siu(SCH, "TQ1||||||25^min|20261201090000")).body
    assert (body.duration_minutes, body.ends_at) == (25, datetime(2026, 12, 1, 9, 25, tzinfo=UTC))


def test_without_tq1_sch11_components_4_and_5_are_used() -> None:
    body = parse_message(_siu("SCH|PL1|SLOT-1|||||||||^^45^20260701100000^20260701104500")).body
    assert body.starts_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 BST
    assert body.ends_at == datetime(2026, 7, 1, 9, 45, tzinfo=UTC)
    assert body.duration_minutes == 45


def test_sch11_start_only_takes_its_duration_from_sch9_with_units() -> None:
    body = parse_message(_siu("SCH|PL1|SLOT-1|||||||3600|s|^^^20261201100000")).body
    assert (body.duration_minutes, body.ends_at) == (60, datetime(2026, 12, 1, 11, 0, tzinfo=UTC))


def test_without_tq1_or_sch11_ais4_and_ais7_are_used() -> None:
    body = parse_message(_siu(SCH, "RGS|1", "AIS|1||MRHEAD^MRI head^NICIP|20261201140000|||2|h")).body
    assert body.starts_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert (body.duration_minutes, body.ends_at) == (120, datetime(2026, 12, 1, 16, 0, tzinfo=UTC))


def test_no_time_anywhere_leaves_the_slot_untimed() -> None:
    body = parse_message(_siu(SCH)).body
    assert (body.starts_at, body.ends_at, body.duration_minutes) == (None, None, None)


def test_an_end_before_the_start_is_ignored_and_noted() -> None:
    body = parse_message(_siu("SCH|PL1|SLOT-1|||||||30|min|^^^20261201100000^20261201090000")).body
    assert body.ends_at == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert body.notes


def test_an_invalid_slot_time_is_a_data_type_error_at_its_field() -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_siu(SCH, "TQ1|||||||20261341090000"))
    assert (caught.value.code, caught.value.location) == ("102", "TQ1^1^7")


def test_an_invalid_duration_is_a_data_type_error() -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_siu("SCH|PL1|SLOT-1|||||||soon|min|^^^20261201100000"))
    assert (caught.value.code, caught.value.location) == ("102", "SCH^1^9")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261201090000", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),  # GMT
        ("20260601090000", datetime(2026, 6, 1, 8, 0, tzinfo=UTC)),  # BST
        ("20260601090000+0000", datetime(2026, 6, 1, 9, 0, tzinfo=UTC)),
        ("202606010900-0500", datetime(2026, 6, 1, 14, 0, tzinfo=UTC)),
        ("20260601090000.25+0100", datetime(2026, 6, 1, 8, 0, 0, 250000, tzinfo=UTC)),
        ("20260601", datetime(2026, 5, 31, 23, 0, tzinfo=UTC)),
        ("", None),
    ],
)
def test_dtm_values_become_aware_utc(value: str, expected: datetime | None) -> None:
    parsed = parse_dtm(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value", ["2026-06-01", "20261301", "20260601T0900", "2026060125", "202606010900+9999"]
)
def test_malformed_dtm_values_are_rejected(value: str) -> None:
    with pytest.raises(InvalidTime):
        parse_dtm(value)


@pytest.mark.parametrize(
    ("quantity", "units", "minutes"),
    [("30", "", 30), ("30", "min", 30), ("3600.000", "s", 60), ("2", "hours", 120), ("2 hours", "", 120),
     ("M45", "", 45), ("1", "d", 1440)],
)  # fmt: skip
def test_durations_read_their_units(quantity: str, units: str, minutes: int) -> None:
    assert duration_minutes(quantity, units) == minutes


# Identifiers and patients ---------------------------------------------------------------------


def _adt(pid: str) -> str:
    return "\r".join([_msh("ADT^A08^ADT_A01"), "EVN|A08|20261123090000", pid]) + "\r"


@pytest.mark.parametrize(
    "pid3",
    [f"{VALID_NHS}^^^NHS^NH", f"{VALID_NHS}^^^NHS", f"{VALID_NHS}^^^^NH", f"L1^^^RRK^MR~{VALID_NHS}^^^NHS^NH",
     "943 476 5919^^^NHS^NH"],
)  # fmt: skip
def test_the_nhs_number_is_found_by_authority_or_type(pid3: str) -> None:
    patient = parse_message(_adt(f"PID|1||{pid3}||Smith^Jo||19580327|F")).body.patient
    assert patient.nhs_number == VALID_NHS


def test_other_identifiers_are_kept_as_local_ids() -> None:
    patient = parse_message(_adt(f"PID|1||L1^^^RRK^MR~{VALID_NHS}^^^NHS^NH||Smith^Jo")).body.patient
    assert patient.local_ids == ("L1^^^RRK^MR",)


@pytest.mark.parametrize("bad", [INVALID_NHS, "12345", "94347659190", "ABCDEFGHIJ"])
def test_an_nhs_number_failing_mod11_is_a_data_type_error_at_pid_3(bad: str) -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_adt(f"PID|1||{bad}^^^NHS^NH||Smith^Jo"))
    assert (caught.value.code, caught.value.location) == ("102", "PID^1^3")


def test_a_number_not_labelled_nhs_is_never_checked() -> None:
    patient = parse_message(_adt(f"PID|1||{INVALID_NHS}^^^RRK^MR||Smith^Jo")).body.patient
    assert patient.nhs_number is None


def test_mod11_check_digit() -> None:
    assert is_valid_nhs_number(VALID_NHS)
    assert not is_valid_nhs_number(INVALID_NHS)
    assert not is_valid_nhs_number("1000000010")  # check value 10 is never issued


def test_patient_demographics_are_read_and_unescaped() -> None:
    pid = (
        "PID|1||L1^^^RRK^MR||O\\S\\Brien&van^Siân||19580327|2|||1 High St^^Birmingham^^b15  2th"
        "||07700900123^PRN^CP~^NET^Internet^jo@example.org"
    )
    patient = parse_message(_adt(pid)).body.patient
    assert (patient.family_name, patient.given_name) == ("O^Brien", "Siân")
    assert (patient.date_of_birth, patient.sex, patient.postcode) == (date(1958, 3, 27), "F", "B15 2TH")
    assert (patient.phone, patient.email) == ("07700900123", "jo@example.org")


def test_an_explicit_null_reads_as_empty() -> None:
    patient = parse_message(_adt('PID|1||L1^^^RRK^MR||""^""||""')).body.patient
    assert (patient.family_name, patient.given_name, patient.date_of_birth) == ("", "", None)


def test_hex_escapes_are_decoded() -> None:
    body = parse_message(_siu(SCH, "RGS|1", "AIS|1||X1^SEPTOPLASTIA (OPERA\\XC7\\\\XC3\\O)")).body
    assert body.exam_codes[0].text == "SEPTOPLASTIA (OPERAÇÃO)"


# Orders ----------------------------------------------------------------------------------------


def _orm(orc: str, *more: str, kind: str = "ORM^O01^ORM_O01") -> str:
    return "\r".join([_msh(kind), f"PID|1||{VALID_NHS}^^^NHS^NH||Smith^Jo", orc, *more]) + "\r"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("NW", "NW"), ("new", "NW"), ("XO", "XO"), ("XX", "XO"), ("CA", "CA"), ("CR", "CA"), ("DC", "DC"),
     ("SC", "SC"), ("OC", "OC"), ("HD", "HD"), ("RL", "RL"), ("ZZ", ""), ("", "")],
)  # fmt: skip
def test_order_controls_are_normalised_and_the_raw_kept(raw: str, normalised: str) -> None:
    order = parse_message(_orm(f"ORC|{raw}|P1")).body
    assert (order.order_control, order.order_control_raw) == (normalised, raw)


def test_order_priority_prefers_tq1_then_obr27_then_orc7() -> None:
    obr = "OBR|1|P1||MRHEAD^MRI head^NICIP" + "|" * 23 + "^^^^^R"
    assert parse_message(_orm("ORC|NW|P1|||||^^^^^S", "TQ1|||||||||A", obr)).body.priority_raw == "A"
    assert parse_message(_orm("ORC|NW|P1|||||^^^^^S", obr)).body.priority_raw == "R"
    assert parse_message(_orm("ORC|NW|P1|||||^^^^^S")).body.priority_raw == "S"


def test_an_order_reads_clock_start_from_orc15_and_ordered_at_from_orc9() -> None:
    order = parse_message(_orm("ORC|NW|P1|F1||SC||||20261101100000||||||20261001090000")).body
    assert order.ordered_at == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert order.clock_start_hint == datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    assert order.patient.nhs_number == VALID_NHS


def test_an_order_without_orc_is_a_segment_sequence_error() -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_orm("OBR|1|P1"))
    assert (caught.value.code, caught.value.location) == ("100", "ORC")


# Types and headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [("ORU^R01", "200"), ("SRM^S01", "200"), ("MFN^M02", "200"), ("SIU^S18", "201"), ("ADT^A03", "201"),
     ("ORM^O02", "201"), ("SQM^S26", "201"), ("SIU", "201")],
)  # fmt: skip
def test_unsupported_types_and_events_are_0357_200_and_201(kind: str, code: str) -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_msh(kind) + "\r")
    assert caught.value.code == code


def test_msh9_may_name_a_different_structure() -> None:
    parsed = parse_message(_siu(SCH, kind="SIU^S15^SIU_S12"))
    assert (parsed.header.trigger, parsed.header.structure, parsed.body.trigger) == ("S15", "SIU_S12", "S15")


def test_an_siu_without_any_appointment_id_is_a_required_field_error() -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_siu("SCH|||"))
    assert (caught.value.code, caught.value.location) == ("101", "SCH^1^2")


def test_an_ack_with_an_unknown_code_is_a_table_error() -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_msh("ACK^S12^ACK") + "\rMSA|OK|C9\r")
    assert (caught.value.code, caught.value.location) == ("103", "MSA^1^1")


def test_other_separators_are_honoured() -> None:
    text = "MSH#$*\\@#RIS#RRK#HUB#WMIN#20261123090000##SIU$S12#C1#P#2.5.1\rSCH#PL1#SLOT$X\r"
    parsed = parse_message(text)
    assert parsed.header.field_separator == "#"
    assert parsed.body.filler_appointment_id == "SLOT"


def test_peek_header_reads_the_version_component_and_processing_id() -> None:
    header = peek_header("MSH|^~\\&|A|B|C|D|20261123090000||ADT^A08|X|P^T|2.2^x^x\r")
    assert (header.version, header.processing_id, header.message_code) == ("2.2", "P^T", "ADT^A08")
    assert header.sent_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_peek_header_tolerates_a_bad_msh7() -> None:
    assert peek_header("MSH|^~\\&|A|B|C|D|yesterday||ADT^A08|X|P|2.5\r").sent_at is None


@pytest.mark.parametrize(
    "text", ["", "PID|1", "MSH", "MSHA|^~\\&|", "MSH|ab|RIS", "MSH| ^~\\&|", "MSH|^^~\\|x", "MSH ^~\\&"]
)
def test_a_missing_or_unreadable_msh_is_unparseable(text: str) -> None:
    with pytest.raises(UnparseableMessage):
        peek_header(text)
    with pytest.raises(UnparseableMessage):
        parse_message(text)


# Released slots and polling --------------------------------------------------------------------


def test_an_s24_slot_release_has_no_patient_and_reads_scanner_and_location() -> None:
    body = parse_message(
        _siu(
            _segment("SCH", {2: "RRK-SLOT-1", 8: "MRI", 25: "Open"}),
            "TQ1|||||||20261201090000|20261201093000",
            "RGS|1",
            "AIS|1||MRHEA^MRI Head^NICIP",
            "AIG|1||SCANNER-3^Siemens Vida",
            "AIL|1||MRI^Room 1^^RRK01",
            kind="SIU^S24^SIU_S12",
        )
    ).body
    assert (body.trigger, body.filler_appointment_id, body.placer_appointment_id) == ("S24", "RRK-SLOT-1", "")
    assert body.patient is None
    assert (body.resource_id, body.status_code, body.duration_minutes) == ("SCANNER-3", "Open", 30)
    assert body.location is not None and (body.location.point_of_care, body.location.facility) == (
        "MRI",
        "RRK01",
    )


def test_an_sqr_s25_yields_one_slot_per_sch_block() -> None:
    text = "\r".join(
        [
            _msh("SQR^S25^SQR_S25"),
            "MSA|AA|Q-1",
            "QAK|TAG-9|OK",
            "SCH||SLOT-A|||||||30|min|^^^20261201090000",
            "RGS|1",
            "AIL|1||MRI^Room 1",
            "SCH||SLOT-B|||||||30|min|^^^20261201093000",
            "RGS|1",
            "AIL|1||MRI^Room 2",
        ]
    )
    body = parse_message(text).body
    assert (body.query_tag, body.query_status, body.acknowledgment_code) == ("TAG-9", "OK", "AA")
    assert [slot.filler_appointment_id for slot in body.slots] == ["SLOT-A", "SLOT-B"]
    assert [slot.location.room for slot in body.slots] == ["Room 1", "Room 2"]
    assert body.slots[1].starts_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_an_sqr_with_no_slots_is_an_empty_answer() -> None:
    body = parse_message(_msh("SQR^S25") + "\rMSA|AA|Q-1\rQAK|TAG-9|NF\r").body
    assert (body.slots, body.query_status) == ((), "NF")


def test_the_event_time_comes_from_evn2_then_msh7() -> None:
    with_evn = parse_message(_siu("EVN|S12|20261123080000", SCH)).body
    assert with_evn.event_time == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert parse_message(_siu(SCH)).body.event_time == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
