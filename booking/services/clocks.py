"""The DM01 clock moving: the only code that writes `Referral.dm01_clock_start` after a referral is
made, and `Dm01ClockRestart` rows (including the synthetic demand's history, `restart_for_missed_history`).

The rule itself is booking/rules/dm01.py (`restarted_dm01_clock`): the simulator calls the same
function. Here it is fed the referral's test (its exam type's `dm01_test`) and its trust's setting
(`Trust.dm01_restart_on_patient_cancel`). The wait since referral (`clock_start`) is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from audit.models import AuditAction
from audit.trail import record
from booking.models import Booking, BookingStatus, CancelledBy, Dm01ClockRestart, Referral
from booking.rules.dm01 import ClockEvent, counts_for_dm01, restarted_dm01_clock


def after_cancellation(booking: Booking, *, cancelled_by: str, now: datetime, reason: str = "") -> Dm01ClockRestart | None:
    """A booking was just cancelled (in the caller's transaction): restart the DM01 clock from `now`
    if the patient asked, the test counts in DM01 and the trust restarts clocks."""
    event = ClockEvent.PATIENT_CANCELLED if cancelled_by == CancelledBy.PATIENT else ClockEvent.HOSPITAL_CANCELLED
    return _restart(booking, event, on=now, cancelled_by=cancelled_by, reason=reason)


def after_did_not_attend(booking: Booking, *, reason: str = "") -> Dm01ClockRestart | None:
    """A booking was just marked did-not-attend: a patient event, so the DM01 clock restarts from the
    missed appointment's time where the rule and the trust say so."""
    if booking.status != BookingStatus.DID_NOT_ATTEND:
        return None
    return _restart(booking, ClockEvent.DID_NOT_ATTEND, on=booking.slot.starts_at, cancelled_by="", reason=reason)


def _restart(
    booking: Booking, event: ClockEvent, *, on: datetime, cancelled_by: str, reason: str
) -> Dm01ClockRestart | None:
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",))
            .select_related("trust", "exam_type")
            .get(pk=booking.referral_id)
        )
        moved = restarted_dm01_clock(
            referral.dm01_clock_start,
            event,
            on,
            counts_for_dm01=counts_for_dm01(referral.exam_type.dm01_test),
            trust_restarts=referral.trust.dm01_restart_on_patient_cancel,
        )
        if moved is None:
            return None
        restart = Dm01ClockRestart.objects.create(
            referral=referral,
            booking=booking,
            event=event.value,
            cancelled_by=cancelled_by,
            previous_clock_start=referral.dm01_clock_start,
            restarted_from=moved,
            reason=reason[:200],
        )
        Referral.objects.filter(pk=referral.pk).update(dm01_clock_start=moved)
        record(
            AuditAction.UPDATE,
            referral,
            summary=f"DM01 clock of {referral.booking_reference} restarted ({event.value.replace('_', ' ')})",
            patient_id=referral.patient_id,
            detail={
                "booking_id": booking.pk,
                "event": event.value,
                "previous_clock_start": referral.dm01_clock_start.isoformat(),
                "restarted_from": moved.isoformat(),
            },
        )
        return restart


def restart_for_missed_history(referral_ids: Iterable[int]) -> int:
    """Seeding a recent history (synthetic demand, wmin/simulation/demand.py): each of these
    referrals' missed appointments moves its DM01 clock by the same rule, oldest first, with its
    history row. Written in bulk and not audited: no person did it. Returns the clocks restarted."""
    ids = list(referral_ids)
    moved: dict[int, datetime] = {}
    restarts: list[Dm01ClockRestart] = []
    for start in range(0, len(ids), 900):  # SQLite's limit on query parameters
        missed = (
            Booking.objects.filter(referral_id__in=ids[start : start + 900], status=BookingStatus.DID_NOT_ATTEND)
            .select_related("referral__trust", "referral__exam_type", "slot")
            .order_by("slot__starts_at", "pk")
        )
        for booking in missed:
            referral = booking.referral
            clock = moved.get(referral.pk, referral.dm01_clock_start)
            restarted = restarted_dm01_clock(
                clock,
                ClockEvent.DID_NOT_ATTEND,
                booking.slot.starts_at,
                counts_for_dm01=counts_for_dm01(referral.exam_type.dm01_test),
                trust_restarts=referral.trust.dm01_restart_on_patient_cancel,
            )
            if restarted is None:
                continue
            restarts.append(
                Dm01ClockRestart(
                    referral_id=referral.pk,
                    booking_id=booking.pk,
                    event=ClockEvent.DID_NOT_ATTEND.value,
                    previous_clock_start=clock,
                    restarted_from=restarted,
                    reason="Did not attend",
                )
            )
            moved[referral.pk] = restarted
    Dm01ClockRestart.objects.bulk_create(restarts, batch_size=2000)
    Referral.objects.bulk_update(
        [Referral(pk=pk, dm01_clock_start=clock) for pk, clock in moved.items()], ["dm01_clock_start"], batch_size=500
    )
    return len(moved)
