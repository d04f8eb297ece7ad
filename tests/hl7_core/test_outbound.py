"""SRM^S01/S04 to a RIS: built with hl7apy, read back by us and by hl7apy; replies read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as hl7apy_parse

from wmin.feeds.hl7 import (
    AckError,
    BookingRequest,
    Code,
    ContentError,
    Location,
    PatientDetails,
    build_ack,
    build_srm,
    parse_message,
    parse_reply,
    parse_srm,
    peek_header,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PATIENT = PatientDetails(
    nhs_number="9434765919",
    local_ids=("L1^^^RRK^MR",),
    family_name="O'Brien | Smith",
    given_name="Siân^Jo",
    date_of_birth=date(1958, 3, 27),
    sex="F",
    postcode="B15 2TH",
    phone="07700 900123",
    email="jo@example.org",
)
REQUEST = BookingRequest(
    placer_appointment_id="BK-1001",
    filler_appointment_id="RRK-SLOT-77",
    starts_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    duration_minutes=30,
    patient=PATIENT,
    exam=Code("MRHEA", "MRI Head", "NICIP"),
    location=Location("MRI", "Room 1", "", "RRK01"),
    resource_id="SCANNER-3",
    reason="Patient chose an earlier slot & nearer site",
)


def _srm(kind: str = "S01", request: BookingRequest = REQUEST, version: str = "2.5.1") -> str:
    return build_srm(
        kind,
        request,
        control_id="OUT-1",
        sending_application="WMIN-HUB",
        sending_facility="WMIN",
        receiving_application="RIS",
        receiving_facility="RRK",
        version=version,
        now=NOW,
    )


def test_an_srm_s01_has_the_agreed_segments_and_fields() -> None:
    text = _srm()
    segments = {s[:3]: s.split("|") for s in text.split("\r") if s}
    assert list(segments) == ["MSH", "ARQ", "PID", "RGS", "AIS", "AIG", "AIL"]
    assert segments["MSH"][8:12] == ["SRM^S01^SRM_S01", "OUT-1", "P", "2.5.1"]
    arq = segments["ARQ"]
    assert arq[1:3] == ["BK-1001", "RRK-SLOT-77"]
    assert arq[7] == "^Patient chose an earlier slot \\T\\ nearer site"
    assert arq[11] == "20261201093000+0000^20261201100000+0000"
    assert segments["PID"][3] == "9434765919^^^NHS^NH~L1^^^RRK^MR"
    assert segments["AIS"][3] == "MRHEA^MRI Head^NICIP"
    assert segments["AIG"][3] == "SCANNER-3"
    assert segments["AIL"][3] == "MRI^Room 1^^RRK01"


@pytest.mark.parametrize("kind", ["S01", "S04"])
def test_an_srm_reads_back_as_the_request_it_was_built_from(kind: str) -> None:
    parsed_kind, request = parse_srm(_srm(kind))
    assert parsed_kind == kind
    assert request == REQUEST


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8"])
def test_every_accepted_version_builds_and_hl7apy_reads_it(version: str) -> None:
    text = _srm(version=version)
    assert peek_header(text).version == version
    assert parse_srm(text)[1] == REQUEST
    parsed = hl7apy_parse(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True)
    assert parsed.name == "SRM_S01"
    assert parsed.arq.arq_2.to_er7() == "RRK-SLOT-77"


def test_our_own_parser_sees_an_srm_as_a_type_the_hub_does_not_take() -> None:
    with pytest.raises(ContentError) as caught:
        parse_message(_srm())
    assert caught.value.code == "200"


def test_a_request_without_location_or_resource_leaves_those_segments_out() -> None:
    text = _srm(request=replace(REQUEST, location=None, resource_id=""))
    assert "\rAIG|" not in text and "\rAIL|" not in text
    assert parse_srm(text)[1].location is None


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"starts_at": datetime(2026, 12, 1, 9, 30)}, "S01"),  # naive: the point of the test
        ({"duration_minutes": 0}, "S01"),
        ({"patient": replace(PATIENT, nhs_number="9434765918")}, "S01"),
        ({}, "S02"),
    ],
)
def test_a_request_hl7_cannot_carry_is_a_value_error(change: dict, kind: str) -> None:
    with pytest.raises(ValueError):
        _srm(kind, replace(REQUEST, **change))


def test_parse_reply_reads_our_own_ack_of_an_srm() -> None:
    header = peek_header(_srm())
    ack = build_ack(
        header, "AR", text="Slot already booked", errors=[AckError("204", "Slot taken", "ARQ^1^2")]
    )
    reply = parse_reply(ack)
    assert (reply.code, reply.acknowledged_control_id, reply.error_codes) == ("AR", "OUT-1", ("204",))
    assert not reply.accepted


def test_parse_reply_reads_an_srr_and_the_appointment_it_booked() -> None:
    srr = (
        "MSH|^~\\&|RIS|RRK|WMIN-HUB|WMIN|20261123090001||SRR^S01^SRR_S01|R-1|P|2.5.1\r"
        "MSA|AA|OUT-1\r"
        "SCH|BK-1001|RRK-APPT-9\r"
    )
    reply = parse_reply(srr)
    assert (reply.code, reply.acknowledged_control_id, reply.filler_appointment_id) == (
        "AA",
        "OUT-1",
        "RRK-APPT-9",
    )
    assert reply.accepted
    assert parse_message(srr).body.code == "AA"
