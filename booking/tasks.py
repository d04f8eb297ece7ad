"""Celery tasks for bookings. They take primary keys (JSON only) and call the services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from booking.notifications import TemporaryDeliveryError
from booking.optimiser.services import run_network_allocation
from booking.services import attendance, holds, invitations, notifications, offers, reminders


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


@shared_task(name="booking.tasks.optimiser_backfill", acks_late=True)
def optimiser_backfill(slot_id: int) -> int | None:
    """A pool slot came free: rank its candidates and send the first offer (idempotent)."""
    offer = offers.start_backfill(slot_id, now=timezone.now())
    return offer.pk if offer else None


@shared_task(name="booking.tasks.expire_offers")
def expire_offers() -> int:
    return offers.expire_lapsed_offers(timezone.now())


@shared_task(name="booking.tasks.optimiser_allocate")
def optimiser_allocate(triggered_by_id: int | None = None) -> int:
    """Run the network allocation and send the offers it proposes; returns the run's id."""
    now = timezone.now()
    run = run_network_allocation(now=now, triggered_by_id=triggered_by_id)
    offers.send_allocation_offers(run, now=now)
    return run.pk


@shared_task(name="booking.tasks.check_likely_missed")
def check_likely_missed() -> int:
    """Ask patients likely to miss an appointment in two to four days to confirm or release it."""
    return attendance.ask_likely_missed_to_confirm(timezone.now())


@shared_task(name="booking.tasks.notify_invitation_reminders")
def notify_invitation_reminders() -> int:
    """Remind invited patients who have not chosen (each once, however often this runs)."""
    return invitations.send_invitation_reminders(timezone.now())


@shared_task(name="booking.tasks.notify_appointment_reminders")
def notify_appointment_reminders() -> int:
    """Send the 7-day and 2-day appointment reminders now due (each once, however often this runs)."""
    return reminders.send_appointment_reminders(timezone.now())


@shared_task(name="booking.tasks.notify_sweep")
def notify_sweep() -> int:
    """Send the messages whose own task was lost; each is still sent at most once."""
    due = notifications.due_notification_ids(timezone.now())
    for notification_id in due:
        notify_send.delay(notification_id)
    return len(due)


@shared_task(name="booking.tasks.optimiser_backfill_sweep")
def optimiser_backfill_sweep() -> int:
    """Start the backfill of freed slots whose own task was lost."""
    missed = offers.freed_slots_never_backfilled(timezone.now())
    for slot_id in missed:
        optimiser_backfill.delay(slot_id)
    return len(missed)
