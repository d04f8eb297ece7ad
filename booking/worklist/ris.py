"""What the slot's trust's RIS has been told of a booking, in words for the clerk.

The booking services announce each change; the HL7 outbox (wmin.feeds) writes an SRM for a trust
whose RIS takes them, or a task for that trust's clerks when it cannot. This reads the outcome.
"""

from __future__ import annotations

from booking.models import Booking
from wmin.feeds.models import OutboundKind, OutboundMessage, OutboundStatus


def ris_outcome(booking: Booking) -> str:
    trust = booking.slot.trust
    message = (
        OutboundMessage.objects.filter(booking_id=booking.pk, kind=OutboundKind.BOOK)
        .order_by("-created_at", "-pk")
        .first()
    )
    status = message.status if message else ""
    if status == OutboundStatus.CLERK_TASK or (not status and not trust.accepts_srm):
        return f"{trust}'s RIS cannot take it from the hub, so {trust}'s clerks have a task to book it in."
    if status == OutboundStatus.ACKED:
        return f"{trust}'s RIS has accepted the booking."
    if status == OutboundStatus.REJECTED:
        return f"{trust}'s RIS refused the booking: it is on your worklist as a conflict."
    if status == OutboundStatus.FAILED:
        return f"The hub could not reach {trust}'s RIS: its clerks need to book it in."
    return f"{trust}'s RIS is being sent the booking."
