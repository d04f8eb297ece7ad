"""Queueing and sending patients' messages. A row first, then a task after commit.

Sending is at most once: a run claims the row with a conditional update (QUEUED → SENT) before
calling the provider, so a task delivered twice sends once. If the provider fails, the row goes
back to QUEUED for the task's retry, or to FAILED when it never will succeed. A row whose task
was lost (the broker was down at commit) is found by `due_notification_ids`, which the beat's
sweep runs every minute.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from booking.models import Notification, NotificationStatus, Patient
from booking.notifications.messages import MESSAGES, NOT_KEPT, SECRETS

logger = logging.getLogger("booking.notifications")

MAX_ATTEMPTS = 6
SWEEP_AFTER = timedelta(minutes=2)  # leave fresh rows to the task their commit enqueued


def link(path: str) -> str:
    """The whole address of one of the hub's pages, for a message (settings.PUBLIC_BASE_URL)."""
    return settings.PUBLIC_BASE_URL + path


def preferred_channel(patient: Patient) -> str | None:
    if patient.email:
        return "email"
    if patient.mobile:
        return "sms"
    return None


def queue_notification(
    patient: Patient, template: str, personalisation: dict[str, object], *, channel: str | None = None
) -> Notification | None:
    """Write the message and send it once the current transaction commits.

    Returns None when the patient has no email address or mobile number (the trust writes instead).
    """
    if template not in MESSAGES:
        raise ValueError(f"No message template called {template!r} (booking/notifications/messages.py)")
    channel = channel or preferred_channel(patient)
    if channel is None:
        logger.info("No contact details for patient %s; %s not sent", patient.pk, template)
        return None
    notification = Notification.objects.create(
        patient=patient, channel=channel, template=template, personalisation=personalisation
    )
    from booking.tasks import notify_send  # tasks import this module

    # After commit, so a rolled-back booking sends nothing; robust, so a broker outage (or an
    # eager send failing) is logged and retried later, never turned into a failed booking.
    transaction.on_commit(lambda: notify_send.delay(notification.pk), robust=True)
    return notification


def due_notification_ids(now: datetime, *, limit: int = 500) -> list[int]:
    """Messages still queued SWEEP_AFTER after they were written: their task was lost or is retrying."""
    return list(
        Notification.objects.filter(status=NotificationStatus.QUEUED, created_at__lte=now - SWEEP_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def send_notification(notification_id: int) -> str:
    """Send one queued message through the configured backend; returns its status afterwards."""
    from booking.notifications import PermanentDeliveryError, TemporaryDeliveryError, get_backend

    claimed = Notification.objects.filter(pk=notification_id, status=NotificationStatus.QUEUED).update(
        status=NotificationStatus.SENT, sent_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return Notification.objects.filter(pk=notification_id).values_list("status", flat=True).first() or "missing"
    notification = Notification.objects.select_related("patient").get(pk=notification_id)
    try:
        reference = get_backend().send(notification)
    except PermanentDeliveryError as exc:
        _fail(notification, str(exc))
        return NotificationStatus.FAILED
    except TemporaryDeliveryError as exc:
        if notification.attempts >= MAX_ATTEMPTS:
            _fail(notification, str(exc))
            return NotificationStatus.FAILED
        Notification.objects.filter(pk=notification_id).update(
            status=NotificationStatus.QUEUED, sent_at=None, error=str(exc)[:2000]
        )
        raise
    Notification.objects.filter(pk=notification_id).update(
        provider_reference=reference[:80], error="", personalisation=_without_secrets(notification)
    )
    # Which message, how, and the provider's reference: enough to trace it, nothing about the patient.
    logger.info(
        "Sent notification %s (%s by %s)",
        notification_id,
        notification.template,
        notification.channel,
        extra={"notification_id": notification_id, "template": notification.template, "provider_reference": reference},
    )
    return NotificationStatus.SENT


def _fail(notification: Notification, error: str) -> None:
    logger.warning("Notification %s failed: %s", notification.pk, error)
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.FAILED, sent_at=None, error=error[:2000], personalisation=_without_secrets(notification)
    )


def _without_secrets(notification: Notification) -> dict[str, object]:
    secrets = SECRETS.get(notification.template, ())
    return {key: NOT_KEPT if key in secrets else value for key, value in notification.personalisation.items()}
