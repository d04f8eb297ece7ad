"""Holds: a slot kept for one patient for a few minutes while they confirm.

A slot has at most one hold (the database enforces it) and a referral at most one: holding a new
slot gives the previous one back to the pool. The patient's confirm page names its hold, so a page
left open in another tab can never confirm the time a newer hold chose (`confirm_booking(hold_id=…)`). A held slot's status is HELD so nobody else is
offered it; `release_expired_holds` (run every minute) returns lapsed holds to OPEN.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from audit.models import AuditAction
from audit.trail import record
from booking.models import BookingChannel, Hold, Referral, ReferralStatus
from slots.models import Slot, SlotStatus
from slots.services import changes as slot_changes

from .eligibility import slot_refusal
from .errors import AlreadyBooked, NotEligible, SlotUnavailable

BOOKABLE_REFERRAL_STATUSES = (ReferralStatus.WAITING, ReferralStatus.OFFERED)
# A booked patient may hold another slot: that is how they reschedule.
HOLDING_REFERRAL_STATUSES = (*BOOKABLE_REFERRAL_STATUSES, ReferralStatus.BOOKED)


def hold_minutes() -> int:
    return int(settings.HOLD_MINUTES)


def hold_slot(referral: Referral, slot_id: int, *, now: datetime) -> Hold:
    """Keep `slot_id` for this referral for HOLD_MINUTES, replacing any hold it had.

    Raises SlotUnavailable if the slot is held by someone else, booked, not open, in the past or
    not for this exam; NotEligible if the eligibility rule refuses it (the patient's saved needs,
    dates, travel limit, age, notice), so nobody holds a time that confirming would refuse;
    AlreadyBooked if the referral is scanned or off the list. A booked referral may hold a slot, to
    reschedule into it.
    """
    try:
        return _hold(referral, slot_id, now=now)
    except IntegrityError as exc:  # one hold per slot: a race the lock did not stop (SQLite has none)
        raise SlotUnavailable(
            "Sorry, someone else is booking that appointment right now. Choose another time."
        ) from exc


def _hold(referral: Referral, slot_id: int, *, now: datetime) -> Hold:
    with transaction.atomic():
        referral = lock_referral(referral.pk)
        if referral.status not in HOLDING_REFERRAL_STATUSES:
            raise AlreadyBooked("This referral can no longer be booked online.")
        slot = lock_slot(slot_id)
        existing = Hold.objects.filter(slot_id=slot.pk).first()
        if existing is not None and existing.referral_id != referral.pk and existing.expires_at > now:
            raise SlotUnavailable(
                "Sorry, someone else is booking that appointment right now. Choose another time."
            )
        ensure_slot_bookable(slot, referral, now=now, held_by_us=True)
        if why := slot_refusal(referral, slot, channel=BookingChannel.PATIENT, now=now):
            raise NotEligible(f"{why} Choose another time.")
        _release_holds_of(referral, keep_slot_id=slot.pk, now=now)
        expires_at = now + timedelta(minutes=hold_minutes())
        if existing is not None and existing.referral_id == referral.pk:
            # The same time chosen again (another tab, say): one hold, kept longer, so a page that
            # already names it can still confirm it.
            Hold.objects.filter(pk=existing.pk).update(expires_at=expires_at)
            hold = existing
            hold.expires_at = expires_at
        else:
            if existing is not None:
                existing.delete()
            hold = Hold.objects.create(slot=slot, referral=referral, expires_at=expires_at)
        slot_changes.hold(slot.pk, now=now)
        record(
            AuditAction.CREATE,
            hold,
            summary=f"Held slot {slot.pk} for referral {referral.booking_reference}",
            patient_id=referral.patient_id,
            detail={"slot_id": slot.pk, "expires_at": hold.expires_at.isoformat()},
        )
        return hold


def release_hold(referral: Referral, *, now: datetime) -> int:
    """Give back whatever this referral is holding (the patient went back or chose again)."""
    with transaction.atomic():
        return _release_holds_of(referral, keep_slot_id=None, now=now)


def release_expired_holds(now: datetime) -> int:
    """Return every lapsed hold's slot to the pool; the number released."""
    with transaction.atomic():
        expired = list(Hold.objects.select_for_update().filter(expires_at__lte=now).values_list("pk", "slot_id"))
        if not expired:
            return 0
        hold_ids = [pk for pk, _ in expired]
        slot_ids = [slot_id for _, slot_id in expired]
        Hold.objects.filter(pk__in=hold_ids).delete()
        slot_changes.release_held(slot_ids, now=now)
        record(
            AuditAction.DELETE,
            object_type="booking.Hold",
            summary=f"Released {len(hold_ids)} expired hold(s)",
            detail={"slot_ids": slot_ids[:500]},
        )
        return len(hold_ids)


def active_hold(referral: Referral, *, now: datetime) -> Hold | None:
    return Hold.objects.select_related("slot__site").filter(referral=referral, expires_at__gt=now).first()


# Shared with bookings.py ---------------------------------------------------------------------


def lock_referral(referral_id: int) -> Referral:
    """The referral row, locked for the rest of the transaction. Lock order: referral, then slot."""
    return Referral.objects.select_for_update(of=("self",)).select_related("patient", "exam_type").get(
        pk=referral_id
    )


def lock_slot(slot_id: int) -> Slot:
    slot = Slot.objects.select_for_update(of=("self",)).select_related("site", "modality", "trust").filter(pk=slot_id).first()
    if slot is None:
        raise SlotUnavailable("We could not find that appointment. It may have been withdrawn by the hospital.")
    return slot


def ensure_slot_bookable(slot: Slot, referral: Referral, *, now: datetime, held_by_us: bool) -> None:
    """Raise SlotUnavailable unless this slot may be booked for this referral right now."""
    if slot.starts_at <= now:
        raise SlotUnavailable("That appointment time has already passed. Choose another time.")
    if slot.modality_id != referral.exam_type.modality_id:
        raise SlotUnavailable("That appointment is for a different kind of scan. Choose another time.")
    if not slot.pooled:
        raise SlotUnavailable("That appointment is no longer available to book. Choose another time.")
    allowed = {SlotStatus.OPEN, SlotStatus.HELD} if held_by_us else {SlotStatus.OPEN}
    if slot.status not in allowed:
        raise SlotUnavailable()


def _release_holds_of(referral: Referral, *, keep_slot_id: int | None, now: datetime) -> int:
    previous = Hold.objects.filter(referral=referral)
    if keep_slot_id is not None:
        previous = previous.exclude(slot_id=keep_slot_id)
    slot_ids = list(previous.values_list("slot_id", flat=True))
    if not slot_ids:
        return 0
    previous.delete()
    slot_changes.release_held(slot_ids, now=now)
    return len(slot_ids)
