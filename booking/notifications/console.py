"""Writes each message to the log instead of sending it: the demo's and development's backend."""

from __future__ import annotations

import logging
import uuid

from booking.models import Notification

from .base import recipient_of

logger = logging.getLogger("booking.notifications")


class ConsoleBackend:
    def send(self, notification: Notification) -> str:
        reference = f"console-{uuid.uuid4()}"
        logger.info(
            "Notification %s (%s) to %s: %s",
            notification.template,
            notification.channel,
            _masked(recipient_of(notification)),
            notification.personalisation,
            extra={"notification_id": notification.pk, "provider_reference": reference},
        )
        return reference


def _masked(address: str) -> str:
    return address[:3] + "…" + address[-2:] if len(address) > 6 else "…"
