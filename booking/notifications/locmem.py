"""Keeps sent messages in memory for tests to inspect, like Django's locmem email backend: each as
the patient would read it (rendered from its template) beside what it was rendered from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from booking.models import Notification

from .base import recipient_of
from .messages import rendered


@dataclass(frozen=True)
class SentMessage:
    notification_id: int
    template: str
    channel: str
    recipient: str
    personalisation: dict[str, Any] = field(default_factory=dict)
    subject: str = ""
    body: str = ""


outbox: list[SentMessage] = []


class LocmemBackend:
    def send(self, notification: Notification) -> str:
        message = rendered(notification)
        outbox.append(
            SentMessage(
                notification_id=notification.pk,
                template=notification.template,
                channel=notification.channel,
                recipient=recipient_of(notification),
                personalisation=dict(notification.personalisation),
                subject=message.subject,
                body=message.body,
            )
        )
        return f"locmem-{uuid.uuid4()}"
