"""The interface every notifications backend meets, and the two ways sending can fail."""

from __future__ import annotations

from typing import Protocol

from booking.models import Notification


class TemporaryDeliveryError(Exception):
    """Worth trying again later (provider down, rate limited, network)."""


class PermanentDeliveryError(Exception):
    """Will never succeed as it stands (bad number, unknown template, rejected key)."""


class NotificationBackend(Protocol):
    def send(self, notification: Notification) -> str:
        """Deliver one message; return the provider's reference. Raise one of the errors above."""
        ...


def recipient_of(notification: Notification) -> str:
    patient = notification.patient
    address = patient.email if notification.channel == "email" else patient.mobile
    if not address:
        raise PermanentDeliveryError(f"The patient has no {notification.channel} contact details.")
    return address
