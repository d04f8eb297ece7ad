"""One typed access helper per resource a clerk's page opens: the object, or 404."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from booking.models import Booking, Referral
from slots.models import Slot

if TYPE_CHECKING:
    from accounts.models import User


def get_referral_or_404(user: User, referral_id: int) -> Referral:
    referral = Referral.objects.visible_to(user).select_related("patient", "exam_type__modality", "trust").filter(pk=referral_id).first()
    if referral is None:
        raise Http404("No such referral")
    return referral


def get_booking_or_404(user: User, booking_id: int) -> Booking:
    booking = (
        Booking.objects.visible_to(user)
        .select_related("referral__exam_type__modality", "referral__trust", "slot__site", "slot__trust")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        raise Http404("No such booking")
    return booking


def get_pool_slot_or_404(user: User, slot_id: int) -> Slot:
    slot = Slot.objects.pool_visible_to(user).select_related("site", "trust", "modality").filter(pk=slot_id).first()
    if slot is None:
        raise Http404("No such slot")
    return slot


def active_booking_of(user: User, referral: Referral) -> Booking | None:
    return (
        Booking.objects.visible_to(user)
        .select_related("referral__exam_type__modality", "slot__site", "slot__trust")
        .filter(referral_id=referral.pk)
        .active()
        .first()
    )
