"""The outbox: SRM^S01/S04 rows written with the booking change, sent to the trust's RIS until ACKed.

Writing (`write_for`) happens inside the booking's transaction (the booking signals are sent there),
so the row exists exactly when the booking does. Sending (`send`) claims a row with a conditional
update (pending → sending), so a task delivered twice sends once; the claim is a lease: a worker that
dies mid-send leaves the row to `release_stale` and the sweep. A network failure puts the row back to
pending with exponential backoff until MAX_ATTEMPTS, then FAILED. The RIS's answer:
AA/CA → ACKED; AE/AR/CE/CR → REJECTED. Each row and each answer is reported to the booking side
(`report`: booking.services.ris.report_ris_message), in the same transaction: it confirms a booking
waiting for the RIS, puts a refused one into conflict and re-offers its patient, and keeps what the
clerks' worklist reads. The transient "sending" claim is not reported (the booking side sees it as
still waiting).

A change the trust's own RIS told us about (an SIU cancelling a slot) is not echoed back to it: the
booking service says so with `origin=Origin.RIS`, which its signal carries here. Bookings the RIS
made (channel RIS) send nothing.
"""

from __future__ import annotations

import logging
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from booking.models import Booking, BookingChannel, RisAnswer, RisMessageKind
from booking.services.ris import report_ris_message
from slots.models import Trust
from slots.services import Origin

from .models import FeedProfile, OutboundKind, OutboundMessage, OutboundStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
SEND_LEASE = timedelta(minutes=5)
FIRST_SWEEP_AFTER = timedelta(seconds=60)  # the task normally sends first; the sweep is the safety net
CONNECT_TIMEOUT_SECONDS = 5.0
REPLY_TIMEOUT_SECONDS = 30.0
MAX_REPLY_BYTES = 1_000_000
ACCEPTED_CODES = frozenset({"AA", "CA"})

PLACER_PREFIX = "WMIN"


def placer_appointment_id(booking: Booking) -> str:
    """ARQ-1: how the RIS refers back to the hub's booking (echoed in SCH-1 of its SIU)."""
    return f"{PLACER_PREFIX}{booking.pk}"


def booking_id_from_placer(value: str | None) -> int | None:
    """The hub booking an SCH-1 names, if it is one of ours (`placer_appointment_id`); else None."""
    text = (value or "").strip()
    digits = text[len(PLACER_PREFIX) :]
    if not text.upper().startswith(PLACER_PREFIX) or not digits.isdigit():
        return None
    return int(digits)


# Writing -------------------------------------------------------------------------------------


def write_for(
    booking: Booking,
    kind: OutboundKind | str,
    *,
    reason: str = "",
    now: datetime | None = None,
    origin: Origin | str = Origin.HUB,
) -> OutboundMessage | None:
    """The outbox row for this booking change, in the caller's transaction; None when none is due
    (the RIS made the booking, or the change came from the RIS: `origin`)."""
    if booking.channel == BookingChannel.RIS or origin == Origin.RIS:
        return None
    slot = booking.slot
    if OutboundMessage.objects.filter(booking=booking, kind=kind).exists():
        return None  # a reschedule announces the cancel and the booking twice: write each once
    if kind == OutboundKind.CANCEL and OutboundMessage.objects.filter(
        booking=booking, kind=OutboundKind.BOOK, status=OutboundStatus.REJECTED
    ).exists():
        return None  # the RIS refused the booking: there is nothing of ours there to cancel
    now = now or timezone.now()
    trust = Trust.objects.get(pk=slot.trust_id)
    profile = FeedProfile.objects.filter(trust=trust).first()
    status, last_error = OutboundStatus.PENDING, ""
    if not trust.accepts_srm:
        status = OutboundStatus.CLERK_TASK
    elif profile is None or not profile.active or not profile.ris_host or not profile.ris_port:
        status, last_error = OutboundStatus.CLERK_TASK, "No RIS address in the trust's feed profile"
    control_id = new_control_id()
    try:
        payload = build_payload(booking, kind, profile=profile, trust=trust, control_id=control_id, reason=reason, now=now)
    except Exception as exc:  # a message we cannot build must not stop the booking: the clerks do it
        log.exception("hl7.srm_build_failed", extra={"booking_id": booking.pk})
        payload, status, last_error = "", OutboundStatus.CLERK_TASK, f"Could not build the SRM: {exc}"
    row = OutboundMessage.objects.create(
        trust=trust,
        booking=booking,
        kind=kind,
        control_id=control_id,
        payload=payload,
        status=status,
        last_error=last_error,
        next_attempt_at=now + FIRST_SWEEP_AFTER if status == OutboundStatus.PENDING else None,
    )
    report(row, status, last_error, now=now)
    if status == OutboundStatus.PENDING:
        transaction.on_commit(partial(enqueue, row.pk))
    return row


_ANSWERS = {
    OutboundStatus.PENDING: RisAnswer.WAITING,
    OutboundStatus.SENDING: RisAnswer.WAITING,
    OutboundStatus.ACKED: RisAnswer.ACCEPTED,
    OutboundStatus.REJECTED: RisAnswer.REFUSED,
    OutboundStatus.FAILED: RisAnswer.UNREACHABLE,
    OutboundStatus.CLERK_TASK: RisAnswer.CLERK_TASK,
}


def report(row: OutboundMessage, status: str, said: str = "", *, now: datetime) -> None:
    """Tell booking where this message stands (inside the caller's transaction)."""
    if row.booking_id is None:
        return
    report_ris_message(
        booking_id=row.booking_id,
        trust_id=row.trust_id,
        message_ref=row.control_id,
        kind=RisMessageKind.BOOK if row.kind == OutboundKind.BOOK else RisMessageKind.CANCEL,
        answer=_ANSWERS[OutboundStatus(status)],
        said=said,
        now=now,
        actor_label=f"{row.trust.ods_code} RIS",
    )


def enqueue(outbound_id: int) -> None:
    """Hand the row to Celery; if the broker is down the periodic sweep sends it instead."""
    from .tasks import send_outbound

    try:
        send_outbound.delay(outbound_id)
    except Exception:
        log.warning("hl7.enqueue_failed", extra={"outbound_id": outbound_id}, exc_info=True)


def new_control_id() -> str:
    """MSH-10 for an outbound message: 20 characters, the v2.3 limit, unique in practice and by constraint."""
    return "WM" + secrets.token_hex(9).upper()


def build_payload(
    booking: Booking,
    kind: OutboundKind | str,
    *,
    profile: FeedProfile | None,
    trust: Trust,
    control_id: str,
    reason: str = "",
    now: datetime,
) -> str:
    from wmin.feeds.hl7.model import Code, Location, PatientDetails
    from wmin.feeds.hl7.outbound import BookingRequest, build_srm

    slot = booking.slot
    referral = booking.referral
    patient = referral.patient
    exam = referral.exam_type
    ris_exam_code = exam.code
    for theirs, ours in ((profile.exam_code_map or {}) if profile else {}).items():
        if ours == exam.code:
            ris_exam_code = theirs
            break
    scanner = slot.scanner
    request = BookingRequest(
        placer_appointment_id=placer_appointment_id(booking),
        filler_appointment_id=slot.ris_slot_id,
        starts_at=slot.starts_at,
        duration_minutes=slot.duration_minutes,
        patient=PatientDetails(
            nhs_number=patient.nhs_number,
            local_ids=(),
            family_name=patient.family_name,
            given_name=patient.given_name,
            date_of_birth=patient.date_of_birth,
            sex=patient.sex,
            postcode=patient.postcode,
            phone=patient.mobile,
            email=patient.email,
        ),
        exam=Code(identifier=ris_exam_code, text=exam.name, system=(profile.exam_code_system if profile else "")),
        location=Location(point_of_care=slot.site.code, room="", bed="", facility=slot.site.code),
        resource_id=scanner.ris_resource_id if scanner else "",
        reason=reason[:200] or (f"Booked by the WMIN hub ({booking.get_channel_display()})" if kind == OutboundKind.BOOK else ""),
    )
    facilities = list(profile.sending_facilities or []) if profile else []
    applications = list(profile.sending_applications or []) if profile else []
    return build_srm(
        "S01" if kind == OutboundKind.BOOK else "S04",
        request,
        control_id=control_id,
        sending_application=settings.HUB_APPLICATION,
        sending_facility=settings.HUB_FACILITY,
        receiving_application=str(applications[0]) if applications else "RIS",
        receiving_facility=str(facilities[0]) if facilities else trust.ods_code,
        version=(profile.hl7_version if profile else "") or "2.5.1",
        now=now,
    )


# Sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    status: str
    retry_in: int | None = None


def send(outbound_id: int, *, now: datetime | None = None) -> SendResult:
    """Send one outbox row if it is pending; record what the RIS said."""
    now = now or timezone.now()
    claimed = OutboundMessage.objects.filter(pk=outbound_id, status=OutboundStatus.PENDING).update(
        status=OutboundStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + SEND_LEASE
    )
    if not claimed:
        return SendResult("not pending")
    row = OutboundMessage.objects.select_related("trust", "booking").get(pk=outbound_id)

    if row.kind == OutboundKind.CANCEL and row.booking_id and _booking_still_being_sent(row):
        # The RIS must see the booking before its cancellation.
        wait = BASE_BACKOFF_SECONDS
        OutboundMessage.objects.filter(pk=row.pk).update(
            status=OutboundStatus.PENDING, attempts=F("attempts") - 1, next_attempt_at=now + timedelta(seconds=wait)
        )
        return SendResult("waiting for the booking message", retry_in=wait)

    profile = FeedProfile.objects.filter(trust_id=row.trust_id).first()
    if profile is None or not profile.ris_host or not profile.ris_port:
        said = "No RIS address in the trust's feed profile"
        with transaction.atomic():
            OutboundMessage.objects.filter(pk=row.pk).update(status=OutboundStatus.CLERK_TASK, last_error=said)
            report(row, OutboundStatus.CLERK_TASK, said, now=now)
        return SendResult(OutboundStatus.CLERK_TASK)

    try:
        reply = exchange(profile.ris_host, int(profile.ris_port), row.payload.encode("utf-8"))
        info, reply_text = _read_reply(reply)
        acknowledged = str(getattr(info, "acknowledged_control_id", "") or "").strip()
        if acknowledged and acknowledged != row.control_id:
            raise ValueError(f"The reply acknowledges {acknowledged!r}, not {row.control_id!r}")
    except Exception as exc:
        return _retry_later(row, f"{type(exc).__name__}: {exc}", now)

    code = str(info.code or "").upper()
    if code in ACCEPTED_CODES:
        with transaction.atomic():
            OutboundMessage.objects.filter(pk=row.pk).update(
                status=OutboundStatus.ACKED, ack=reply_text, sent_at=now, last_error="", next_attempt_at=None
            )
            report(row, OutboundStatus.ACKED, str(info.text or "").strip(), now=now)
        return SendResult(OutboundStatus.ACKED)

    said = str(info.text or "").strip() or f"The RIS answered {code or 'without a code'}"
    with transaction.atomic():
        OutboundMessage.objects.filter(pk=row.pk).update(
            status=OutboundStatus.REJECTED, ack=reply_text, sent_at=now, last_error=said[:2000], next_attempt_at=None
        )
        report(row, OutboundStatus.REJECTED, said, now=now)  # a refused booking: conflict, next best slot offered
    return SendResult(OutboundStatus.REJECTED)


def exchange(host: str, port: int, payload: bytes, *, timeout: float = REPLY_TIMEOUT_SECONDS) -> bytes:
    """Send one framed message over MLLP and return the first framed reply."""
    from wmin.feeds.hl7.mllp import MllpDecoder, frame

    decoder = MllpDecoder(MAX_REPLY_BYTES)
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS) as sock:
        sock.settimeout(timeout)
        sock.sendall(frame(payload))
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("The RIS closed the connection without answering")
            replies = decoder.feed(chunk)
            if replies:
                return replies[0]


def due_ids(now: datetime | None = None, *, limit: int = 500) -> list[int]:
    """Rows to send now: pending and due, plus rows whose sender died (lease expired)."""
    now = now or timezone.now()
    release_stale(now)
    return list(
        OutboundMessage.objects.filter(status=OutboundStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def release_stale(now: datetime) -> int:
    """A worker that died mid-send leaves its row sending; after the lease it is pending again."""
    return OutboundMessage.objects.filter(status=OutboundStatus.SENDING, next_attempt_at__lte=now).update(
        status=OutboundStatus.PENDING
    )


def backoff_seconds(attempts: int) -> int:
    return min(BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


# Internals -----------------------------------------------------------------------------------


def _read_reply(reply: bytes) -> tuple[object, str]:
    from wmin.feeds.hl7 import envelope
    from wmin.feeds.hl7.outbound import parse_reply

    cleaned = envelope.clean(reply)
    text = cleaned[0].text if cleaned else reply.decode("utf-8", errors="replace")
    return parse_reply(text), text


def _retry_later(row: OutboundMessage, error: str, now: datetime) -> SendResult:
    attempts = row.attempts
    if attempts >= MAX_ATTEMPTS:
        with transaction.atomic():
            OutboundMessage.objects.filter(pk=row.pk).update(
                status=OutboundStatus.FAILED, last_error=error[:2000], next_attempt_at=None
            )
            report(row, OutboundStatus.FAILED, error, now=now)
        log.error("hl7.outbound_failed", extra={"outbound_id": row.pk, "error": error})
        return SendResult(OutboundStatus.FAILED)
    wait = backoff_seconds(attempts)
    OutboundMessage.objects.filter(pk=row.pk).update(
        status=OutboundStatus.PENDING, last_error=error[:2000], next_attempt_at=now + timedelta(seconds=wait)
    )
    log.warning("hl7.outbound_retry", extra={"outbound_id": row.pk, "error": error, "retry_in": wait})
    return SendResult(OutboundStatus.PENDING, retry_in=wait)


def _booking_still_being_sent(row: OutboundMessage) -> bool:
    return OutboundMessage.objects.filter(
        booking_id=row.booking_id,
        kind=OutboundKind.BOOK,
        status__in=[OutboundStatus.PENDING, OutboundStatus.SENDING],
    ).exists()
