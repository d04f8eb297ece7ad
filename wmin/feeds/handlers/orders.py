"""ORM^O01 / OMI^O23: referrals joining, changing and leaving the trust's waiting list.

Keyed by (trust, placer order number ORC-2, else the filler's ORC-3). The core normalises ORC-1:

- NW  adds the referral: the patient upserted by NHS number (PID-3 ``^^^NHS^NH``), the exam from OBR-4
      through the profile's exam_code_map (or the hub catalogue's own code), the clock started at
      ORC-15 if sent, else at this first NW's message time (MSH-7). A repeated NW updates exam and
      priority but never the clock.
- XO  changes exam, priority and demographics; never the clock. An XO for an order the hub has not
      seen adds it (the clock then starts at ORC-15 or this message).
      An exam change to another modality while booked puts the booking in conflict for the clerks.
- CA, DC, OC remove it (status removed); an active booking is cancelled through booking.services,
      which also sends the SRM^S04 to the RIS holding the slot. A cancel for an unknown order is
      recorded as a removed referral when it names patient and exam, so a late NW cannot add it.
- SC  with ORC-5 CM marks it scanned (a confirmed booking becomes attended); CA/DC remove it; other
      statuses update it like XO.
- HD, RL: acknowledged; the waiting list has no on-hold state. Anything else (ORC-1 unknown): AE 103.

Priority (TQ1-9, OBR-27.6, ORC-7.6), upper-cased: S, STAT, A, ASAP, U, URGENT, E, EMERGENCY → urgent;
2WW, TWW, CANCER, 2 WEEK WAIT (or any value naming cancer or 2WW) → cancer; SOON → soon;
R, ROUTINE, P, C, T, PRN and empty → routine; anything else → routine, noted on the message.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from booking.models import Booking, BookingStatus, CancelledBy, Patient, Priority, Referral, ReferralStatus
from booking.models.bookings import ACTIVE_BOOKING_STATUSES
from booking.services.referrals import change_referral_status
from booking.signals import referral_added
from slots.models import ExamType
from wmin.feeds.hl7.errors import ContentError

from . import FeedContext, Outcome, aware, bodies
from .patients import create_patient, nhs_number_of, update_patient

if TYPE_CHECKING:
    from wmin.feeds.hl7.model import OrderEvent, ParsedMessage

REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY3479"
ACTIVE_REFERRAL = (ReferralStatus.WAITING, ReferralStatus.OFFERED, ReferralStatus.BOOKED)
_PRIORITIES: dict[str, str] = {
    **dict.fromkeys(("S", "STAT", "A", "ASAP", "U", "URGENT", "E", "EMERGENCY"), Priority.URGENT),
    **dict.fromkeys(("2WW", "TWW", "CANCER", "2 WEEK WAIT", "TWO WEEK WAIT", "2WW CANCER"), Priority.CANCER),
    **dict.fromkeys(("SOON",), Priority.SOON),
    **dict.fromkeys(("R", "ROUTINE", "P", "C", "T", "PRN", ""), Priority.ROUTINE),
}


def handle(parsed: ParsedMessage, ctx: FeedContext) -> Outcome:
    outcomes = []
    for order in bodies(parsed):
        count = getattr(order, "order_count", 1) or 1
        if count > 1:
            raise ContentError(
                "207",
                f"The message holds {count} orders; the hub reads one order per message, so none was applied",
                "ORC",
            )
        outcomes.append(apply_order(order, ctx))
    return Outcome(any(o.applied for o in outcomes), "; ".join(o.note for o in outcomes if o.note))


def apply_order(order: OrderEvent, ctx: FeedContext) -> Outcome:
    placer = (order.placer_order_number or order.filler_order_number or "").strip()[:60]
    if not placer:
        raise ContentError("101", "ORC-2 placer order number is empty", "ORC^1^2")
    control = order.order_control
    referral = Referral.objects.select_for_update(of=("self",)).filter(trust=ctx.trust, placer_order_number=placer).first()

    if control == "NW":
        if referral is None:
            return _add(order, placer, ctx)
        return _change(referral, order, ctx, note="order already on the list: clock kept")
    if control == "XO":
        if referral is None:
            return _add(order, placer, ctx, note="change to an order the hub had not seen: added")
        return _change(referral, order, ctx)
    if control in ("CA", "DC", "OC"):
        return _remove(referral, order, placer, ctx)
    if control == "SC":
        status = (order.order_status or "").strip().upper()
        if status in ("CA", "DC"):
            return _remove(referral, order, placer, ctx)
        if referral is None:
            return Outcome(False, f"status {status or '(none)'} for an order the hub has not seen")
        if status == "CM":
            return _complete(referral, ctx)
        return _change(referral, order, ctx)
    if control in ("HD", "RL"):
        return Outcome(False, f"ORC-1 {order.order_control_raw}: the waiting list has no on-hold state")
    raise ContentError("103", f"ORC-1 {order.order_control_raw!r} is not an order control the hub knows", "ORC^1^1")


def priority_of(raw: str) -> tuple[str, str]:
    """The hub's priority for a RIS value, and a note when it had to guess."""
    text = " ".join((raw or "").upper().split())
    if text in _PRIORITIES:
        return _PRIORITIES[text], ""
    if "CANCER" in text or "2WW" in text:
        return Priority.CANCER, ""
    if "URGENT" in text or "STAT" in text:
        return Priority.URGENT, ""
    if "SOON" in text:
        return Priority.SOON, ""
    return Priority.ROUTINE, f"priority {raw!r} read as routine"


# Steps ---------------------------------------------------------------------------------------


def _add(order: OrderEvent, placer: str, ctx: FeedContext, *, note: str = "", status: str = ReferralStatus.WAITING) -> Outcome:
    exam = _exam_for(order, ctx)
    patient = _patient_for(order)
    priority, priority_note = priority_of(order.priority_raw)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                patient=patient,
                trust=ctx.trust,
                exam_type=exam,
                booking_reference=_new_reference(),
                placer_order_number=placer,
                filler_order_number=(order.filler_order_number or "")[:60],
                priority=priority,
                clock_start=aware(order.clock_start_hint) or ctx.sent_at,
                referrer=(order.referrer or "")[:120],
                clinical_reason=order.reason or "",
            )
    except IntegrityError:
        # The same order arrived on another connection a moment ago: treat this one as its update.
        referral = Referral.objects.select_for_update(of=("self",)).get(trust=ctx.trust, placer_order_number=placer)
        return _change(referral, order, ctx, note="order already on the list: clock kept")
    if status != referral.status:
        change_referral_status(referral, status, now=ctx.now, reason=note or "Order received", actor_label=ctx.actor_label)
    referral_added.send(sender=Referral, referral=referral, now=ctx.now)
    return Outcome(True, "; ".join(n for n in (note, priority_note, f"referral {referral.booking_reference}") if n))


def _change(referral: Referral, order: OrderEvent, ctx: FeedContext, *, note: str = "") -> Outcome:
    if referral.status not in ACTIVE_REFERRAL:
        return Outcome(False, f"referral {referral.booking_reference} is {referral.get_status_display().lower()}: not changed")
    notes = [note] if note else []
    values: dict[str, object] = {}
    conflict: tuple[Booking, str] | None = None
    if order.exam is not None:
        exam = _exam_for(order, ctx)
        if exam.pk != referral.exam_type_id:
            values["exam_type"] = exam
            booking = _active_booking(referral)
            if booking is not None and booking.slot.modality_id != exam.modality_id:
                conflict = booking, f"{ctx.trust} changed the exam to {exam.name}: the booked slot is for another modality"
    if order.priority_raw:
        priority, priority_note = priority_of(order.priority_raw)
        if priority != referral.priority:
            values["priority"] = priority
        if priority_note:
            notes.append(priority_note)
    if order.filler_order_number and order.filler_order_number[:60] != referral.filler_order_number:
        values["filler_order_number"] = order.filler_order_number[:60]
    if order.reason and order.reason != referral.clinical_reason:
        values["clinical_reason"] = order.reason
    changed_patient = []
    if order.patient is not None and nhs_number_of(order.patient) == referral.patient.nhs_number:
        changed_patient = update_patient(referral.patient, order.patient)
    for name, value in values.items():
        setattr(referral, name, value)
    if values:
        referral.save(update_fields=[*values, "updated_at"])
    if conflict is not None:  # after the new exam is saved: the patient is re-offered a slot for it
        from booking.services.bookings import mark_conflict

        mark_conflict(conflict[0], conflict[1], actor_label=ctx.actor_label, now=ctx.now)
    if not values and not changed_patient:
        notes.append(f"referral {referral.booking_reference}: no change")
    return Outcome(bool(values or changed_patient), "; ".join(notes))


def _remove(referral: Referral | None, order: OrderEvent, placer: str, ctx: FeedContext) -> Outcome:
    if referral is None:
        try:
            return _add(order, placer, ctx, status=ReferralStatus.REMOVED, note="cancel for an order the hub had not seen: kept as removed")
        except ContentError as exc:
            return Outcome(False, f"cancel for an order the hub has not seen ({exc.reason})")
    if referral.status == ReferralStatus.REMOVED:
        return Outcome(False, f"referral {referral.booking_reference} already removed")
    booking = _active_booking(referral)
    if booking is not None:
        from booking.services.bookings import cancel_booking

        cancel_booking(
            booking,
            actor_user=None,
            reason=f"Order cancelled by {ctx.trust}",
            contact_method="RIS",
            now=ctx.now,
            cancelled_by=CancelledBy.HOSPITAL,  # the order itself is withdrawn: never the patient's doing
        )
    change_referral_status(
        referral,
        ReferralStatus.REMOVED,
        now=ctx.now,
        reason=f"Order cancelled by {ctx.trust}",
        actor_label=ctx.actor_label,
        booking=booking,
        from_statuses=ReferralStatus.values,
    )
    return Outcome(True, f"referral {referral.booking_reference} removed")


def _complete(referral: Referral, ctx: FeedContext) -> Outcome:
    booking = _active_booking(referral)
    if booking is not None and booking.status == BookingStatus.CONFIRMED:
        from booking.services.bookings import transition

        transition(booking, BookingStatus.ATTENDED, actor_label=ctx.actor_label, reason="Order completed in the RIS")
    change_referral_status(
        referral,
        ReferralStatus.COMPLETED,
        now=ctx.now,
        reason="Order completed in the RIS",
        actor_label=ctx.actor_label,
        booking=booking,
        from_statuses=ReferralStatus.values,
    )
    return Outcome(True, f"referral {referral.booking_reference} scanned")


def _patient_for(order: OrderEvent) -> Patient:
    if order.patient is None:
        raise ContentError("100", "The order has no PID segment", "PID")
    nhs = nhs_number_of(order.patient)
    if not nhs:
        raise ContentError("101", "PID-3 has no valid NHS number (^^^NHS^NH)", "PID^1^3")
    patient = Patient.objects.select_for_update().filter(nhs_number=nhs).first()
    if patient is not None:
        update_patient(patient, order.patient)
        return patient
    try:
        with transaction.atomic():
            return create_patient(order.patient)
    except IntegrityError:
        return Patient.objects.select_for_update().get(nhs_number=nhs)


def _exam_for(order: OrderEvent, ctx: FeedContext) -> ExamType:
    code = order.exam
    identifier = (code.identifier if code else "").strip()
    if not identifier:
        raise ContentError("101", "OBR-4 exam code is empty", "OBR^1^4")
    mapped = {str(k).strip().upper(): str(v).strip() for k, v in (ctx.profile.exam_code_map or {}).items()}
    ours = mapped.get(identifier.upper(), identifier)
    exam = ExamType.objects.filter(code__iexact=ours).first()
    if exam is None:
        raise ContentError(
            "103", f"Exam code {identifier!r} is not in {ctx.trust}'s exam code map or the hub's catalogue", "OBR^1^4"
        )
    return exam


def _active_booking(referral: Referral) -> Booking | None:
    return (
        Booking.objects.filter(referral=referral, status__in=ACTIVE_BOOKING_STATUSES).select_related("slot").first()
    )


def _new_reference() -> str:
    for _ in range(20):
        reference = "WM" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        if not Referral.objects.filter(booking_reference=reference).exists():
            return reference
    raise RuntimeError("Could not find a free booking reference")
