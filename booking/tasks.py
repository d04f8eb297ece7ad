"""Celery tasks for bookings. They take primary keys (JSON only) and call the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from booking.notifications import TemporaryDeliveryError
from booking.services import holds, notifications


@shared_task(
    name="booking.tasks.notify_send",
    autoretry_for=(TemporaryDeliveryError,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=notifications.MAX_ATTEMPTS - 1,
)
def notify_send(notification_id: int) -> str:
    return str(notifications.send_notification(notification_id))


@shared_task(name="booking.tasks.release_expired_holds")
def release_expired_holds() -> int:
    return holds.release_expired_holds(timezone.now())
