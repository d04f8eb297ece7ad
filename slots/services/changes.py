"""The hub's own changes to slots: hold, book, release, block. booking.services call these inside
their transaction, with the slot already locked; the ordering key of a hub change is its `now`.

Each writes `status` and `status_changed_at` only (a hub change is not a RIS event: the slot's
version and RIS appointment are the RIS's). The RIS's events are `ris_events`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from slots.models import Slot, SlotStatus


def hold(slot_id: int, *, now: datetime) -> None:
    """A patient is choosing this slot: nobody else is offered it until the hold ends."""
    Slot.objects.filter(pk=slot_id).update(status=SlotStatus.HELD, status_changed_at=now)


def book(slot: Slot, *, now: datetime) -> None:
    """A hub booking now holds this slot."""
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BOOKED, status_changed_at=now)
    slot.status = SlotStatus.BOOKED
    slot.status_changed_at = now


def release_held(slot_ids: Iterable[int], *, now: datetime) -> int:
    """Holds that ended: those of these slots still HELD go back to OPEN; how many did."""
    ids = list(slot_ids)
    if not ids:
        return 0
    return Slot.objects.filter(pk__in=ids, status=SlotStatus.HELD).update(status=SlotStatus.OPEN, status_changed_at=now)


def release(slot: Slot, *, now: datetime) -> bool:
    """The booking or hold in this slot ended: a BOOKED or HELD slot goes back to OPEN. True when it
    did and starts after `now` (a future slot freed: the caller tells backfill)."""
    if slot.status not in (SlotStatus.BOOKED, SlotStatus.HELD):
        return False
    Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.OPEN, status_changed_at=now)
    freed = slot.starts_at > now
    slot.status = SlotStatus.OPEN
    slot.status_changed_at = now
    return freed


def block_refused(slot_id: int, *, now: datetime) -> bool:
    """The trust's RIS refused the hub's booking of this slot (it holds the slot itself): it leaves the
    pool as BLOCKED, so nobody else is offered it, until the RIS's next event says what it is."""
    return bool(
        Slot.objects.filter(pk=slot_id, status__in=[SlotStatus.BOOKED, SlotStatus.HELD]).update(
            status=SlotStatus.BLOCKED, pooled=False, status_changed_at=now
        )
    )


def set_statuses(statuses: dict[int, str], *, now: datetime | None = None) -> None:
    """Many slots at once, each to its status (synthetic demand's history: booked, attended)."""
    for status in set(statuses.values()):
        ids = [pk for pk, s in statuses.items() if s == status]
        for start in range(0, len(ids), 900):
            values: dict[str, object] = {"status": status}
            if now is not None:
                values["status_changed_at"] = now
            Slot.objects.filter(pk__in=ids[start : start + 900]).update(**values)
