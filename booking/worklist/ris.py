"""What the slot's trust's RIS has been told of a booking, in words for the clerk.

The booking services announce each change; the sender (the HL7 outbox in wmin.feeds) sends an SRM
to a trust whose RIS takes them, or makes a task for that trust's clerks when it cannot, and reports
each message and answer to booking (`booking.services.ris`, RisDelivery). This reads those rows.
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet
from django.utils import timezone

from booking.models import (
    Booking,
    BookingStatus,
    Offer,
    OfferSource,
    OfferStatus,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)


def ris_outcome(booking: Booking) -> str:
    trust = booking.slot.trust
    delivery = (
        RisDelivery.objects.filter(booking_id=booking.pk, kind=RisMessageKind.BOOK)
        .order_by("-created_at", "-pk")
        .first()
    )
    answer = delivery.answer if delivery else ""
    if answer == RisAnswer.CLERK_TASK or (not answer and not trust.accepts_srm):
        return f"{trust}'s RIS cannot take it from the hub, so {trust}'s clerks have a task to book it in."
    if answer == RisAnswer.ACCEPTED:
        return f"{trust}'s RIS has accepted the booking."
    if answer == RisAnswer.REFUSED:
        return f"{trust}'s RIS refused the booking: it is on your worklist as a conflict."
    if answer == RisAnswer.UNREACHABLE:
        return f"The hub could not reach {trust}'s RIS: its clerks need to book it in."
    if booking.status == BookingStatus.PENDING_RIS:
        return f"Booked, waiting for the hospital to confirm: {trust}'s RIS is being sent the booking."
    return f"{trust}'s RIS is being sent the booking."


def refusal_reoffers(referral_id: int | OuterRef) -> QuerySet[Offer]:
    """The slots the hub offered a patient in place of a booking the RIS refused, newest first."""
    return Offer.objects.filter(
        referral_id=referral_id, source=OfferSource.REFUSED, status=OfferStatus.SENT
    ).order_by("-pk")


def conflict_story(booking: Booking) -> dict[str, str]:
    """For the clerk resolving a conflict: what the RIS said, and the time the hub has already
    offered the patient in its place (empty strings when there is none)."""
    said = ris_refusals([booking.pk]).get(booking.pk, "")
    offer = refusal_reoffers(booking.referral_id).select_related("slot__site").first()
    offered = f"{offer.slot.site.name}, {timezone.localtime(offer.slot.starts_at):%-d %b %H:%M}" if offer else ""
    return {"ris_said": said or "", "offered": offered}


def ris_refusals(booking_ids: list[int]) -> dict[int, str]:
    """What the RIS said when it last refused each of these bookings (bookings it never refused: absent)."""
    rows = RisDelivery.objects.filter(booking_id__in=booking_ids, answer=RisAnswer.REFUSED)
    return dict(rows.order_by("created_at", "pk").values_list("booking_id", "said"))  # the latest wins
