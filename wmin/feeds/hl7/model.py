"""What the hub reads from an HL7 v2 message: small frozen dataclasses, no HL7 syntax left in them.

Values are unescaped text. Where a field has components the hub keeps whole (the HD fields of MSH,
MSH-11), they are joined with ``^`` whatever the sender's encoding characters were. Datetimes are
timezone-aware UTC; an HL7 time without an offset is read as Europe/London.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class MessageHeader:
    """MSH, as read by `parse.peek_header`."""

    field_separator: str
    encoding_characters: str
    sending_application: str  # MSH-3 (HD, components joined by ^)
    sending_facility: str  # MSH-4
    receiving_application: str  # MSH-5
    receiving_facility: str  # MSH-6
    sent_at: datetime | None  # MSH-7
    message_type: str  # MSH-9.1, upper case
    trigger: str  # MSH-9.2, upper case
    structure: str  # MSH-9.3 as sent ("" when absent)
    control_id: str  # MSH-10
    processing_id: str  # MSH-11 (e.g. "P" or "P^T")
    version: str  # MSH-12.1
    charset: str  # MSH-18 first repetition as sent ("" when absent)

    @property
    def message_code(self) -> str:
        """``TYPE^TRIGGER`` (``ACK`` alone when there is no trigger)."""
        return f"{self.message_type}^{self.trigger}" if self.trigger else self.message_type

    @property
    def sending_facility_id(self) -> str:
        """MSH-4's namespace id (its first non-empty component)."""
        return _first_component(self.sending_facility)

    @property
    def sending_application_id(self) -> str:
        """MSH-3's namespace id (its first non-empty component)."""
        return _first_component(self.sending_application)


@dataclass(frozen=True)
class Code:
    """A coded element (CE/CWE): identifier, text, coding system."""

    identifier: str
    text: str
    system: str


@dataclass(frozen=True)
class Location:
    """A PL location: point of care, room, bed, facility (AIL-3, PV1-3)."""

    point_of_care: str
    room: str
    bed: str
    facility: str


@dataclass(frozen=True)
class PatientDetails:
    """PID: who the patient is. `nhs_number` is validated (mod 11) when present."""

    nhs_number: str | None
    local_ids: tuple[str, ...]  # other PID-3 identifiers as "id^^^authority^type"
    family_name: str
    given_name: str
    date_of_birth: date | None
    sex: str
    postcode: str
    phone: str
    email: str


@dataclass(frozen=True)
class SlotEvent:
    """One SIU scheduling event about one appointment/slot (S12-S17, S23, S24, S26), or one SQR slot."""

    trigger: str
    filler_appointment_id: str  # SCH-2.1, the RIS slot id (falls back to SCH-1.1)
    placer_appointment_id: str  # SCH-1.1
    starts_at: datetime | None
    ends_at: datetime | None
    duration_minutes: int | None
    status_code: str  # SCH-25.1 as sent (feed profiles map it)
    status_text: str  # SCH-25.2
    location: Location | None  # AIL-3 (first resource group)
    resource_id: str  # AIG-3.1 (the scanner)
    exam_codes: tuple[Code, ...]  # AIS-3 of every service
    patient: PatientDetails | None
    event_time: datetime | None  # EVN-2 or MSH-7
    reason: str  # SCH-6 event reason (identifier, else text)
    placer_group_number: str = ""  # SCH-4.1
    appointment_type: str = ""  # SCH-8.1 (or SCH-7.1)
    notes: tuple[str, ...] = ()  # repairs made while reading (e.g. an end before the start ignored)


@dataclass(frozen=True)
class SlotQuery:
    """SQM^S25: a request for open slots; `filters` holds what the query names."""

    query_tag: str
    filters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotQueryResponse:
    """SQR^S25: the slots a RIS reports for a query."""

    query_tag: str
    slots: tuple[SlotEvent, ...]
    acknowledgment_code: str = ""  # MSA-1
    query_status: str = ""  # QAK-2 (OK, NF, AE, AR)


@dataclass(frozen=True)
class OrderEvent:
    """ORM^O01 / OMI^O23: a referral joining, changing or leaving the waiting list (first ORC/OBR)."""

    order_control: str  # normalised: NW, XO, CA, DC, SC, OC, HD, RL or ""
    order_control_raw: str
    placer_order_number: str  # ORC-2.1 (OBR-2.1)
    filler_order_number: str  # ORC-3.1 (OBR-3.1)
    order_status: str  # ORC-5
    patient: PatientDetails | None
    exam: Code | None  # OBR-4
    modality: str  # OBR-24, then IPC-5
    priority_raw: str  # TQ1-9, then OBR-27.6, then ORC-7.6
    ordered_at: datetime | None  # ORC-9
    clock_start_hint: datetime | None  # ORC-15
    referrer: str  # ORC-12 / OBR-16 as "id^family^given"
    reason: str  # ORC-16 / OBR-31 (text, else identifier)
    order_count: int = 1  # ORC segments in the message (only the first is read)


@dataclass(frozen=True)
class PatientUpdate:
    """ADT A01/A04/A08/A28/A31: new demographics for a patient."""

    patient: PatientDetails


@dataclass(frozen=True)
class AckInfo:
    """ACK or SRR: the answer to a message we sent (MSA, ERR)."""

    code: str  # MSA-1: AA, AE, AR (CA, CE, CR in enhanced mode)
    acknowledged_control_id: str  # MSA-2
    text: str  # MSA-3, else the first ERR's text
    error_codes: tuple[str, ...]  # ERR-3.1 (or ERR-1.4.1 in v2.2-2.4 ELD)
    filler_appointment_id: str = ""  # SRR: SCH-2 of the appointment the RIS booked

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


MessageBody = SlotEvent | SlotQuery | SlotQueryResponse | OrderEvent | PatientUpdate | AckInfo


@dataclass(frozen=True)
class ParsedMessage:
    """A parsed inbound message: its header, what it says, and the cleaned text it was read from."""

    header: MessageHeader
    body: MessageBody
    text: str


def _first_component(value: str) -> str:
    for part in value.split("^"):
        if part.strip():
            return part.strip()
    return ""
