"""What the booking services announce. All are sent INSIDE the booking's transaction, so a
receiver's rows (the HL7 outbox, a clerk task) commit or roll back with the booking itself.
Receivers that start work elsewhere (Celery, backfill) must defer it with `transaction.on_commit`.

- booking_confirmed(sender=Booking, booking=Booking)
- booking_cancelled(sender=Booking, booking=Booking, reason=str, origin=slots.services.Origin): origin
  RIS when the trust's RIS cancelled it (nothing to send back)
- booking_rescheduled(sender=Booking, booking=new Booking, previous=old Booking)
- booking_conflicted(sender=Booking, booking=Booking, reason=str, now=datetime): the trust's RIS cannot
  keep it; `booking.receivers` offers the patient the next best slot
- slot_freed(sender=Slot, slot_id=int): a future pool slot went back to OPEN after a cancellation
- referral_added(sender=Referral, referral=Referral, now=datetime): a referral joined the waiting
  list. Sent by whatever adds one (an HL7 order today; the API and clerks when they can), inside
  its transaction: the patient's invitation to choose is written with it.
"""

from __future__ import annotations

from django.dispatch import Signal

booking_confirmed = Signal()
booking_cancelled = Signal()
booking_rescheduled = Signal()
booking_conflicted = Signal()
slot_freed = Signal()
referral_added = Signal()
