"""Read the few fields the hub needs from an inbound HL7 v2 message, fast.

Choice: a hand-rolled ER7 reader (`er7.py`: one `str.split` per segment, components, repetitions
and escapes only for the ~40 fields the hub reads) plus our own checks of those fields' datatypes
(DTM/DT with or without offset, durations, the NHS number's mod-11, MSA-1 against table 0008).
Neither library is on the inbound path: hl7apy builds a full tree (and rejects about half the real
samples strictly), python-hl7 splits every subcomponent of every field; both cost more than the
whole pipeline and we would still need our own datatype checks for tolerant reading. hl7apy builds
and validates what we author (`outbound.build_srm`) and checks our ACKs in the tests.

Measured (timeit, best of 3, two runs on this shared 2-vCPU Xeon VM, so a range; Python 3.11; the 48
messages of the 47 shared samples after `envelope.clean`):

    envelope.clean                           23-37 µs/msg    27,000-44,000 msg/s
    parse.parse_message                    147-226 µs/msg     4,400-6,800 msg/s
    clean + parse_message + ack.build_ack  245-326 µs/msg     3,100-4,100 msg/s
    hl7.parse (python-hl7 0.4.5)       1,600-2,000 µs/msg       500-620 msg/s
    siu_s12_ntierprise_1 alone: ours 155-195 µs, hl7.parse 1,420-1,610 µs,
    hl7apy TOLERANT + find_groups 33,000-44,000 µs (hl7apy building one ACK: ~11,000 µs)

So one core cleans, parses and acknowledges 3,000+ msg/s, ten times the 300 msg/s target, leaving
the time to the database; ours is ~10x python-hl7 and ~200x hl7apy on the same messages.

Locations in ContentError follow ERR-2: ``SEG^occurrence^field`` (``PID^1^7``). Every time read is
validated: a bad one is ContentError 102 at its field, except MSH-7 (None: the header must always be
readable to answer). SIU times: TQ1-7/TQ1-8 (TQ1-6 duration), then SCH-11 (TQ ^4 start, ^5 end,
^3 duration), then AIS-4/AIG-8/AIL-6/AIP-6 with their durations; SCH-9/10 before SCH-11.3 for the
duration because they carry units. An end not after the start is ignored (noted on the event).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from . import er7
from .errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_MESSAGE_TYPE,
    ContentError,
    UnparseableMessage,
)
from .model import (
    AckInfo,
    Code,
    Location,
    MessageBody,
    MessageHeader,
    OrderEvent,
    ParsedMessage,
    PatientDetails,
    PatientUpdate,
    SlotEvent,
    SlotQuery,
    SlotQueryResponse,
)
from .nhs_number import is_valid_nhs_number, normalise_nhs_number
from .times import InvalidTime, duration_minutes, parse_date, parse_dtm, parse_dtm_or_none

SIU_TRIGGERS = frozenset({"S12", "S13", "S14", "S15", "S16", "S17", "S23", "S24", "S26"})
ADT_TRIGGERS = frozenset({"A01", "A04", "A08", "A28", "A31"})
SRR_TRIGGERS = frozenset({"S01", "S04"})
ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})

# ORC-1 as real trusts send it (HL7 table 0119 and a few home-grown words) → the hub's order controls.
ORDER_CONTROLS: dict[str, str] = {
    "NW": "NW", "NEW": "NW", "N": "NW", "ADD": "NW",
    "XO": "XO", "XX": "XO", "XR": "XO", "RP": "XO", "RO": "XO", "RU": "XO", "RQ": "XO",
    "CHANGE": "XO", "CHG": "XO", "UPDATE": "XO", "UPD": "XO", "MOD": "XO",
    "CA": "CA", "CR": "CA", "CANCEL": "CA", "CANCELLED": "CA", "CANCELED": "CA", "DEL": "CA", "DELETE": "CA",
    "OC": "OC",
    "DC": "DC", "DR": "DC", "OD": "DC",
    "SC": "SC", "SS": "SC", "SR": "SC", "STATUS": "SC",
    "HD": "HD", "HR": "HD", "OH": "HD", "HOLD": "HD",
    "RL": "RL", "OR": "RL", "OE": "RL", "RELEASE": "RL",
}  # fmt: skip

_NHS_AUTHORITIES = frozenset({"NHS", "NHSNBR", "NHSNMBR", "NHS NUMBER", "2.16.840.1.113883.2.1.4.1"})
_NHS_TYPES = frozenset({"NH", "NHS", "NHSNBR", "NHSNMBR"})
_NHS_SEX_CODES = {"0": "U", "1": "M", "2": "F", "9": "U"}


# Header ----------------------------------------------------------------------------------------


def peek_header(text: str) -> MessageHeader:
    """MSH only, cheaply. Raises UnparseableMessage when there is no readable MSH."""
    start = _msh_start(text)
    end = len(text)
    for terminator in ("\r", "\n"):
        found = text.find(terminator, start)
        if 0 <= found < end:
            end = found
    line = text[start:end]
    if len(line) < 5:
        raise UnparseableMessage("The MSH segment is too short to hold its separators")
    field_sep = line[3]
    if field_sep.isalnum() or field_sep.isspace():
        raise UnparseableMessage(f"MSH-1 field separator {field_sep!r} is not usable")
    fields = line.split(field_sep)
    fields.insert(1, field_sep)
    encoding_characters = fields[2]
    if not _usable_encoding_characters(encoding_characters):
        raise UnparseableMessage(f"MSH-2 encoding characters {encoding_characters!r} are not usable")
    seps = er7.Separators.from_msh(field_sep, encoding_characters)
    msh = er7.Segment("MSH", fields, 1)
    reader = er7.Er7Message([msh], seps)
    return MessageHeader(
        field_separator=field_sep,
        encoding_characters=encoding_characters,
        sending_application=reader.joined(msh, 3),
        sending_facility=reader.joined(msh, 4),
        receiving_application=reader.joined(msh, 5),
        receiving_facility=reader.joined(msh, 6),
        sent_at=parse_dtm_or_none(reader.value(msh, 7)),
        message_type=reader.value(msh, 9, 1).strip().upper(),
        trigger=reader.value(msh, 9, 2).strip().upper(),
        structure=reader.value(msh, 9, 3).strip(),
        control_id=reader.value(msh, 10),
        processing_id=reader.joined(msh, 11),
        version=reader.value(msh, 12).strip(),
        charset=reader.value(msh, 18).strip(),
    )


def _msh_start(text: str) -> int:
    if text.startswith("MSH"):
        return 0
    stripped = len(text) - len(text.lstrip("\ufeff\x0b\x1c \t\r\n"))
    if text.startswith("MSH", stripped):
        return stripped
    for terminator in ("\rMSH", "\nMSH"):
        found = text.find(terminator)
        if found >= 0:
            return found + 1
    raise UnparseableMessage("No MSH segment found")


def _usable_encoding_characters(chars: str) -> bool:
    if not 1 <= len(chars) <= 5:
        return False
    if any(char.isalnum() or char.isspace() for char in chars):
        return False
    return len(set(chars[:4])) == len(chars[:4])


# Messages --------------------------------------------------------------------------------------


def parse_message(text: str, header: MessageHeader | None = None) -> ParsedMessage:
    """The header and the body of one cleaned message. Raises UnparseableMessage or ContentError.
    `header`, when the caller has already peeked it from this text, is not read again."""
    header = header or peek_header(text)
    reader = reader_for(text, header)
    handler = _handler_for(header)
    if not header.control_id.strip():
        raise ContentError(REQUIRED_FIELD_MISSING, "MSH-10 message control id is empty", "MSH^1^10")
    return ParsedMessage(header=header, body=handler(reader, header), text=text)


def reader_for(text: str, header: MessageHeader) -> er7.Er7Message:
    """The message's segments split into fields, with the separators its MSH declares."""
    seps = er7.Separators.from_msh(header.field_separator, header.encoding_characters)
    return er7.Er7Message.from_text(text[_msh_start(text) :], seps)


Handler = Callable[[er7.Er7Message, MessageHeader], MessageBody]


def _handler_for(header: MessageHeader) -> Handler:
    kind, trigger = header.message_type, header.trigger
    if not kind:
        raise ContentError(REQUIRED_FIELD_MISSING, "MSH-9 message type is empty", "MSH^1^9")
    if kind == "ACK":
        return _ack_info
    known: dict[str, tuple[frozenset[str], Handler]] = {
        "SIU": (SIU_TRIGGERS, _slot_event),
        "SQM": (frozenset({"S25"}), _slot_query),
        "SQR": (frozenset({"S25"}), _slot_query_response),
        "ORM": (frozenset({"O01"}), _order_event),
        "OMI": (frozenset({"O23"}), _order_event),
        "ADT": (ADT_TRIGGERS, _patient_update),
        "SRR": (SRR_TRIGGERS, _ack_info),
    }
    if kind not in known:
        raise ContentError(UNSUPPORTED_MESSAGE_TYPE, f"Message type {kind!r} is not supported", "MSH^1^9")
    triggers, handler = known[kind]
    if trigger not in triggers:
        raise ContentError(
            UNSUPPORTED_EVENT_CODE,
            f"Event {trigger or '(none)'!r} is not supported for {kind}",
            "MSH^1^9^1^2",
        )
    return handler


# Scheduling ------------------------------------------------------------------------------------


def _slot_event(reader: er7.Er7Message, header: MessageHeader) -> SlotEvent:
    blocks = _blocks(reader.segments, "SCH")
    if not blocks:
        raise ContentError(SEGMENT_SEQUENCE_ERROR, "SIU message has no SCH segment", "SCH")
    evn = reader.first("EVN")
    event_time = _dtm(reader, evn, 2) if evn is not None else None
    return _slot_from_block(reader, blocks[0], header.trigger, event_time or header.sent_at)


def _slot_query_response(reader: er7.Er7Message, header: MessageHeader) -> SlotQueryResponse:
    qak = reader.first("QAK")
    msa = reader.first("MSA")
    slots = tuple(
        _slot_from_block(reader, block, header.trigger, header.sent_at)
        for block in _blocks(reader.segments, "SCH")
    )
    return SlotQueryResponse(
        query_tag=reader.value(qak, 1) or reader.value(msa, 2),
        slots=slots,
        acknowledgment_code=reader.value(msa, 1).strip().upper(),
        query_status=reader.value(qak, 2).strip().upper(),
    )


def _slot_query(reader: er7.Er7Message, header: MessageHeader) -> SlotQuery:
    qrd, qrf, qpd = reader.first("QRD"), reader.first("QRF"), reader.first("QPD")
    arq, ais, aig, ail = reader.first("ARQ"), reader.first("AIS"), reader.first("AIG"), reader.first("AIL")
    candidates = {
        "who": reader.joined(qrd, 8),
        "what": reader.joined(qrd, 9),
        "what_department": reader.joined(qrd, 10),
        "where": reader.joined(qrf, 1),
        "start": reader.value(qrf, 2),
        "end": reader.value(qrf, 3),
        "query_name": reader.joined(qpd, 1),
        "appointment_type": reader.value(arq, 8) or reader.value(arq, 7),
        "service": reader.value(ais, 3),
        "resource": reader.value(aig, 3),
        "location": reader.value(ail, 3),
    }
    filters = {name: value for name, value in candidates.items() if value.strip("^ ")}
    return SlotQuery(
        query_tag=reader.value(qrd, 4) or reader.value(qpd, 2) or header.control_id, filters=filters
    )


def _blocks(segments: list[er7.Segment], head: str) -> list[list[er7.Segment]]:
    """Runs of segments, each starting at a `head` segment and ending before the next one."""
    blocks: list[list[er7.Segment]] = []
    for segment in segments:
        if segment.id == head:
            blocks.append([segment])
        elif blocks:
            blocks[-1].append(segment)
    return blocks


def _slot_from_block(
    reader: er7.Er7Message, block: list[er7.Segment], trigger: str, event_time: datetime | None
) -> SlotEvent:
    sch = block[0]
    placer = reader.value(sch, 1).strip()
    filler = reader.value(sch, 2).strip() or placer
    if not filler:
        raise ContentError(
            REQUIRED_FIELD_MISSING, "SCH-2 filler appointment id (and SCH-1) are empty", sch.location(2)
        )
    first = _first_of(block)
    tq1 = _first_before(block, "TQ1", "RGS")
    notes: list[str] = []
    starts_at, ends_at, duration = _slot_times(reader, sch, tq1, first, notes)
    status_code = reader.value(sch, 25).strip() or reader.value(first.get("AIS"), 10).strip()
    status_text = reader.value(sch, 25, 2).strip()
    pid = first.get("PID")
    return SlotEvent(
        trigger=trigger,
        filler_appointment_id=filler,
        placer_appointment_id=placer,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_minutes=duration,
        status_code=status_code,
        status_text=status_text,
        location=_location(reader, first.get("AIL")),
        resource_id=(reader.value(first.get("AIG"), 3) or reader.value(first.get("AIG"), 3, 2)).strip(),
        exam_codes=tuple(
            code
            for segment in block
            if segment.id == "AIS"
            if (code := _code(reader, segment, 3)) is not None
        ),
        patient=_patient(reader, pid) if pid is not None else None,
        event_time=event_time,
        reason=(reader.value(sch, 6) or reader.value(sch, 6, 2)).strip(),
        placer_group_number=reader.value(sch, 4).strip(),
        appointment_type=(reader.value(sch, 8) or reader.value(sch, 7)).strip(),
        notes=tuple(notes),
    )


def _first_of(block: list[er7.Segment]) -> dict[str, er7.Segment]:
    first: dict[str, er7.Segment] = {}
    for segment in block:
        first.setdefault(segment.id, segment)
    return first


def _first_before(block: list[er7.Segment], wanted: str, stop: str) -> er7.Segment | None:
    for segment in block:
        if segment.id == stop:
            return None
        if segment.id == wanted:
            return segment
    return None


def _slot_times(
    reader: er7.Er7Message,
    sch: er7.Segment,
    tq1: er7.Segment | None,
    first: dict[str, er7.Segment],
    notes: list[str],
) -> tuple[datetime | None, datetime | None, int | None]:
    """Start, end and minutes: TQ1-7/8/6, then SCH-11 (TQ ^4 start, ^5 end), then AIS, AIG, AIL, AIP."""
    ais, aig, ail, aip = first.get("AIS"), first.get("AIG"), first.get("AIL"), first.get("AIP")
    start_sources = ((tq1, 7, 1), (sch, 11, 4), (ais, 4, 1), (aig, 8, 1), (ail, 6, 1), (aip, 6, 1))
    starts_at = _first_time(reader, start_sources)
    ends_at = _first_time(reader, ((tq1, 8, 1), (sch, 11, 5)))
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        notes.append(f"end {ends_at.isoformat()} is not after the start; ignored")
        ends_at = None
    if starts_at is not None and ends_at is not None:
        return starts_at, ends_at, int((ends_at - starts_at).total_seconds() // 60)
    duration = _first_duration(reader, sch, tq1, ais, aig, ail, aip)
    if starts_at is not None and ends_at is None and duration is not None:
        ends_at = starts_at + timedelta(minutes=duration)
    return starts_at, ends_at, duration


def _first_time(
    reader: er7.Er7Message, sources: tuple[tuple[er7.Segment | None, int, int], ...]
) -> datetime | None:
    for segment, n, component in sources:
        if segment is None:
            continue
        moment = _dtm(reader, segment, n, component)
        if moment is not None:
            return moment
    return None


def _first_duration(
    reader: er7.Er7Message,
    sch: er7.Segment,
    tq1: er7.Segment | None,
    ais: er7.Segment | None,
    aig: er7.Segment | None,
    ail: er7.Segment | None,
    aip: er7.Segment | None,
) -> int | None:
    for segment, n, quantity, units in _duration_sources(reader, sch, tq1, ais, aig, ail, aip):
        try:
            minutes = duration_minutes(quantity, units)
        except ValueError as exc:
            raise ContentError(
                DATA_TYPE_ERROR, f"{quantity!r} is not a duration", segment.location(n)
            ) from exc
        if minutes is not None:
            return minutes
    return None


def _duration_sources(
    reader: er7.Er7Message,
    sch: er7.Segment,
    tq1: er7.Segment | None,
    ais: er7.Segment | None,
    aig: er7.Segment | None,
    ail: er7.Segment | None,
    aip: er7.Segment | None,
) -> Iterator[tuple[er7.Segment, int, str, str]]:
    """(segment, field, quantity, units) in order of trust, read lazily."""
    if tq1 is not None:
        yield tq1, 6, reader.value(tq1, 6, 1), reader.value(tq1, 6, 2)
    yield sch, 9, reader.value(sch, 9), reader.value(sch, 10)
    yield sch, 11, reader.value(sch, 11, 3), ""
    if ais is not None:
        yield ais, 7, reader.value(ais, 7), reader.value(ais, 8)
    if aig is not None:
        yield aig, 11, reader.value(aig, 11), reader.value(aig, 12)
    if ail is not None:
        yield ail, 9, reader.value(ail, 9), reader.value(ail, 10)
    if aip is not None:
        yield aip, 9, reader.value(aip, 9), reader.value(aip, 10)


def _location(reader: er7.Er7Message, ail: er7.Segment | None) -> Location | None:
    if ail is None:
        return None
    location = Location(
        point_of_care=reader.value(ail, 3, 1).strip(),
        room=reader.value(ail, 3, 2).strip(),
        bed=reader.value(ail, 3, 3).strip(),
        facility=reader.value(ail, 3, 4).strip(),
    )
    if not any((location.point_of_care, location.room, location.bed, location.facility)):
        return None
    return location


# Orders ----------------------------------------------------------------------------------------


def _order_event(reader: er7.Er7Message, header: MessageHeader) -> OrderEvent:
    pid = reader.first("PID")
    if pid is None:
        raise ContentError(SEGMENT_SEQUENCE_ERROR, f"{header.message_type} message has no PID segment", "PID")
    orders = _blocks(reader.segments, "ORC")
    if not orders:
        raise ContentError(SEGMENT_SEQUENCE_ERROR, f"{header.message_type} message has no ORC segment", "ORC")
    block = orders[0]
    orc = block[0]
    first = _first_of(block)
    obr, tq1, ipc = first.get("OBR"), first.get("TQ1"), first.get("IPC")
    raw_control = reader.value(orc, 1).strip()
    placer = reader.value(orc, 2).strip() or reader.value(obr, 2).strip()
    filler = reader.value(orc, 3).strip() or reader.value(obr, 3).strip()
    if not placer and not filler:
        raise ContentError(
            REQUIRED_FIELD_MISSING, "ORC-2/ORC-3 order numbers (and OBR-2/3) are empty", orc.location(2)
        )
    return OrderEvent(
        order_control=ORDER_CONTROLS.get(raw_control.upper(), ""),
        order_control_raw=raw_control,
        placer_order_number=placer,
        filler_order_number=filler,
        order_status=reader.value(orc, 5).strip(),
        patient=_patient(reader, pid),
        exam=_code(reader, obr, 4) if obr is not None else None,
        modality=(reader.value(obr, 24) or reader.value(ipc, 5)).strip(),
        priority_raw=(reader.value(tq1, 9) or reader.value(obr, 27, 6) or reader.value(orc, 7, 6)).strip(),
        ordered_at=_dtm(reader, orc, 9),
        clock_start_hint=_dtm(reader, orc, 15),
        referrer=_person(reader, orc, 12) or _person(reader, obr, 16),
        reason=_code_text(reader, orc, 16) or _code_text(reader, obr, 31),
        order_count=len(orders),
    )


def _person(reader: er7.Er7Message, segment: er7.Segment | None, n: int) -> str:
    if segment is None:
        return ""
    parts = [reader.value(segment, n, c).strip() for c in (1, 2, 3)]
    return "^".join(parts).rstrip("^")


def _code_text(reader: er7.Er7Message, segment: er7.Segment | None, n: int) -> str:
    return (reader.value(segment, n, 2) or reader.value(segment, n, 1)).strip()


# Patients --------------------------------------------------------------------------------------


def _patient_update(reader: er7.Er7Message, header: MessageHeader) -> PatientUpdate:
    pid = reader.first("PID")
    if pid is None:
        raise ContentError(SEGMENT_SEQUENCE_ERROR, f"ADT^{header.trigger} message has no PID segment", "PID")
    return PatientUpdate(patient=_patient(reader, pid))


def _patient(reader: er7.Er7Message, pid: er7.Segment) -> PatientDetails:
    nhs_number, local_ids = patient_identifiers(reader, pid)
    raw_dob = reader.value(pid, 7)
    try:
        date_of_birth = parse_date(raw_dob)
    except InvalidTime as exc:
        raise ContentError(
            DATA_TYPE_ERROR, f"PID-7 date of birth {raw_dob!r} is not a date", pid.location(7)
        ) from exc
    sex = reader.value(pid, 8).strip().upper()
    phone, email = _contacts(reader, pid)
    return PatientDetails(
        nhs_number=nhs_number,
        local_ids=local_ids,
        family_name=reader.value(pid, 5, 1, 1).strip(),
        given_name=reader.value(pid, 5, 2).strip(),
        date_of_birth=date_of_birth,
        sex=_NHS_SEX_CODES.get(sex, sex),
        postcode=_postcode(reader, pid),
        phone=phone,
        email=email,
    )


def patient_identifiers(reader: er7.Er7Message, pid: er7.Segment) -> tuple[str | None, tuple[str, ...]]:
    """(NHS number, other ids as ``id^^^authority^type``) from PID-3, and PID-2 where it is labelled NHS."""
    nhs_number: str | None = None
    local_ids: list[str] = []
    for n in (3, 2):
        for repetition in reader.repetitions(pid, n):
            identifier = reader.component_of(repetition, 1).strip()
            if not identifier:
                continue
            authority = reader.component_of(repetition, 4).strip()
            authority_oid = reader.component_of(repetition, 4, 2).strip()
            id_type = reader.component_of(repetition, 5).strip()
            if _is_nhs_label(authority, authority_oid, id_type):
                number = normalise_nhs_number(identifier)
                if not is_valid_nhs_number(number):
                    raise ContentError(
                        DATA_TYPE_ERROR,
                        f"NHS number {identifier!r} fails the modulus 11 check",
                        pid.location(n),
                    )
                if nhs_number is not None and nhs_number != number:
                    raise ContentError(
                        DATA_TYPE_ERROR, "PID carries two different NHS numbers", pid.location(n)
                    )
                nhs_number = number
            elif n == 3:
                local_ids.append(f"{identifier}^^^{authority}^{id_type}".rstrip("^"))
    return nhs_number, tuple(local_ids)


def _is_nhs_label(authority: str, authority_oid: str, id_type: str) -> bool:
    return (
        authority.upper() in _NHS_AUTHORITIES
        or authority_oid in _NHS_AUTHORITIES
        or id_type.upper() in _NHS_TYPES
    )


def _postcode(reader: er7.Er7Message, pid: er7.Segment) -> str:
    for repetition in reader.repetitions(pid, 11):
        postcode = reader.component_of(repetition, 5).strip()
        if postcode:
            return " ".join(postcode.upper().split())
    return ""


def _contacts(reader: er7.Er7Message, pid: er7.Segment) -> tuple[str, str]:
    """(phone, email): a mobile number first, else the first number; email from XTN-4 or an @ in XTN-1."""
    phones: list[tuple[bool, str]] = []
    email = ""
    for n in (13, 14):
        for repetition in reader.repetitions(pid, n):
            parts = reader.components(repetition)
            parts += [""] * (12 - len(parts))
            number, use, equipment, address = (p.strip() for p in parts[:4])
            if "@" in number:
                email = email or number
                continue
            if address and "@" in address:
                email = email or address
            number = number or parts[11].strip() or "".join(p.strip() for p in parts[4:7])
            if number:
                is_mobile = equipment.upper() == "CP" or use.upper() in ("MOBILE", "MOB", "CELL")
                phones.append((is_mobile and n == 13, number))
    phone = next((number for mobile, number in phones if mobile), phones[0][1] if phones else "")
    return phone, email


# Acknowledgements ------------------------------------------------------------------------------


def _ack_info(reader: er7.Er7Message, header: MessageHeader) -> AckInfo:
    return read_ack(reader)


def read_ack(reader: er7.Er7Message) -> AckInfo:
    """MSA and ERR of an ACK or SRR."""
    msa = reader.first("MSA")
    if msa is None:
        raise ContentError(SEGMENT_SEQUENCE_ERROR, "Acknowledgement has no MSA segment", "MSA")
    code = reader.value(msa, 1).strip().upper()
    if code not in ACK_CODES:
        raise ContentError(
            TABLE_VALUE_NOT_FOUND, f"MSA-1 {code!r} is not an acknowledgement code", msa.location(1)
        )
    error_codes: list[str] = []
    error_texts: list[str] = []
    for err in reader.all("ERR"):
        code_value = reader.value(err, 3).strip() or reader.value(err, 1, 4, 1).strip()
        if code_value:
            error_codes.append(code_value)
        text = (
            reader.value(err, 8).strip()
            or reader.value(err, 3, 2).strip()
            or reader.value(err, 1, 4, 2).strip()
            or reader.value(err, 1, 4, 5).strip()
        )
        if text:
            error_texts.append(text)
    text = reader.value(msa, 3).strip() or (error_texts[0] if error_texts else "")
    return AckInfo(
        code=code,
        acknowledged_control_id=reader.value(msa, 2),
        text=text,
        error_codes=tuple(error_codes),
    )


# Shared readers --------------------------------------------------------------------------------


def _dtm(reader: er7.Er7Message, segment: er7.Segment | None, n: int, component: int = 1) -> datetime | None:
    """An HL7 time as aware UTC, or ContentError 102 at SEG^k^n when it is not one."""
    if segment is None:
        return None
    raw = reader.value(segment, n, component)
    try:
        return parse_dtm(raw)
    except InvalidTime as exc:
        raise ContentError(
            DATA_TYPE_ERROR, f"{segment.id}-{n} {raw!r} is not an HL7 date/time", segment.location(n)
        ) from exc


def _code(reader: er7.Er7Message, segment: er7.Segment | None, n: int) -> Code | None:
    if segment is None:
        return None
    code = Code(
        identifier=reader.value(segment, n, 1).strip(),
        text=reader.value(segment, n, 2).strip(),
        system=reader.value(segment, n, 3).strip(),
    )
    return code if code.identifier or code.text else None
