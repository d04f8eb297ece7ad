"""The trust's RIS and the hub's bookings: what it booked itself, and what it answered us.

- `record_ris_booking`: a patient on a trust's waiting list was booked in the trust's own RIS (an
  SIU^S12 the hub had no booking for): the booking, its history, the referral's status and the
  audit event, written here as `bookings.confirm_booking` writes them, without the SRM (the RIS made
  it) or the patient's message (the trust has told them). Only an unambiguous match is linked.
- `report_ris_message`: whatever sends the hub's bookings to a RIS (the HL7 outbox in wmin.feeds)
  reports each message and each answer here. The booking follows the answer: a booking waiting
  for the RIS (PENDING_RIS) is confirmed when the RIS accepts it, or when the trust cannot take
  messages at all (its clerks book it in by hand); a refused booking goes into conflict, its slot
  leaves the pool (the RIS has it), and `booking.receivers` offers the patient the next best slot.
  The clerks' worklist reads these rows (RisDelivery), never the sender's own tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from audit.models import AuditAction
from audit.trail import record
from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Patient,
    Referral,
    ReferralStatus,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)
from slots.models import ExamType, Slot, Trust
from slots.services import changes as slot_changes

from .bookings import _lock_booking, _write_status_change, mark_conflict, transition
from .referrals import change_referral_status

# (trust id, NHS number, modality id) → ids of that patient's referrals waiting at that trust for it.
WaitingReferrals = dict[tuple[int, str, int], list[int]]
WAITING_STATUSES = (ReferralStatus.WAITING, ReferralStatus.OFFERED)


# Bookings the RIS made ---------------------------------------------------------------------------


def waiting_referrals(patients: list[tuple[int, str]]) -> WaitingReferrals:
    """(trust, NHS number) pairs → the referrals waiting there, by modality, in id order, locked.
    Plain SQL: every SIU^S12 asks this, most find nobody, and the ORM spent longer compiling the
    query than the database did answering it. A feed reading a group of messages asks once for all."""
    if not patients:
        return {}
    lock = " FOR UPDATE OF r" if connection.features.has_select_for_update_of else ""
    pairs = ", ".join(["(%s, %s)"] * len(patients))
    sql = (
        f"SELECT r.id, r.trust_id, p.nhs_number, e.modality_id FROM {Referral._meta.db_table} r "
        f"JOIN {Patient._meta.db_table} p ON p.id = r.patient_id "
        f"JOIN {ExamType._meta.db_table} e ON e.id = r.exam_type_id "
        f"WHERE r.status IN (%s, %s) AND (r.trust_id, p.nhs_number) IN ({pairs}) ORDER BY r.id{lock}"
    )
    params: list[object] = list(WAITING_STATUSES)
    for trust_id, nhs in patients:
        params += [trust_id, nhs]
    waiting: WaitingReferrals = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for referral_id, trust_id, nhs, modality_id in cursor.fetchall():
            waiting.setdefault((trust_id, nhs, modality_id), []).append(referral_id)
    return waiting


def record_ris_booking(
    slot: Slot,
    *,
    trust: Trust,
    nhs_number: str,
    actor_label: str,
    now: datetime,
    inbound_message_id: int | None = None,
    waiting: WaitingReferrals | None = None,
    before_write: Callable[[], None] | None = None,
) -> str:
    """Link the slot the trust's RIS booked to the one referral of this patient waiting there for
    this modality, if there is exactly one. Returns a note for the message log ("" if none).

    `waiting`: the referrals read ahead for a group of messages (`waiting_referrals`); the one booked
    here is taken out of it. `before_write`: called before anything is written (a feed writes the
    slot rows it held back, so the booking can point at the slot).
    """
    key = (trust.pk, nhs_number, slot.modality_id or 0)
    if waiting is None:
        waiting = waiting_referrals([(trust.pk, nhs_number)])
    candidates = waiting.get(key, [])[:2]
    if len(candidates) != 1:
        return ""
    referral = Referral.objects.select_related("patient").get(pk=candidates[0])
    if before_write is not None:
        before_write()
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                referral=referral, slot=slot, status=BookingStatus.CONFIRMED, channel=BookingChannel.RIS
            )
            _write_status_change(
                booking,
                "",
                BookingStatus.CONFIRMED,
                actor_user=None,
                actor_label=actor_label,
                reason=f"Booked in {trust}'s RIS (slot {slot.ris_slot_id})",
            )
            change_referral_status(
                referral,
                ReferralStatus.BOOKED,
                now=now,
                reason=f"Booked in {trust}'s RIS",
                actor_label=actor_label,
                booking=booking,
            )
            record(
                AuditAction.CREATE,
                booking,
                summary=f"{trust}'s RIS booked {referral.booking_reference} into slot {slot.pk}",
                patient_id=referral.patient_id,
                detail={"slot_id": slot.pk, "channel": BookingChannel.RIS, "inbound_message_id": inbound_message_id},
            )
    except IntegrityError:
        return f"referral {referral.booking_reference} could not be linked (already booked)"
    ids = waiting.get(key, [])
    if referral.pk in ids:
        ids.remove(referral.pk)
    return f"referral {referral.booking_reference} booked locally"


# What the RIS answered ---------------------------------------------------------------------------


def report_ris_message(
    *,
    booking_id: int,
    trust_id: int,
    message_ref: str,
    kind: RisMessageKind | str,
    answer: RisAnswer | str,
    now: datetime,
    said: str = "",
    actor_label: str = "",
) -> RisDelivery:
    """Record a message to the trust's RIS about a booking, or its answer, and move the booking on.
    Call inside the sender's transaction, so the answer and the booking commit together."""
    delivery, created = RisDelivery.objects.get_or_create(
        message_ref=message_ref,
        defaults=dict(booking_id=booking_id, trust_id=trust_id, kind=kind, answer=answer, said=said[:2000], created_at=now),
    )
    if not created:
        if delivery.answer == answer and delivery.said == said[:2000]:
            return delivery
        delivery.answer, delivery.said = answer, said[:2000]
        delivery.answered_at = None if answer == RisAnswer.WAITING else now
        delivery.save(update_fields=["answer", "said", "answered_at"])
    if kind != RisMessageKind.BOOK:
        return delivery
    label = actor_label or "trust RIS"
    if answer == RisAnswer.ACCEPTED:
        _confirm_if_pending(booking_id, label, "The RIS accepted the booking")
    elif answer == RisAnswer.CLERK_TASK:
        _confirm_if_pending(booking_id, label, f"The RIS takes no booking messages: its clerks book it in by hand. {said}".strip())
    elif answer == RisAnswer.REFUSED:
        refuse_booking(booking_id, said or "The RIS refused the booking", actor_label=label, now=now)
    return delivery


def refuse_booking(booking_id: int, said: str, *, actor_label: str, now: datetime) -> Booking | None:
    """The RIS refused the hub's booking: the booking goes into conflict (the clerks see it, and
    `booking.receivers` offers the patient the next best slot), and the slot leaves the pool as
    blocked, since the RIS holds it; its next SIU for the slot says what it really is."""
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if booking.status not in (BookingStatus.PENDING_RIS, BookingStatus.CONFIRMED):
            return None
        slot_changes.block_refused(booking.slot_id, now=now)
        trust = booking.slot.site.trust
        return mark_conflict(booking, f"{trust}'s RIS refused the booking: {said}"[:500], actor_label=actor_label, now=now)


def _confirm_if_pending(booking_id: int, actor_label: str, reason: str) -> None:
    with transaction.atomic():
        booking = _lock_booking(booking_id)
        if booking.status == BookingStatus.PENDING_RIS:
            transition(booking, BookingStatus.CONFIRMED, actor_label=actor_label, reason=reason)
