"""All 47 shared HL7 samples through the real listener on a real socket: each gets the ACK it deserves.

The trusts registered below stand in for the senders of the samples (their MSH-4), with the exam code
maps that let some SIU samples place a slot. HNA500 (and every sample with an empty MSH-4) stays
unknown, to prove AR for an unknown sender. Six pairs of samples share a sending facility and MSH-10
although their content differs (public samples reuse ids): the second of each pair is kept as its own
row, flagged as a reused control id, answered AE 205 under its own trigger and not applied.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from booking.models import Patient, Referral
from slots.models import Slot, SlotStatus
from tests.factories import ExamTypeFactory, ModalityFactory
from tests.feeds.conftest import ack_code, ack_field, make_trust
from wmin.feeds.hl7.envelope import clean
from wmin.feeds.hl7.outbound import parse_reply
from wmin.feeds.hl7.parse import peek_header
from wmin.feeds.models import InboundMessage, InboundStatus

# file → (MSA-1, table 0357 code on the row, why)
EXPECTED: dict[str, tuple[str, str, str]] = {
    "ack_ae_hapi_1.hl7": ("AR", "", "MSH-4 empty: no trust sends it (and an ACK is not a message the hub takes)"),
    "ack_ar_hapi_1.hl7": ("AR", "", "MSH-4 empty: unknown sender"),
    "ack_ce_hapi_1_edge.hl7": ("AR", "", "MSH-4 empty: unknown sender"),
    "adt_a01_pythonhl7_1_edge.hl7": ("AR", "", "HNA500 is no trust's facility: the unknown sender"),
    "adt_a08_dcm4che_1.hl7": ("AA", "", "known sender; PID-3 has no NHS number, so nothing to update"),
    "adt_a08_hapi_1.hl7": ("AA", "", "known sender; no NHS number, nothing to update"),
    "adt_a08_hapi_2_edge.hl7": ("AR", "202", "MSH-11 T (training): a production hub refuses it"),
    "adt_a08_msfhirconv_1.hl7": ("AA", "", "known sender; no NHS number"),
    "adt_a08_renalware_1.hl7": ("AA", "", "Barts' TIE: MRN only in PID-3, nothing to match"),
    "adt_a31_dcm4che_1.hl7": ("AE", "205", "same XYZ_RADIOLOGY + 100212 as adt_a08_dcm4che_1: id reused"),
    "adt_a31_hapi_1.hl7": ("AA", "", "known sender; no NHS number"),
    "adt_a31_hapi_2_edge.hl7": ("AE", "205", "same key as adt_a31_hapi_1: id reused, not applied"),
    "adt_a31_msfhirconv_1.hl7": ("AE", "205", "same key (MSG00001) as adt_a08_msfhirconv_1: id reused"),
    "batch_adt_pythonhl7_1_edge.hl7": ("AA", "", "BHS batch of two ADT^A04: a batch of two AA, nothing to do"),
    "omi_o23_dcm4che_1.hl7": ("AE", "103", "OBR-4 10637-7 is in no exam code map"),
    "omi_o23_dcm4che_2.hl7": ("AE", "101", "OBR-4 empty"),
    "omi_o23_dcm4che_3.hl7": ("AE", "103", "OBR-4 10637-7 is in no exam code map"),
    "orm_o01_dcm4che_2.hl7": ("AE", "103", "OBR-4 P1 is in no exam code map"),
    "orm_o01_hapi_1.hl7": ("AR", "202", "MSH-11 '1' is no processing id the hub takes"),
    "orm_o01_hapi_2.hl7": ("AR", "", "MSH-4 empty (DMCOE is MSH-3): unknown sender"),
    "orm_o01_hapi_3.hl7": ("AR", "", "MSH-4 empty: unknown sender"),
    "orm_o01_hapi_4.hl7": ("AR", "", "MSH-4 empty: unknown sender"),
    "orm_o01_hapi_5_edge.hl7": ("AE", "101", "MSH-10 empty"),
    "orm_o01_msfhirconv_1.hl7": ("AE", "102", "BOM removed; ORC-15 '2010201200+0215' is not a date"),
    "orm_o01_msfhirconv_2.hl7": ("AE", "205", "same key (MSG00018) as orm_o01_msfhirconv_1: id reused"),
    "orm_o01_renalware_1.hl7": ("AE", "103", "ORC-1 'F' is no order control"),
    "siu_s12_athena_1_edge.hl7": ("AR", "202", "trailing 0x1C cleaned; MSH-11 T"),
    "siu_s12_athena_2_edge.hl7": ("AR", "202", "trailing 0x1C cleaned; MSH-11 T"),
    "siu_s12_dcm4che_1_edge.hl7": ("AE", "100", "SIU without SCH"),
    "siu_s12_dcm4che_2.hl7": ("AE", "102", "PID-7 '19500131T143414' is not a date"),
    "siu_s12_msfhirconv_1.hl7": ("AA", "", "slot 36996 created, booked locally"),
    "siu_s12_msfhirconv_2.hl7": ("AE", "205", "same key (MSG00012) as siu_s12_msfhirconv_1: id reused"),
    "siu_s12_ntierprise_1.hl7": ("AA", "", "exam only as SCH-8 OV15, mapped; SCH-25 Scheduled^^CSI"),
    "siu_s12_renalware_1.hl7": ("AE", "103", "a renal clinic: 'Nephrology New' maps to no imaging exam"),
    "siu_s13_msfhirconv_1.hl7": ("AA", "", "rescheduled"),
    "siu_s13_renalware_1.hl7": ("AE", "103", "a renal clinic"),
    "siu_s14_hapi_1.hl7": ("AA", "", "MSH-10 ' 38762' (leading space); G014080 mapped; four RGS groups"),
    "siu_s14_msfhirconv_1.hl7": ("AA", "", "modified (room change)"),
    "siu_s14_renalware_1.hl7": ("AE", "205", "same key as siu_s13_renalware_1: id reused"),
    "siu_s15_msfhirconv_1.hl7": ("AA", "", "cancelled: the slot goes back to the pool"),
    "siu_s15_renalware_1.hl7": ("AE", "103", "a renal clinic"),
    "siu_s16_msfhirconv_1.hl7": ("AA", "", "MSH-7 1989: older than the slot's last event, recorded not applied"),
    "siu_s17_msfhirconv_1.hl7": ("AA", "", "deleted: the slot is withdrawn"),
    "siu_s26_msfhirconv_1.hl7": ("AA", "", "no-show with no hub booking in the slot"),
    "sqm_s25_endosys_1.hl7": ("AR", "", "MSH-4 empty (and MSH-11 T)"),
    "srm_s01_epicsample_1.hl7": ("AR", "200", "a RIS does not send the hub SRM"),
    "srm_s01_mediinfo_1_edge.hl7": ("AR", "200", "SRM: unsupported message type"),
}


@pytest.fixture
def corpus_trusts(db):
    ExamTypeFactory(code="CTCOLON", name="CT colonography", modality=ModalityFactory(code="CT"))
    make_trust("RNJ", ["BLT"])
    make_trust("RXY", ["XYZ_RADIOLOGY"])
    make_trust("RGH", ["GHHSFacility"], exam_code_map={"76164006": "CTCOLON"})
    make_trust(
        "RNT",
        ["Ntierprise Clinic"],
        exam_code_map={"OV15": "CTCOLON"},
        slot_release_mode="siu_status",
        status_map={"Scheduled": "booked"},
    )
    make_trust("REA", ["EAST_RADIOLOGY"])
    make_trust("ROR", ["G"], exam_code_map={"G014080": "CTCOLON"})
    make_trust("RAT", ["235"])
    make_trust("RSF", ["Send Fac"])
    make_trust("RKI", ["KIR"])
    make_trust("RCA", ["CAISI_1-2"])
    make_trust("RFA", ["fake"])
    make_trust("R01", ["001"])
    make_trust("RMI", ["MediInfo"])
    make_trust("RSE", ["SENDING FAC"])
    make_trust("RAB", ["ABCHS"])


def samples(directory: Path) -> list[Path]:
    files = sorted(directory.glob("*.hl7"))
    assert len(files) == 47, "the shared corpus holds 47 messages"
    assert {f.name for f in files} == set(EXPECTED), "every sample has an expectation"
    return files


def _key(payload: bytes) -> tuple[str, str]:
    header = peek_header(clean(payload)[0].text)
    return header.sending_facility_id, header.control_id


def stored(path: Path) -> bytes:
    """The frame's payload: a sample captured from a stream ends with the MLLP end block itself."""
    return path.read_bytes().split(b"\x1c\x0d")[0]


def _msa_codes(reply: bytes) -> list[str]:
    return [s[4:6].decode() for s in reply.split(b"\r") if s.startswith(b"MSA")]


@pytest.mark.django_db(transaction=True)
def test_every_sample_on_one_kept_open_connection(shared_hl7_dir, corpus_trusts, client_for):
    files = samples(shared_hl7_dir)
    replies: dict[str, bytes] = {}
    with client_for() as ris:
        for path in files:
            replies[path.name] = ris.exchange(path.read_bytes())

    for path in files:
        code, error_code, why = EXPECTED[path.name]
        reply = replies[path.name]
        assert set(_msa_codes(reply)) == {code}, f"{path.name}: {why}\n{reply!r}"
        if path.name.startswith("batch"):
            assert reply.startswith(b"BHS") and _msa_codes(reply) == ["AA", "AA"]
            continue
        assert ack_field(reply, "MSA", 2) == peek_header(clean(path.read_bytes())[0].text).control_id
        if code == "AE":
            assert b"\rERR|" in reply, f"{path.name}: AE carries ERR"
            assert parse_reply(reply.decode("utf-8", "replace")).error_codes == (error_code,), path.name
        if error_code == "205":
            assert ack_field(reply, "MSH", 8).split("^")[1] == peek_header(clean(path.read_bytes())[0].text).trigger
            assert b"Control id reused" in reply

    # Every message stored, raw, before anything else: 46 files, the batch frame and its two messages.
    assert InboundMessage.objects.count() == 49
    batch = InboundMessage.objects.get(raw=stored(shared_hl7_dir / "batch_adt_pythonhl7_1_edge.hl7"))
    assert batch.message_type == "BATCH" and batch.ack.startswith("BHS")
    for path in files:
        if path.name.startswith("batch"):
            continue
        row = InboundMessage.objects.get(raw=stored(path))
        code, error_code, why = EXPECTED[path.name]
        assert row.error_code == error_code, f"{path.name}: {why} ({row.error})"
        assert row.ack, path.name
        if error_code == "205":
            assert row.duplicate_of is not None and row.status == InboundStatus.CONTENT_ERROR
        elif code == "AA":
            assert row.status in (InboundStatus.APPLIED, InboundStatus.IGNORED)
        else:
            assert row.status == (InboundStatus.CONTENT_ERROR if code == "AE" else InboundStatus.REJECTED)

    # The SIU series about slot 36996 applied by event time: the 1989 S16 did not override the S17.
    slot = Slot.objects.get(ris_slot_id="36996")
    assert slot.status == SlotStatus.WITHDRAWN and not slot.pooled
    assert InboundMessage.objects.get(raw=stored(shared_hl7_dir / "siu_s16_msfhirconv_1.hl7")).status == (
        InboundStatus.IGNORED
    )
    assert Slot.objects.filter(ris_slot_id="13030", status=SlotStatus.BOOKED).exists()  # ntierprise


@pytest.mark.django_db(transaction=True)
def test_samples_on_concurrent_connections_then_again_as_duplicates(shared_hl7_dir, corpus_trusts, client_for):
    files = samples(shared_hl7_dir)
    # Samples sharing a key stay on one connection, in order, so "first" is well defined.
    by_key: dict[tuple[str, str], list[Path]] = {}
    for path in files:
        by_key.setdefault(_key(path.read_bytes()), []).append(path)
    lanes: list[list[Path]] = [[] for _ in range(6)]
    for index, group in enumerate(sorted(by_key.values(), key=lambda g: g[0].name)):
        lanes[index % len(lanes)].extend(group)

    replies: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def play(lane: list[Path]) -> None:
        try:
            with client_for() as ris:
                for path in lane:
                    replies[path.name] = ris.exchange(path.read_bytes())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=play, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    for path in files:
        assert set(_msa_codes(replies[path.name])) == {EXPECTED[path.name][0]}, path.name
    assert InboundMessage.objects.count() == 49

    # Everything again: the original ACKs, nothing changed, attempts counted.
    before = (
        list(Slot.objects.order_by("pk").values_list("pk", "status", "pooled", "version", "starts_at")),
        Referral.objects.count(),
        Patient.objects.count(),
    )
    with client_for() as ris:
        again = {path.name: ris.exchange(path.read_bytes()) for path in files}
    keyless = {"orm_o01_hapi_5_edge.hl7"}  # no MSH-10: no key, so stored and answered afresh
    for path in files:
        if path.name in keyless or path.name.startswith("batch"):
            assert _msa_codes(again[path.name]) == _msa_codes(replies[path.name])
        else:  # the same ACK again, a reused id's AE too
            assert again[path.name] == replies[path.name], path.name
    after = (
        list(Slot.objects.order_by("pk").values_list("pk", "status", "pooled", "version", "starts_at")),
        Referral.objects.count(),
        Patient.objects.count(),
    )
    assert after == before
    assert InboundMessage.objects.count() == 49 + len(keyless) + 1  # and the batch frame's own row again
    resent = InboundMessage.objects.get(raw=stored(shared_hl7_dir / "siu_s12_msfhirconv_1.hl7"))
    assert resent.attempts == 2

    with client_for() as ris:  # the listener is still serving
        assert ack_code(ris.exchange((shared_hl7_dir / "adt_a08_hapi_1.hl7").read_bytes())) == "AA"
