"""Every change to a slot, and only here: the RIS's events (`ris_events`, with the listener's fast SQL
path and its unit of work), the hub's holds, bookings and releases (`changes`), and the order the
RIS's word is applied in (`ordering`: by appointment lifecycle, then event time, then arrival).

Nothing outside this package writes `Slot.status` (tests/foundation/test_slot_status_owner.py
inspects the source). Callers say where a change came from with `origin=` (`Origin`), never by a
context variable. slots imports neither booking nor wmin: a change that means booking-side work
(a cancelled appointment a hub booking holds) comes back as a result the caller acts on.
"""

from __future__ import annotations

from enum import StrEnum


class Origin(StrEnum):
    """Who asked for a change: the hub (a patient, a clerk, the optimiser) or the trust's RIS."""

    HUB = "hub"
    RIS = "ris"
