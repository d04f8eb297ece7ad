"""The booking app's own reactions to its signals.

- A freed pool slot starts its backfill, after the freeing transaction commits (a cancellation
  rolled back frees nothing), on the `solver` queue; `robust` so a broker outage never fails the
  cancellation itself — the slot stays in the pool and the clerks' worklist shows it as not yet
  refilled.
- A booking in conflict with the trust's RIS (the RIS refused our SRM, booked or blocked the slot
  itself) offers its patient the next best slot at once, in the same transaction, with one message
  that says why; the clerks see the conflict on their worklist either way. The offer runs in a
  savepoint: if it fails, the conflict still stands and the clerks rebook by hand.
- A referral added to the waiting list invites its patient to choose, in the same transaction:
  the invitation's rows commit with the referral (its message is sent after commit, with the
  notifications' own sweep behind it), so no referral joins the list uninvited.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from booking.signals import booking_conflicted, referral_added, slot_freed

log = logging.getLogger(__name__)


def on_slot_freed(sender: Any, slot_id: int, **kwargs: Any) -> None:
    from booking.tasks import optimiser_backfill  # tasks import the services, which send this signal

    transaction.on_commit(lambda: optimiser_backfill.delay(slot_id), robust=True)


def on_referral_added(sender: Any, referral: Any, now: datetime, **kwargs: Any) -> None:
    from booking.services.invitations import invite_to_choose

    invite_to_choose(referral, now=now)


def on_booking_conflicted(sender: Any, booking: Any, now: datetime | None = None, **kwargs: Any) -> None:
    from booking.services.offers import offer_next_best

    try:
        with transaction.atomic():
            offer_next_best(booking, now=now or timezone.now())
    except Exception:
        log.exception("booking.reoffer_failed", extra={"booking_id": booking.pk})


def connect() -> None:
    booking_conflicted.connect(on_booking_conflicted, dispatch_uid="booking.reoffer.booking_conflicted")
    slot_freed.connect(on_slot_freed, dispatch_uid="booking.backfill.slot_freed")
    referral_added.connect(on_referral_added, dispatch_uid="booking.invitations.referral_added")
