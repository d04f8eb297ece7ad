"""The order the RIS's word is applied in: by appointment first, then by clock, then by arrival.

Each slot holds one RIS appointment (its SCH-2, else SCH-1), whose lifecycle only moves forward:

    (none) → booked → modified → cancelled | no-show | completed

An event is stale, recorded and acknowledged but not applied, when
- its appointment is already final (cancelled, did not attend, completed), whatever its MSH-7: an
  S12 that arrives after its own S15, with the same second or no MSH-7 at all, cannot rebook it.
  Only the echo of a hub booking (`new_appointment`: its SCH-1 names the booking now in the slot)
  starts a new appointment in a slot whose last one is over;
- it would move the appointment back (an S12 after the S13 that overtook it);
- it is older than the slot's last applied event (EVN-2, else MSH-7, else arrival time);
- it has the same time as the slot's last event but arrived before it (a replayed message): on one
  connection messages arrive in the order sent, so arrival order breaks a tie.
Events about the slot rather than its appointment (S23 blocked, S24 opened, and S16 discontinued and
S17 deleted, which take the slot out for good) go by clock and arrival only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slots.models import AppointmentState, Slot

FINAL_STATES = frozenset({AppointmentState.CANCELLED, AppointmentState.NO_SHOW, AppointmentState.COMPLETED})
_RANK = {
    AppointmentState.NONE: 0,
    AppointmentState.BOOKED: 1,
    AppointmentState.MODIFIED: 2,
    AppointmentState.CANCELLED: 3,
    AppointmentState.NO_SHOW: 3,
    AppointmentState.COMPLETED: 3,
}


@dataclass(frozen=True)
class OrderingKey:
    """Where an event stands: its time (EVN-2, else MSH-7, else arrival) and its arrival sequence
    (the inbound message's id, increasing in arrival order)."""

    event_time: datetime
    arrival: int | None = None


def stale_reason(
    slot: Slot | None, appointment: str | None, key: OrderingKey, *, new_appointment: bool = False
) -> str:
    """Why an event leading the slot's appointment to `appointment` (None: not an appointment
    event) must not be applied; "" to apply it."""
    if slot is None:
        return ""
    current = AppointmentState(slot.appointment_state or AppointmentState.NONE)
    if appointment is not None:
        if current in FINAL_STATES:
            if not new_appointment:
                return f"appointment {slot.ris_slot_id} is already {current.label.lower()} in the RIS"
        elif _RANK[AppointmentState(appointment)] < _RANK[current]:
            return f"appointment {slot.ris_slot_id} is already {current.label.lower()}"
    last = slot.last_event_at
    if last is not None and key.event_time < last:
        return (
            f"its time {key.event_time:%Y-%m-%d %H:%M:%S} is older than the slot's last event "
            f"({last:%Y-%m-%d %H:%M:%S})"
        )
    if (
        last is not None
        and key.event_time == last
        and key.arrival is not None
        and slot.last_message_id is not None
        and key.arrival < slot.last_message_id
    ):
        return f"it has the slot's last event time and arrived before message #{slot.last_message_id}"
    return ""


def next_state(slot: Slot | None, appointment: str | None) -> str:
    """The appointment state after an applied event (a slot event leaves it as it was)."""
    if appointment is not None:
        return appointment
    return slot.appointment_state if slot is not None else AppointmentState.NONE
