"""The booking app's own reactions to its signals: a freed pool slot starts its backfill.

The backfill runs after the freeing transaction commits (a cancellation rolled back frees nothing),
on the `solver` queue; `robust` so a broker outage never fails the cancellation itself — the slot
stays in the pool and the clerks' worklist shows it as not yet refilled.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from booking.signals import slot_freed


def on_slot_freed(sender: Any, slot_id: int, **kwargs: Any) -> None:
    from booking.tasks import optimiser_backfill  # tasks import the services, which send this signal

    transaction.on_commit(lambda: optimiser_backfill.delay(slot_id), robust=True)


def connect() -> None:
    slot_freed.connect(on_slot_freed, dispatch_uid="booking.backfill.slot_freed")
