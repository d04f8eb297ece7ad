"""Confirming, cancelling, rescheduling and flagging bookings: the only code that writes them.

Exactly once: every confirmation runs in one transaction that locks the referral then the slot
(`select_for_update`, PostgreSQL) and inserts under the partial unique constraint
`one_active_booking_per_slot`, so a race that slips past the lock (SQLite has none) still ends in
SlotUnavailable for all but one caller. Signals go out inside the transaction so receivers' rows
(the HL7 outbox) commit with the booking; notifications are sent after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.trail import record
from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    BookingStatusChange,
    CancelledBy,
    Hold,
    Referral,
    ReferralStatus,
)
from booking.patient_links import patient_link
from booking.signals import (
    booking_cancelled,
    booking_confirmed,
    booking_conflicted,
    booking_rescheduled,
    slot_freed,
)
from slots.models import Slot
from slots.services import Origin
from slots.services import changes as slot_changes

from . import clocks
from .eligibility import slot_refusal
from .errors import AlreadyBooked, HoldExpired, HoldReplaced, InvalidTransition, NotEligible, SlotUnavailable
from .holds import BOOKABLE_REFERRAL_STATUSES, ensure_slot_bookable, lock_referral, lock_slot
from .notifications import queue_notification
from .referrals import change_referral_status

if TYPE_CHECKING:
    from accounts.models import User

NEW = ""
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({BookingStatus.CONFIRMED, BookingStatus.PENDING_RIS}),
    BookingStatus.PENDING_RIS: frozenset({BookingStatus.CONFIRMED, BookingStatus.CONFLICT, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.CONFLICT, BookingStatus.CANCELLED, BookingStatus.ATTENDED, BookingStatus.DID_NOT_ATTEND}
    ),
    BookingStatus.CONFLICT: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED}),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.ATTENDED: frozenset(),
    BookingStatus.DID_NOT_ATTEND: frozenset(),
}


def waits_for_ris(slot: Slot) -> bool:
    """A hub booking of this slot waits for the trust's RIS to accept it (PENDING_RIS) when the hub
    sends that RIS booking messages (SRM): `Trust.takes_srm`, which the HL7 feed keeps from the
    trust's feed profile, as its outbox decides between an SRM and a clerk task. Read from the trust
    (slots), so booking never asks the feed. The sender reports the answer through `services.ris`."""
    return slot.trust.takes_srm


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())


def confirm_booking(
    referral: Referral,
    slot_id: int,
    *,
    actor_user: User | None = None,
    channel: BookingChannel | str,
    now: datetime,
    require_hold: bool | None = None,
    hold_id: int | None = None,
    notify: bool = True,
) -> Booking:
    """Book `slot_id` for `referral`, exactly once however many people try at the same moment.

    A patient (channel PATIENT, or `require_hold=True`) must hold the slot; clerks, offers and the
    API may book an open slot directly. `hold_id` names the hold the patient's page showed: if the
    referral no longer holds the slot under that hold, HoldReplaced, never a booking of another time.
    A slot that breaks the patient's saved needs, dates or limits, or the site's ages, is refused
    (NotEligible, `booking.rules.eligibility`) whoever books it, except the trust's own RIS.
    Raises SlotUnavailable, HoldExpired, HoldReplaced, NotEligible or AlreadyBooked.
    """
    if require_hold is None:
        require_hold = channel == BookingChannel.PATIENT
    try:
        with transaction.atomic():
            referral = lock_referral(referral.pk)
            if referral.status not in BOOKABLE_REFERRAL_STATUSES or referral.bookings.active().exists():
                raise AlreadyBooked()
            slot = lock_slot(slot_id)
            ensure_slot_bookable(slot, referral, now=now, held_by_us=True)
            _check_hold(slot, referral, now=now, require_hold=require_hold, hold_id=hold_id)
            if why := slot_refusal(referral, slot, channel=str(channel), now=now):
                raise NotEligible(f"{why} Nothing has been booked: choose another time.")

            status = BookingStatus.PENDING_RIS if waits_for_ris(slot) else BookingStatus.CONFIRMED
            booking = Booking.objects.create(
                referral=referral, slot=slot, status=status, channel=channel, created_by=actor_user
            )
            waiting = ", waiting for the trust's RIS to accept it" if status == BookingStatus.PENDING_RIS else ""
            _write_status_change(booking, NEW, status, actor_user=actor_user, reason=f"Booked ({channel}){waiting}")
            Hold.objects.filter(slot_id=slot.pk).delete()
            _release_other_holds(referral, now=now)
            slot_changes.book(slot, now=now)
            change_referral_status(
                referral,
                ReferralStatus.BOOKED,
                now=now,
                reason=f"Booked ({channel})",
                actor_user=actor_user,
                booking=booking,
            )
            record(
                AuditAction.CREATE,
                booking,
                summary=f"Booked {referral.booking_reference} into slot {slot.pk} at {slot.site.name}",
                patient_id=referral.patient_id,
                detail={"slot_id": slot.pk, "channel": str(channel), "starts_at": slot.starts_at.isoformat()},
            )
            booking_confirmed.send(sender=Booking, booking=booking)
            if booking.status == BookingStatus.PENDING_RIS:  # a trust whose RIS has no address confirms at once
                booking.refresh_from_db(fields=["status", "updated_at"])
            if notify:
                # At once, also while the RIS has still to accept it: the patient has just booked and
                # expects word of it; the message says the hospital confirms it, and a refusal is
                # followed straight away by another message with the next best time.
                details = appointment_details(booking)
                details["waiting_for_hospital"] = booking.status == BookingStatus.PENDING_RIS
                queue_notification(referral.patient, "booking_confirmed", details)
            return booking
    except IntegrityError as exc:
        # The constraint caught a race the lock did not (SQLite, or a slot booked outside a lock).
        text = str(exc).lower()
        if "referral" in text:
            raise AlreadyBooked() from exc
        if "slot" in text:
            raise SlotUnavailable() from exc
        raise


def cancel_booking(
    booking: Booking,
    *,
    actor_user: User | None,
    reason: str,
    contact_method: str = "",
    now: datetime,
    notify: bool = True,
    origin: Origin = Origin.HUB,
    cancelled_by: str = CancelledBy.HOSPITAL,
) -> Booking:
    """Cancel an active booking: the slot returns to the pool, the referral to the waiting list.
    `origin` RIS: the trust's RIS cancelled it, so nothing is sent back to it.

    `cancelled_by` is who asked (CancelledBy): the patient's cancellation may restart the DM01 clock
    (booking.services.clocks); left out, it is the hospital, so nobody's clock restarts on a guess.
    A move passes "" (not a cancellation by either: the patient stays booked)."""
    with transaction.atomic():
        referral = lock_referral(booking.referral_id)
        booking = _lock_booking(booking.pk)
        _transition(booking, BookingStatus.CANCELLED, actor_user=actor_user, reason=reason, contact_method=contact_method)
        Booking.objects.filter(pk=booking.pk).update(cancelled_by=cancelled_by)
        booking.cancelled_by = cancelled_by
        clocks.after_cancellation(booking, cancelled_by=cancelled_by, now=now, reason=reason)
        slot = lock_slot(booking.slot_id)
        freed = slot_changes.release(slot, now=now)
        if referral.status == ReferralStatus.BOOKED:
            change_referral_status(
                referral,
                ReferralStatus.WAITING,
                now=now,
                reason=f"Booking cancelled: {reason}"[:500],
                actor_user=actor_user,
                booking=booking,
            )
        record(
            AuditAction.UPDATE,
            booking,
            summary=f"Cancelled booking {booking.pk} for {referral.booking_reference}",
            patient_id=referral.patient_id,
            detail={"slot_id": slot.pk, "reason": reason[:200], "contact_method": contact_method},
        )
        if notify:
            queue_notification(referral.patient, "booking_cancelled", appointment_details(booking))
        booking_cancelled.send(sender=Booking, booking=booking, reason=reason, origin=origin)
        if freed:
            slot_freed.send(sender=Slot, slot_id=slot.pk)
        return booking


def reschedule_booking(
    booking: Booking,
    new_slot_id: int,
    *,
    actor_user: User | None,
    now: datetime,
    channel: BookingChannel | str,
    require_hold: bool | None = None,
    hold_id: int | None = None,
) -> Booking:
    """Move a booking to another slot in one transaction: both happen, or neither does.

    The database allows one active booking per referral, so inside the transaction the old booking
    is cancelled first; if the new slot cannot be booked the whole change rolls back and the
    patient keeps their original appointment.
    """
    if new_slot_id == booking.slot_id:
        raise InvalidTransition("That is the appointment you already have.")
    with transaction.atomic():
        old = cancel_booking(
            booking,
            actor_user=actor_user,
            reason="Rescheduled",
            contact_method=str(channel),
            now=now,
            notify=False,
            cancelled_by="",
        )
        new = confirm_booking(
            old.referral,
            new_slot_id,
            actor_user=actor_user,
            channel=channel,
            now=now,
            require_hold=require_hold,
            hold_id=hold_id,
            notify=False,
        )
        details = appointment_details(new)
        details["previous_appointment"] = appointment_details(old)["appointment"]
        queue_notification(new.referral.patient, "booking_rescheduled", details)
        record(
            AuditAction.UPDATE,
            new,
            summary=f"Rescheduled {new.referral.booking_reference} from slot {old.slot_id} to {new.slot_id}",
            patient_id=new.referral.patient_id,
            detail={"previous_booking_id": old.pk, "previous_slot_id": old.slot_id},
        )
        booking_rescheduled.send(sender=Booking, booking=new, previous=old)
        return new


def mark_conflict(
    booking: Booking, reason: str, *, actor_label: str = "trust RIS", now: datetime | None = None
) -> Booking:
    """The trust's RIS rejected the booking (the slot went locally first): flag it for the clerks;
    `booking.receivers` offers the patient the next best slot."""
    with transaction.atomic():
        booking = _lock_booking(booking.pk)
        _transition(booking, BookingStatus.CONFLICT, actor_user=None, actor_label=actor_label, reason=reason)
        record(
            AuditAction.UPDATE,
            booking,
            summary=f"Booking {booking.pk} in conflict with the trust's RIS",
            patient_id=booking.referral.patient_id,
            detail={"reason": reason[:200]},
        )
        booking_conflicted.send(sender=Booking, booking=booking, reason=reason, now=now or timezone.now())
        return booking


def transition(
    booking: Booking,
    to_status: BookingStatus | str,
    *,
    actor_user: User | None = None,
    actor_label: str = "",
    reason: str = "",
    contact_method: str = "",
) -> Booking:
    """Any other allowed status change (e.g. CONFIRMED → ATTENDED from the RIS), with its history row."""
    with transaction.atomic():
        booking = _lock_booking(booking.pk)
        _transition(
            booking, to_status, actor_user=actor_user, actor_label=actor_label, reason=reason, contact_method=contact_method
        )
        if to_status == BookingStatus.DID_NOT_ATTEND:  # a patient event: the DM01 clock may restart
            clocks.after_did_not_attend(booking, reason=reason)
        record(
            AuditAction.UPDATE,
            booking,
            summary=f"Booking {booking.pk} now {booking.get_status_display().lower()}",
            patient_id=booking.referral.patient_id,
            detail={"reason": reason[:200]},
        )
        return booking


def cancellation_reason(booking: Booking) -> str:
    """Why a cancelled booking was cancelled, as recorded with its last change to cancelled."""
    change = (
        BookingStatusChange.objects.filter(booking=booking, to_status=BookingStatus.CANCELLED).order_by("-pk").first()
    )
    return change.reason if change else ""


def appointment_details(booking: Booking) -> dict[str, Any]:
    """What a message about this booking needs; JSON only (it is stored and sent to Notify)."""
    slot = booking.slot
    site = slot.site
    referral = booking.referral
    return {
        "name": referral.patient.given_name,
        "booking_reference": referral.booking_reference,
        "exam": referral.exam_type.name,
        "appointment": local_text(slot.starts_at),
        "site": site.name,
        "site_postcode": site.postcode,
        "preparation": referral.exam_type.preparation or "No special preparation.",
        "manage_link": patient_link(referral, "appointment"),
        "choose_link": patient_link(referral, "choose"),
    }


# Internals -----------------------------------------------------------------------------------


def _check_hold(slot: Slot, referral: Referral, *, now: datetime, require_hold: bool, hold_id: int | None = None) -> None:
    hold = Hold.objects.filter(slot_id=slot.pk).first()
    ours = hold is not None and hold.referral_id == referral.pk
    if hold_id is not None and not (ours and hold.pk == hold_id):
        raise HoldReplaced()
    if hold is not None and not ours and hold.expires_at > now:
        raise SlotUnavailable("Sorry, someone else is booking that appointment right now. Choose another time.")
    if ours and hold.expires_at <= now:
        raise HoldExpired()
    if require_hold and not ours:
        raise HoldExpired()


def _release_other_holds(referral: Referral, *, now: datetime) -> None:
    slot_ids = list(Hold.objects.filter(referral=referral).values_list("slot_id", flat=True))
    if slot_ids:
        Hold.objects.filter(referral=referral).delete()
        slot_changes.release_held(slot_ids, now=now)


def _lock_booking(booking_id: int) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("referral__patient", "referral__exam_type", "slot__site")
        .get(pk=booking_id)
    )


def _transition(
    booking: Booking,
    to_status: BookingStatus | str,
    *,
    actor_user: User | None,
    actor_label: str = "",
    reason: str = "",
    contact_method: str = "",
) -> None:
    from_status = booking.status
    if not can_transition(from_status, to_status):
        raise InvalidTransition(
            f"A booking that is {booking.get_status_display().lower()} cannot be "
            f"{BookingStatus(to_status).label.lower()}."
        )
    Booking.objects.filter(pk=booking.pk).update(status=to_status, updated_at=timezone.now())
    booking.status = to_status
    _write_status_change(
        booking, from_status, to_status, actor_user=actor_user, actor_label=actor_label, reason=reason, contact_method=contact_method
    )


def _write_status_change(
    booking: Booking,
    from_status: str,
    to_status: str,
    *,
    actor_user: User | None,
    actor_label: str = "",
    reason: str = "",
    contact_method: str = "",
) -> BookingStatusChange:
    return BookingStatusChange.objects.create(
        booking=booking,
        from_status=from_status,
        to_status=to_status,
        changed_by=actor_user,
        actor_label=actor_label[:80],
        reason=reason,
        contact_method=contact_method[:20],
    )


def local_text(moment: datetime) -> str:
    text = timezone.localtime(moment).strftime("%A %-d %B %Y at %-I:%M%p")
    return text.replace("AM", "am").replace("PM", "pm")
