"""Hub → RIS: SRM^S01 (book this slot for this patient) and SRM^S04 (cancel it); reading their replies.

Built with hl7apy at STRICT validation (its value here: datatype and required-field checks of a message
we author; at a few milliseconds a message it suits the outbox, not the listener's hot path). Every
SRM is read back by `parse_srm` before it leaves, so a value that does not survive escaping is a
ValueError here rather than a confused RIS. `parse_srm` is also what a RIS simulator uses to answer.

Layout: MSH, ARQ (ARQ-1 placer appointment id, ARQ-2 the RIS slot's filler id, ARQ-7 reason,
ARQ-9/10 duration, ARQ-11 start^end), PID, RGS, AIS (exam), AIG (scanner), AIL (location).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException

from . import er7
from .errors import UNSUPPORTED_MESSAGE_TYPE, ContentError
from .model import AckInfo, Code, Location, PatientDetails
from .nhs_number import is_valid_nhs_number
from .parse import patient_identifiers, peek_header, read_ack, reader_for
from .times import InvalidTime, format_local_dtm, parse_date, parse_dtm

SRM_KINDS = {"S01": "book", "S04": "cancel"}
HUB_CONTACT = "WMIN booking hub"


@dataclass(frozen=True)
class BookingRequest:
    """What the hub asks a RIS to book (S01) or cancel (S04)."""

    placer_appointment_id: str  # the hub's booking id
    filler_appointment_id: str  # the RIS slot id (SCH-2 of the slot it released)
    starts_at: datetime
    duration_minutes: int
    patient: PatientDetails
    exam: Code
    location: Location | None
    resource_id: str
    reason: str = ""

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def build_srm(
    kind: str,
    request: BookingRequest,
    *,
    control_id: str,
    sending_application: str,
    sending_facility: str,
    receiving_application: str,
    receiving_facility: str,
    version: str = "2.5.1",
    now: datetime,
) -> str:
    """One SRM^S01/S04 as ER7 text (segments joined by CR). Raises ValueError for a request HL7 cannot carry."""
    if kind not in SRM_KINDS:
        raise ValueError(f"SRM kind must be one of {sorted(SRM_KINDS)}, not {kind!r}")
    _check_request(request, control_id, now)
    try:
        text = _build(kind, request, control_id, version, now, sending_application, sending_facility,
                      receiving_application, receiving_facility)  # fmt: skip
    except (HL7apyException, ValueError) as exc:
        raise ValueError(f"SRM^{kind} failed hl7apy validation: {exc}") from exc
    _check_round_trip(text, kind, request)
    return text


def _check_request(request: BookingRequest, control_id: str, now: datetime) -> None:
    if request.starts_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("naive datetimes are not allowed")
    if request.duration_minutes <= 0:
        raise ValueError("duration_minutes must be positive")
    if not request.placer_appointment_id.strip() or not control_id.strip():
        raise ValueError("placer_appointment_id and control_id are required")
    nhs_number = request.patient.nhs_number
    if nhs_number and not is_valid_nhs_number(nhs_number):
        raise ValueError(f"NHS number {nhs_number!r} fails the modulus 11 check")


def _build(
    kind: str,
    request: BookingRequest,
    control_id: str,
    version: str,
    now: datetime,
    sending_application: str,
    sending_facility: str,
    receiving_application: str,
    receiving_facility: str,
) -> str:
    esc = er7.escape
    start, end = format_local_dtm(request.starts_at), format_local_dtm(request.ends_at)
    duration = str(request.duration_minutes)
    message = Message("SRM_S01", version=version, validation_level=VALIDATION_LEVEL.STRICT)
    msh = message.msh
    msh.msh_3 = _hd(sending_application)
    msh.msh_4 = _hd(sending_facility)
    msh.msh_5 = _hd(receiving_application)
    msh.msh_6 = _hd(receiving_facility)
    msh.msh_7 = format_local_dtm(now)
    msh.msh_9 = f"SRM^{kind}" if _older_than(version, (2, 3, 1)) else f"SRM^{kind}^SRM_S01"
    msh.msh_10 = esc(control_id)
    msh.msh_11 = "P"
    if not _older_than(version, (2, 5)):
        msh.msh_18 = "UNICODE UTF-8"

    arq = message.arq
    arq.arq_1 = esc(request.placer_appointment_id)
    if request.filler_appointment_id:
        arq.arq_2 = esc(request.filler_appointment_id)
    if request.reason:
        arq.arq_7 = "^" + esc(request.reason)
    arq.arq_9 = duration
    arq.arq_10 = "min"
    arq.arq_11 = f"{start}^{end}"
    arq.arq_15 = "^" + esc(HUB_CONTACT)
    arq.arq_19 = "^" + esc(HUB_CONTACT)

    pid = message.add_group("SRM_S01_PATIENT").add_segment("PID")
    _fill_pid(pid, request.patient)

    resources = message.add_group("SRM_S01_RESOURCES")
    resources.add_segment("RGS").rgs_1 = "1"
    ais = resources.add_group("SRM_S01_SERVICE").add_segment("AIS")
    ais.ais_1 = "1"
    ais.ais_3 = _code(request.exam)
    ais.ais_4 = start
    ais.ais_7 = duration
    ais.ais_8 = "min"
    if request.resource_id:
        aig = resources.add_group("SRM_S01_GENERAL_RESOURCE").add_segment("AIG")
        aig.aig_1 = "1"
        aig.aig_3 = esc(request.resource_id)
        aig.aig_4 = "SCANNER^Imaging scanner"
        aig.aig_8 = start
        aig.aig_11 = duration
        aig.aig_12 = "min"
    if request.location is not None:
        ail = resources.add_group("SRM_S01_LOCATION_RESOURCE").add_segment("AIL")
        ail.ail_1 = "1"
        loc = request.location
        ail.ail_3 = "^".join(esc(p) for p in (loc.point_of_care, loc.room, loc.bed, loc.facility)).rstrip("^")
        ail.ail_4 = "IMG^Imaging room"
        ail.ail_6 = start
        ail.ail_9 = duration
        ail.ail_10 = "min"
    message.validate()
    contacts = _contacts(request.patient, telephone_in_xtn12=not _older_than(version, (2, 6)))
    text = message.to_er7()
    return _set_field(text, "PID", 13, contacts) if contacts else text


def _fill_pid(pid: Any, patient: PatientDetails) -> None:
    esc = er7.escape
    identifiers = []
    if patient.nhs_number:
        identifiers.append(f"{esc(patient.nhs_number)}^^^NHS^NH")
    identifiers.extend("^".join(esc(part) for part in local.split("^")) for local in patient.local_ids)
    _repeat(pid, "PID_3", identifiers or ["^^^^U"])
    pid.pid_5 = f"{esc(patient.family_name)}^{esc(patient.given_name)}"
    if patient.date_of_birth is not None:
        pid.pid_7 = patient.date_of_birth.strftime("%Y%m%d")
    if patient.sex:
        pid.pid_8 = esc(patient.sex)
    if patient.postcode:
        pid.pid_11 = "^^^^" + esc(patient.postcode)


def _contacts(patient: PatientDetails, *, telephone_in_xtn12: bool) -> str:
    """PID-13 as ER7. Written by hand: hl7apy's v2.6 XTN lacks XTN-1 and shifts every component."""
    esc = er7.escape
    contacts = []
    if patient.phone:
        # XTN-1 is withdrawn from v2.6; XTN-12 (unformatted number) carries the number there.
        phone = esc(patient.phone)
        contacts.append(f"^PRN^PH{'^' * 9}{phone}" if telephone_in_xtn12 else f"{phone}^PRN^PH")
    if patient.email:
        contacts.append(f"^NET^Internet^{esc(patient.email)}")
    return "~".join(contacts)


def _set_field(text: str, segment_id: str, n: int, value: str) -> str:
    """`text` with SEG-n (of the first `segment_id`, not MSH) replaced by an ER7 value."""
    segments = text.split("\r")
    for index, segment in enumerate(segments):
        if segment.startswith(segment_id + "|"):
            fields = segment.split("|")
            fields += [""] * (n + 1 - len(fields))
            fields[n] = value
            segments[index] = "|".join(fields).rstrip("|")
            break
    return "\r".join(segments)


def _repeat(segment: Any, field_name: str, values: list[str]) -> None:
    """One field repetition per value (hl7apy does not split ``~`` on assignment)."""
    for value in values:
        segment.add_field(field_name).value = value


def _hd(value: str) -> str:
    return "^".join(er7.escape(part) for part in value.split("^"))


def _code(code: Code) -> str:
    return "^".join(er7.escape(part) for part in (code.identifier, code.text, code.system)).rstrip("^")


def _older_than(version: str, than: tuple[int, ...]) -> bool:
    try:
        parts = tuple(int(part) for part in version.strip().split("."))
    except ValueError:
        return False
    return parts < than


def _check_round_trip(text: str, kind: str, request: BookingRequest) -> None:
    parsed_kind, parsed = parse_srm(text)
    expected = _essentials(request)
    if parsed_kind != kind or _essentials(parsed) != expected:
        raise ValueError(f"SRM^{kind} does not read back as the request it was built from")


def _essentials(request: BookingRequest) -> tuple[object, ...]:
    patient = request.patient
    return (
        request.placer_appointment_id,
        request.filler_appointment_id,
        request.starts_at.replace(microsecond=0),
        request.duration_minutes,
        request.exam.identifier,
        request.resource_id,
        request.reason,
        patient.nhs_number,
        patient.family_name,
        patient.given_name,
        patient.date_of_birth,
        patient.phone,
        patient.email,
    )


# Reading ---------------------------------------------------------------------------------------


def parse_srm(text: str) -> tuple[str, BookingRequest]:
    """(trigger, request) from an SRM^S01/S04 — for checks and for a RIS simulator answering the hub."""
    header = peek_header(text)
    if header.message_type != "SRM":
        raise ContentError(UNSUPPORTED_MESSAGE_TYPE, f"Expected SRM, got {header.message_type!r}", "MSH^1^9")
    reader = reader_for(text, header)
    arq = reader.first("ARQ")
    if arq is None:
        raise ContentError("100", "SRM has no ARQ segment", "ARQ")
    pid, ais, aig, ail = reader.first("PID"), reader.first("AIS"), reader.first("AIG"), reader.first("AIL")
    try:
        starts_at = parse_dtm(reader.value(arq, 11, 1))
        date_of_birth = parse_date(reader.value(pid, 7)) if pid is not None else None
    except InvalidTime as exc:
        raise ContentError("102", str(exc), "ARQ^1^11") from exc
    if starts_at is None:
        raise ContentError("101", "ARQ-11 requested start is empty", "ARQ^1^11")
    ends_at = parse_dtm(reader.value(arq, 11, 2))
    duration = int(reader.value(arq, 9) or 0) or (
        int((ends_at - starts_at).total_seconds() // 60) if ends_at is not None else 0
    )
    nhs_number, local_ids = patient_identifiers(reader, pid) if pid is not None else (None, ())
    contacts = reader.repetitions(pid, 13)
    phones = (reader.component_of(r, 1) or reader.component_of(r, 12) for r in contacts)
    phone = next((number for number in phones if number), "")
    email = next((reader.component_of(r, 4) for r in contacts if reader.component_of(r, 4)), "")
    patient = PatientDetails(
        nhs_number=nhs_number,
        local_ids=local_ids,
        family_name=reader.value(pid, 5, 1),
        given_name=reader.value(pid, 5, 2),
        date_of_birth=date_of_birth,
        sex=reader.value(pid, 8),
        postcode=reader.value(pid, 11, 5),
        phone=phone,
        email=email,
    )
    location = None
    if ail is not None:
        location = Location(*(reader.value(ail, 3, c) for c in (1, 2, 3, 4)))
    request = BookingRequest(
        placer_appointment_id=reader.value(arq, 1),
        filler_appointment_id=reader.value(arq, 2),
        starts_at=starts_at,
        duration_minutes=duration,
        patient=patient,
        exam=Code(*(reader.value(ais, 3, c) for c in (1, 2, 3))),
        location=location,
        resource_id=reader.value(aig, 3),
        reason=reader.value(arq, 7, 2) or reader.value(arq, 7, 1),
    )
    return header.trigger, request


def parse_reply(text: str) -> AckInfo:
    """The RIS's answer to an SRM (ACK or SRR): MSA code, the control id it acknowledges, errors."""
    header = peek_header(text)
    if header.message_type not in ("ACK", "SRR"):
        raise ContentError(
            UNSUPPORTED_MESSAGE_TYPE, f"Expected ACK or SRR, got {header.message_type!r}", "MSH^1^9"
        )
    reader = reader_for(text, header)
    info = read_ack(reader)
    sch = reader.first("SCH")
    if sch is not None:
        filler = reader.value(sch, 2) or reader.value(sch, 1)
        return AckInfo(info.code, info.acknowledged_control_id, info.text, info.error_codes, filler)
    return info
