"""SIU streams for the failure tests: events, their HL7 text, a resending RIS, and end-state snapshots.

Two trusts get the same events: one in order with nothing failing (the reference), the other under
test. `snapshot(ods)` reads a trust's slots, bookings, referrals and message outcomes keyed so that
the two compare with ==.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass

from booking.models import Booking, BookingStatus, Referral
from slots.models import Slot
from tests.feeds.conftest import MllpClient, ack_code
from wmin.feeds.models import InboundMessage
from wmin.feeds.simulator import messages
from wmin.feeds.simulator.messages import RisStyle, SimPatient

MESSAGE_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Event:
    """One SIU about one slot: its trigger, event time (EVN-2 and MSH-7) and the slot as it then is."""

    trigger: str
    slot: int
    at: dt.datetime
    starts_at: dt.datetime
    minutes: int
    patient_key: int | None = None  # which patient PID names (None: no PID)


def slot_id(event: Event) -> str:
    return f"SLOT-{event.slot:03d}"


def encode(event: Event, ods: str, control_id: str, patients: dict[int, SimPatient]) -> bytes:
    """The event as trust `ods`'s RIS sends it, on its CT scanner, with this MSH-10."""
    text = messages.siu(
        event.trigger,
        style=RisStyle(ods),
        control_id=control_id,
        sent_at=event.at,
        slot_id=slot_id(event),
        starts_at=event.starts_at,
        minutes=event.minutes,
        scanner_id=f"{ods}01-CT1",
        patient=patients.get(event.patient_key) if event.patient_key is not None else None,
    )
    return text.encode("utf-8")


class Ris:
    """One RIS connection that sends each message until it is answered AA, reconnecting when dropped."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.client: MllpClient | None = None
        self.outcomes: list[str] = []  # every answer or failure seen, in order

    def deliver(self, payload: bytes) -> int:
        """Send until AA (AE/AR, a dropped connection or silence: the same bytes again); returns the tries."""
        deadline = time.monotonic() + MESSAGE_DEADLINE_SECONDS
        tries = 0
        while True:
            tries += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"no AA within {MESSAGE_DEADLINE_SECONDS:.0f} s; saw {self.outcomes[-10:]}")
            try:
                if self.client is None:
                    self.client = MllpClient(self.address, timeout=15.0)
                code = ack_code(self.client.exchange(payload)) or "no MSA"
            except (TimeoutError, ConnectionError, OSError) as exc:
                self.outcomes.append(f"dropped ({type(exc).__name__})")
                self.close()
                time.sleep(0.1)
                continue
            self.outcomes.append(code)
            if code == "AA":
                return tries
            time.sleep(0.2)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def snapshot(ods: str, *, versions: bool = True, standing_only: bool = False) -> dict[str, object]:
    """The trust's slots (with their RIS appointment's stage), every booking in them, its referrals.

    `standing_only`: leave out cancelled bookings. A booking linked by an S12 and cancelled by its
    S15 in order is never made when the S15 comes first; both leave the referral waiting."""
    slots = {
        s.ris_slot_id: (
            s.status, s.pooled, s.starts_at, s.ends_at, s.last_event_at, s.appointment_state,
            s.scanner.ris_resource_id.removeprefix(ods) if s.scanner else None, s.site.code.removeprefix(ods),
            *((s.version,) if versions else ()),
        )
        for s in Slot.objects.filter(trust__ods_code=ods).select_related("scanner", "site")
    }
    found = Booking.objects.filter(slot__trust__ods_code=ods).select_related("slot", "referral__patient")
    if standing_only:
        found = found.exclude(status=BookingStatus.CANCELLED)
    bookings = sorted((b.slot.ris_slot_id, b.status, b.channel, b.referral.patient.nhs_number) for b in found)
    referrals = sorted(
        (r.patient.nhs_number, r.status) for r in Referral.objects.filter(trust__ods_code=ods).select_related("patient")
    )
    return {"slots": slots, "bookings": bookings, "referrals": referrals}


def inbound_outcomes(ods: str) -> Counter:
    return Counter(
        (m.trigger, m.status) for m in InboundMessage.objects.filter(sending_facility=ods, duplicate_of__isnull=True)
    )
