"""A patient's answer to an offer: accept (book through the one booking path) or decline.

No booking service answers offers yet; this is the smallest correct version, to move into
booking/services/offers.py when that exists. The booking itself goes through
`booking.services.bookings.confirm_booking`, like every page.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from booking.models import Booking, BookingChannel, Offer, OfferStatus
from booking.models.offers import OPEN_OFFER_STATUSES
from booking.services.bookings import confirm_booking
from booking.services.errors import InvalidTransition
from wmin.accounts.models import User
from wmin.audit.models import AuditAction
from wmin.audit.trail import record


def _claim(offer: Offer, to_status: OfferStatus, *, now: datetime) -> None:
    """Move an open, unexpired offer on; a second answer (or a lapsed offer) changes nothing."""
    still_open = Q(pk=offer.pk, status__in=OPEN_OFFER_STATUSES) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if Offer.objects.filter(still_open).update(status=to_status, responded_at=now) != 1:
        raise InvalidTransition("This offer has expired or has already been answered.")
    offer.status, offer.responded_at = to_status, now


def accept_offer(offer: Offer, *, actor_user: User, now: datetime) -> Booking:
    with transaction.atomic():
        _claim(offer, OfferStatus.ACCEPTED, now=now)
        booking = confirm_booking(
            offer.referral, offer.slot_id, actor_user=actor_user, channel=BookingChannel.API, now=now
        )
        record(
            AuditAction.UPDATE,
            offer,
            summary=f"Offer {offer.pk} accepted: booking {booking.pk}",
            patient_id=offer.referral.patient_id,
            detail={"booking_id": booking.pk, "slot_id": offer.slot_id, "channel": "api"},
        )
        return booking


def decline_offer(offer: Offer, *, actor_user: User, reason: str, now: datetime) -> Offer:
    with transaction.atomic():
        _claim(offer, OfferStatus.DECLINED, now=now)
        record(
            AuditAction.UPDATE,
            offer,
            summary=f"Offer {offer.pk} declined",
            patient_id=offer.referral.patient_id,
            detail={"slot_id": offer.slot_id, "reason": reason[:200], "channel": "api"},
        )
        return offer
