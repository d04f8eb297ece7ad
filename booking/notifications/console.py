"""The demo's and development's backend: each message is written to a file, as the patient would
read it, under NOTIFICATIONS_CONSOLE_DIR (`var/notifications/` by default). The log says only that a
message was written, and where: never the address, the name or anything else about the patient."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from django.conf import settings

from booking.models import Notification

from .base import recipient_of
from .messages import rendered

logger = logging.getLogger("booking.notifications")


class ConsoleBackend:
    def send(self, notification: Notification) -> str:
        reference = f"console-{uuid.uuid4()}"
        message = rendered(notification)
        folder = Path(settings.NOTIFICATIONS_CONSOLE_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{notification.pk:08d}-{notification.template}-{notification.channel}.txt"
        heading = [f"To: {recipient_of(notification)}", f"Subject: {message.subject}"] if message.subject else [
            f"To: {recipient_of(notification)}"
        ]
        path.write_text("\n".join([*heading, "", message.body, ""]), encoding="utf-8")
        logger.info(
            "Notification %s (%s by %s) written to %s",
            notification.pk,
            notification.template,
            notification.channel,
            path.name,
            extra={"notification_id": notification.pk, "provider_reference": reference},
        )
        return reference
