"""HL7 v2 text as trust RIS systems write it, for the simulator, the tests and the bench.

Each trust's `RisStyle` carries its quirks: facility code, application, HL7 version, segment
terminator (some engines send LF), the word its RIS uses for each status (Barts says `Confirmed`,
others `Scheduled^^CSI`) and whether it sends the exam as AIS-3 or only as the SCH-8 appointment type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from wmin.feeds.hl7.er7 import escape
from wmin.feeds.hl7.times import format_local_dtm


@dataclass(frozen=True)
class RisStyle:
    facility: str
    application: str = "RIS"
    version: str = "2.5.1"
    line_ending: str = "\r"
    status_words: dict[str, str] = field(
        default_factory=lambda: {"booked": "Booked", "open": "Open", "blocked": "Blocked", "cancelled": "Cancelled"}
    )
    exam_in_appointment_type: bool = False
    with_evn: bool = True


@dataclass(frozen=True)
class SimPatient:
    nhs_number: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str = "F"
    postcode: str = "B15 2TT"
    mobile: str = "07700900123"
    email: str = ""
    mrn: str = ""


def hl7_time(moment: datetime) -> str:
    return format_local_dtm(moment)


def msh(style: RisStyle, message_code: str, control_id: str, sent_at: datetime) -> str:
    return (
        f"MSH|^~\\&|{style.application}|{style.facility}|WMIN-HUB|WMIN|{hl7_time(sent_at)}||{message_code}|"
        f"{control_id}|P|{style.version}"
    )


def pid(patient: SimPatient | None) -> str:
    if patient is None:
        return "PID|1||^^^^U"
    ids = f"{patient.nhs_number}^^^NHS^NH"
    if patient.mrn:
        ids += f"~{escape(patient.mrn)}^^^MRN^MR"
    phones = f"{patient.mobile}^PRN^CP" if patient.mobile else ""
    if patient.email:
        phones += f"~^NET^Internet^{escape(patient.email)}"
    return (
        f"PID|1||{ids}||{escape(patient.family_name)}^{escape(patient.given_name)}||"
        f"{patient.date_of_birth:%Y%m%d}|{patient.sex}|||^^^^{escape(patient.postcode)}||{phones}"
    )


def siu(
    trigger: str,
    *,
    style: RisStyle,
    control_id: str,
    sent_at: datetime,
    slot_id: str,
    starts_at: datetime,
    minutes: int,
    status: str = "",
    scanner_id: str = "",
    site_code: str = "",
    exam_code: str = "",
    exam_name: str = "",
    patient: SimPatient | None = None,
    placer_id: str = "",
    event_time: datetime | None = None,
    reason: str = "",
    event_reason: str = "",
) -> str:
    """One SIU^Sxx about one slot: SCH (+TQ1 from 2.5), PID when a patient is named, RGS/AIS/AIG/AIL.
    `reason` is SCH-7 (the appointment's reason), `event_reason` SCH-6 (e.g. why it was cancelled)."""
    ends_at = starts_at.timestamp() + minutes * 60
    end = datetime.fromtimestamp(ends_at, tz=starts_at.tzinfo)
    word = style.status_words.get(status, status) if status else ""
    appointment_type = exam_code if style.exam_in_appointment_type else ""
    segments = [msh(style, f"SIU^{trigger}^SIU_S12", control_id, sent_at)]
    if style.with_evn:
        segments.append(f"EVN|{trigger}|{hl7_time(event_time or sent_at)}")
    segments.append(
        f"SCH|{escape(placer_id)}|{escape(slot_id)}||||{escape(event_reason)}|{escape(reason)}|{escape(appointment_type)}|{minutes}|MIN|"
        f"^^{minutes}^{hl7_time(starts_at)}^{hl7_time(end)}||||||||||||||{word}"
    )
    if not style.version.startswith(("2.3", "2.4")):
        segments.append(f"TQ1|1||||||{hl7_time(starts_at)}|{hl7_time(end)}")
    if patient is not None:
        segments.append(pid(patient))
    segments.append("RGS|1|A")
    if exam_code and not style.exam_in_appointment_type:
        segments.append(f"AIS|1|A|{escape(exam_code)}^{escape(exam_name)}|{hl7_time(starts_at)}|||{minutes}|MIN")
    if scanner_id:
        segments.append(f"AIG|1|A|{escape(scanner_id)}|||||{hl7_time(starts_at)}|||{minutes}|MIN")
    if site_code:
        segments.append(f"AIL|1|A|{escape(site_code)}^^^{escape(site_code)}|||{hl7_time(starts_at)}|||{minutes}|MIN")
    return style.line_ending.join(segments) + style.line_ending


def orm(
    control: str,
    *,
    style: RisStyle,
    control_id: str,
    sent_at: datetime,
    placer: str,
    patient: SimPatient,
    exam_code: str,
    exam_name: str = "",
    priority: str = "R",
    clock_start: datetime | None = None,
    modality: str = "",
    omi: bool = False,
) -> str:
    """ORM^O01 (or OMI^O23 with TQ1 and IPC from v2.5) for one order."""
    code = "OMI^O23^OMI_O23" if omi else "ORM^O01^ORM_O01"
    segments = [msh(style, code, control_id, sent_at), pid(patient)]
    segments.append(
        f"ORC|{control}|{escape(placer)}|||SC||^^^^^{priority}||{hl7_time(sent_at)}|||^REFERRER^GP|||"
        f"{hl7_time(clock_start) if clock_start else ''}"
    )
    if omi and not style.version.startswith(("2.3", "2.4")):
        segments.append(f"TQ1|1||||||||{priority}")
    segments.append(
        f"OBR|1|{escape(placer)}||{escape(exam_code)}^{escape(exam_name)}|||||||||||||||||||{escape(modality)}|||"
        f"^^^^^{priority}"
    )
    if omi:
        segments.append(f"IPC|ACC{escape(placer)}|RP1|1.2.826.0.1.{abs(hash(placer)) % 10**8}|SPS1|{escape(modality)}")
    return style.line_ending.join(segments) + style.line_ending


def adt(trigger: str, *, style: RisStyle, control_id: str, sent_at: datetime, patient: SimPatient) -> str:
    structure = "ADT_A05" if trigger == "A31" else "ADT_A01"
    segments = [
        msh(style, f"ADT^{trigger}^{structure}", control_id, sent_at),
        f"EVN|{trigger}|{hl7_time(sent_at)}",
        pid(patient),
        "PV1|1|O",
    ]
    return style.line_ending.join(segments) + style.line_ending


def sqr(
    *,
    style: RisStyle,
    control_id: str,
    sent_at: datetime,
    query_control_id: str,
    query_tag: str,
    slots: list[dict[str, object]],
) -> str:
    """SQR^S25 answering an SQM: MSA, QAK, then one SCH/TQ1/RGS/AIG/AIL block per open slot."""
    segments = [
        msh(style, "SQR^S25^SQR_S25", control_id, sent_at),
        f"MSA|AA|{escape(query_control_id)}",
        f"QAK|{escape(query_tag)}|{'OK' if slots else 'NF'}",
    ]
    for slot in slots:
        starts_at = slot["starts_at"]
        minutes = int(slot["minutes"])  # type: ignore[call-overload]
        assert isinstance(starts_at, datetime)
        end = datetime.fromtimestamp(starts_at.timestamp() + minutes * 60, tz=starts_at.tzinfo)
        word = style.status_words.get("open", "Open")
        segments.append(
            f"SCH||{escape(str(slot['slot_id']))}|||||||{minutes}|MIN|^^{minutes}^{hl7_time(starts_at)}^{hl7_time(end)}"
            f"||||||||||||||{word}"
        )
        segments.append(f"TQ1|1||||||{hl7_time(starts_at)}|{hl7_time(end)}")
        segments.append("RGS|1|A")
        if slot.get("scanner_id"):
            segments.append(f"AIG|1|A|{escape(str(slot['scanner_id']))}")
    return style.line_ending.join(segments) + style.line_ending
