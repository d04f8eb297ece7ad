"""Every one of the 47 shared real-world messages gets the outcome its content deserves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from wmin.feeds.hl7 import (
    AckInfo,
    ContentError,
    OrderEvent,
    PatientUpdate,
    SlotEvent,
    SlotQuery,
    UnparseableMessage,
    clean,
    parse_message,
)

SAMPLE_COUNT = 47

# file → one expectation per message the file holds: (type, trigger, body class) when parsed,
# or (ContentError, table 0357 code, ERR-2 location) when the content is wrong (→ AE).
EXPECTED: dict[str, list[tuple]] = {
    "ack_ae_hapi_1.hl7": [("ACK", "A01", AckInfo)],
    "ack_ar_hapi_1.hl7": [("ACK", "", AckInfo)],
    "ack_ce_hapi_1_edge.hl7": [(ContentError, "200", "MSH^1^9")],  # MSH-9 says ORU^R01
    "adt_a01_pythonhl7_1_edge.hl7": [("ADT", "A01", PatientUpdate)],
    "adt_a08_dcm4che_1.hl7": [("ADT", "A08", PatientUpdate)],
    "adt_a08_hapi_1.hl7": [("ADT", "A08", PatientUpdate)],
    "adt_a08_hapi_2_edge.hl7": [(ContentError, "100", "PID")],  # MSH + EVN only
    "adt_a08_msfhirconv_1.hl7": [("ADT", "A08", PatientUpdate)],
    "adt_a08_renalware_1.hl7": [("ADT", "A08", PatientUpdate)],
    "adt_a31_dcm4che_1.hl7": [("ADT", "A31", PatientUpdate)],
    "adt_a31_hapi_1.hl7": [("ADT", "A31", PatientUpdate)],
    "adt_a31_hapi_2_edge.hl7": [("ADT", "A31", PatientUpdate)],  # over-long EVN-1 is not read
    "adt_a31_msfhirconv_1.hl7": [("ADT", "A31", PatientUpdate)],
    "batch_adt_pythonhl7_1_edge.hl7": [("ADT", "A04", PatientUpdate), ("ADT", "A04", PatientUpdate)],
    "omi_o23_dcm4che_1.hl7": [("OMI", "O23", OrderEvent)],
    "omi_o23_dcm4che_2.hl7": [("OMI", "O23", OrderEvent)],
    "omi_o23_dcm4che_3.hl7": [("OMI", "O23", OrderEvent)],
    "orm_o01_dcm4che_2.hl7": [("ORM", "O01", OrderEvent)],
    "orm_o01_hapi_1.hl7": [("ORM", "O01", OrderEvent)],
    "orm_o01_hapi_2.hl7": [("ORM", "O01", OrderEvent)],
    "orm_o01_hapi_3.hl7": [("ORM", "O01", OrderEvent)],
    "orm_o01_hapi_4.hl7": [("ORM", "O01", OrderEvent)],
    "orm_o01_hapi_5_edge.hl7": [(ContentError, "101", "MSH^1^10")],  # empty control id
    "orm_o01_msfhirconv_1.hl7": [(ContentError, "102", "ORC^1^15")],  # ORC-15 '2010201200+0215': month 20
    "orm_o01_msfhirconv_2.hl7": [("ORM", "O01", OrderEvent)],
    "orm_o01_renalware_1.hl7": [("ORM", "O01", OrderEvent)],
    "siu_s12_athena_1_edge.hl7": [("SIU", "S12", SlotEvent)],
    "siu_s12_athena_2_edge.hl7": [("SIU", "S12", SlotEvent)],
    "siu_s12_dcm4che_1_edge.hl7": [(ContentError, "100", "SCH")],  # no SCH segment
    "siu_s12_dcm4che_2.hl7": [(ContentError, "102", "PID^1^7")],  # DOB '19500131T143414'
    "siu_s12_msfhirconv_1.hl7": [("SIU", "S12", SlotEvent)],
    "siu_s12_msfhirconv_2.hl7": [("SIU", "S12", SlotEvent)],
    "siu_s12_ntierprise_1.hl7": [("SIU", "S12", SlotEvent)],
    "siu_s12_renalware_1.hl7": [("SIU", "S12", SlotEvent)],
    "siu_s13_msfhirconv_1.hl7": [("SIU", "S13", SlotEvent)],
    "siu_s13_renalware_1.hl7": [("SIU", "S13", SlotEvent)],
    "siu_s14_hapi_1.hl7": [("SIU", "S14", SlotEvent)],
    "siu_s14_msfhirconv_1.hl7": [("SIU", "S14", SlotEvent)],
    "siu_s14_renalware_1.hl7": [("SIU", "S14", SlotEvent)],
    "siu_s15_msfhirconv_1.hl7": [("SIU", "S15", SlotEvent)],
    "siu_s15_renalware_1.hl7": [("SIU", "S15", SlotEvent)],
    "siu_s16_msfhirconv_1.hl7": [("SIU", "S16", SlotEvent)],
    "siu_s17_msfhirconv_1.hl7": [("SIU", "S17", SlotEvent)],
    "siu_s26_msfhirconv_1.hl7": [("SIU", "S26", SlotEvent)],
    "sqm_s25_endosys_1.hl7": [("SQM", "S25", SlotQuery)],
    "srm_s01_epicsample_1.hl7": [(ContentError, "200", "MSH^1^9")],  # the hub sends SRM, never takes one
    "srm_s01_mediinfo_1_edge.hl7": [(ContentError, "200", "MSH^1^9")],
}


def _parse_file(path: Path) -> list[object]:
    return [parse_message(message.text) for message in clean(path.read_bytes())]


def test_the_expectation_table_covers_every_shared_sample(shared_hl7_dir: Path) -> None:
    names = sorted(path.name for path in shared_hl7_dir.glob("*.hl7"))
    assert len(names) == SAMPLE_COUNT
    assert names == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shared_sample_parses_or_fails_with_its_0357_code(shared_hl7_dir: Path, name: str) -> None:
    messages = clean((shared_hl7_dir / name).read_bytes())
    assert len(messages) == len(EXPECTED[name])
    for message, expected in zip(messages, EXPECTED[name], strict=True):
        if expected[0] is ContentError:
            with pytest.raises(ContentError) as caught:
                parse_message(message.text)
            assert (caught.value.code, caught.value.location) == expected[1:]
            assert caught.value.reason
        else:
            parsed = parse_message(message.text)
            assert (parsed.header.message_type, parsed.header.trigger) == expected[:2]
            assert isinstance(parsed.body, expected[2])


def test_no_shared_sample_is_unparseable(shared_hl7_dir: Path) -> None:
    for path in shared_hl7_dir.glob("*.hl7"):
        for message in clean(path.read_bytes()):
            try:
                parse_message(message.text)
            except ContentError:
                pass
            except UnparseableMessage as exc:  # pragma: no cover - the failure message is the point
                pytest.fail(f"{path.name}: {exc.reason}")


def test_a_fhir_converter_siu_reads_tq1_times_with_their_offsets(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "siu_s12_msfhirconv_1.hl7")
    slot = parsed.body
    assert slot.filler_appointment_id == "36996"
    assert slot.placer_appointment_id == "12345"
    assert slot.starts_at == datetime(2021, 9, 24, 7, 15, tzinfo=UTC)  # 09:30 at +02:15
    assert slot.ends_at == datetime(2021, 9, 24, 8, 5, tzinfo=UTC)
    assert slot.duration_minutes == 50
    assert slot.status_code == "Booked"
    assert slot.location is not None and slot.location.point_of_care == "055"
    assert slot.location.room == "Room01" and slot.location.facility == "GH Clinic"
    assert slot.resource_id == "5001"
    assert [code.identifier for code in slot.exam_codes] == ["76164006"]


def test_a_barts_siu_falls_back_to_sch11_in_london_time(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "siu_s12_renalware_1.hl7")
    slot = parsed.body
    assert slot.filler_appointment_id == "149549015"  # SCH-2 empty: the placer id stands in
    assert slot.starts_at == datetime(2024, 11, 6, 12, 0, tzinfo=UTC)  # GMT in November
    assert slot.ends_at == datetime(2024, 11, 6, 12, 30, tzinfo=UTC)
    assert slot.duration_minutes == 30
    assert slot.status_code == "Confirmed"
    assert slot.location is not None and slot.location.facility == "RNJ ROYALLONDON"
    assert slot.patient is not None
    assert slot.patient.postcode == "RG7 0JB"
    assert slot.patient.sex == "F"  # NHS code 2
    assert slot.patient.phone == "0766655652"  # the mobile
    assert slot.patient.email == "testrenal@test.co"


def test_the_ntierprise_status_keeps_its_code_and_reads_the_mobile(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "siu_s12_ntierprise_1.hl7")
    slot = parsed.body
    assert (slot.status_code, slot.duration_minutes) == ("Scheduled", 15)
    assert slot.patient.phone == "(777)707-0707"
    assert slot.patient.email == "007@BritishSecretService.com"


def test_athena_start_comes_from_sch11_and_duration_from_sch9(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "siu_s12_athena_1_edge.hl7")
    slot = parsed.body
    assert slot.starts_at == datetime(2004, 3, 22, 15, 40, tzinfo=UTC)
    assert slot.ends_at == datetime(2004, 3, 22, 15, 50, tzinfo=UTC)
    assert slot.duration_minutes == 10


def test_siu_s15_cancellation_keeps_its_ids_and_status(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "siu_s15_msfhirconv_1.hl7")
    assert parsed.body.trigger == "S15"
    assert parsed.body.status_code == "Cancelled"
    assert parsed.body.filler_appointment_id == "36996"


ORDER_SAMPLES = ("orm_o01_hapi_1.hl7", "orm_o01_hapi_2.hl7", "orm_o01_hapi_3.hl7", "orm_o01_hapi_4.hl7",
                 "orm_o01_renalware_1.hl7")  # fmt: skip


def test_orders_normalise_odd_order_controls_and_keep_the_raw(shared_hl7_dir: Path) -> None:
    controls = {
        name: (body.order_control, body.order_control_raw)
        for name in ORDER_SAMPLES
        for body in [_parse_file(shared_hl7_dir / name)[0].body]
    }
    assert controls == {
        "orm_o01_hapi_1.hl7": ("", "AF"),
        "orm_o01_hapi_2.hl7": ("XO", "XR"),
        "orm_o01_hapi_3.hl7": ("CA", "CR"),
        "orm_o01_hapi_4.hl7": ("NW", "NW"),
        "orm_o01_renalware_1.hl7": ("", "F"),
    }


def test_an_imaging_order_reads_exam_modality_priority_and_clock_hints(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "orm_o01_dcm4che_2.hl7")
    order = parsed.body
    assert order.order_control == "NW"
    assert (order.placer_order_number, order.filler_order_number) == ("A103Z", "B103Z")
    assert order.exam is not None and order.exam.identifier == "P1" and order.exam.system == "ERL_MESA"
    assert order.modality == "MR"
    assert order.priority_raw == "S"  # OBR-27.6
    assert order.ordered_at == datetime(2000, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert order.clock_start_hint == datetime(2000, 7, 1, 8, 0, tzinfo=UTC)
    assert order.referrer == "7101^ESTRADA^JAIME"


def test_omi_modality_falls_back_to_ipc5(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "omi_o23_dcm4che_2.hl7")
    assert parsed.body.modality == "CT"
    assert parsed.body.order_status == "SC"


def test_a_two_order_orm_reads_the_first_and_counts_both(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "orm_o01_msfhirconv_2.hl7")
    assert parsed.body.order_count == 2
    assert parsed.body.exam.identifier == "24725-4"
    assert parsed.body.placer_order_number == "1101"


def test_adt_update_reads_demographics(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "adt_a08_renalware_1.hl7")
    patient = parsed.body.patient
    assert (patient.family_name, patient.given_name) == ("ZZZTEST", "TWIN 1MOM")
    assert patient.date_of_birth == date(2024, 11, 4)
    assert patient.postcode == "E1 1BB"
    assert patient.local_ids == ("10769847^^^RNJ 5C4 MRN^MRN",)
    assert patient.nhs_number is None


def test_acks_read_msa_and_legacy_err(shared_hl7_dir: Path) -> None:
    (rejected,) = _parse_file(shared_hl7_dir / "ack_ar_hapi_1.hl7")
    assert rejected.body == AckInfo("AR", "LABGL1199510021852632", "ERROR", ("2",))
    (error,) = _parse_file(shared_hl7_dir / "ack_ae_hapi_1.hl7")
    assert (error.body.code, error.body.acknowledged_control_id) == ("AE", "a")


def test_sqm_reads_its_query_tag_and_window(shared_hl7_dir: Path) -> None:
    (parsed,) = _parse_file(shared_hl7_dir / "sqm_s25_endosys_1.hl7")
    assert parsed.body.query_tag == "3692581476"
    assert parsed.body.filters["start"] == "20150526171336"
    assert parsed.body.filters["end"] == "20150526181336"


def test_headers_keep_what_the_sender_wrote(shared_hl7_dir: Path) -> None:
    (s14,) = _parse_file(shared_hl7_dir / "siu_s14_hapi_1.hl7")
    assert s14.header.control_id == " 38762"  # echoed exactly in MSA-2
    (a08,) = _parse_file(shared_hl7_dir / "adt_a08_hapi_1.hl7")
    assert a08.header.charset == "ASCII"
    (fhir,) = _parse_file(shared_hl7_dir / "siu_s12_msfhirconv_1.hl7")
    assert fhir.header.sending_facility == "GHHSFacility^2.16.840.1.122848.1.30^ISO"
    assert fhir.header.sending_facility_id == "GHHSFacility"
    assert fhir.header.structure == "SIU_S12"
