"""Booking signals → outbox rows, written inside the booking's own transaction.

booking.services send booking_confirmed / booking_cancelled / booking_rescheduled inside the
transaction that changes the booking, so the SRM row commits or rolls back with it. A reschedule
also sends the cancel and the confirm it is made of; `outbox.write_for` writes each message once.

A saved feed profile tells the trust whether the hub sends its RIS SRM now (`Trust.srm_connected`),
which is how booking decides, without asking the feed, that a hub booking there waits for the RIS
(a bulk update does too: `FeedProfileQuerySet.update`).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from booking.models import Booking
from booking.signals import booking_cancelled, booking_confirmed, booking_rescheduled
from slots.models import Trust
from slots.services import Origin

from . import outbox
from .models import FeedProfile, OutboundKind


def on_booking_confirmed(sender: Any, booking: Booking, **kwargs: Any) -> None:
    outbox.write_for(booking, OutboundKind.BOOK)


def on_booking_cancelled(
    sender: Any, booking: Booking, reason: str = "", origin: Origin | str = Origin.HUB, **kwargs: Any
) -> None:
    outbox.write_for(booking, OutboundKind.CANCEL, reason=reason, origin=origin)


def on_booking_rescheduled(sender: Any, booking: Booking, previous: Booking, **kwargs: Any) -> None:
    outbox.write_for(previous, OutboundKind.CANCEL, reason="Rescheduled")
    outbox.write_for(booking, OutboundKind.BOOK)


def on_profile_saved(sender: Any, instance: FeedProfile, **kwargs: Any) -> None:
    Trust.objects.set_srm_connected(instance.trust_id, instance.sends_srm)


def on_profile_deleted(sender: Any, instance: FeedProfile, **kwargs: Any) -> None:
    Trust.objects.set_srm_connected(instance.trust_id, False)


def connect() -> None:
    post_save.connect(on_profile_saved, sender=FeedProfile, dispatch_uid="feeds.profile.srm_connected")
    post_delete.connect(on_profile_deleted, sender=FeedProfile, dispatch_uid="feeds.profile.srm_disconnected")
    booking_confirmed.connect(on_booking_confirmed, dispatch_uid="feeds.outbox.confirmed")
    booking_cancelled.connect(on_booking_cancelled, dispatch_uid="feeds.outbox.cancelled")
    booking_rescheduled.connect(on_booking_rescheduled, dispatch_uid="feeds.outbox.rescheduled")
