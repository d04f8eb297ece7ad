"""Celery tasks for the HL7 feeds (queue `hl7`): thin wrappers taking primary keys only.

Celery beat (settings.CELERY_BEAT_SCHEDULE) runs `send_due_outbound` every minute,
`poll_ris_slots` every 15 minutes and `fold_retired_listener_stats` once a day.
"""

from __future__ import annotations

from celery import shared_task

from . import metrics, outbox
from .handlers import queries
from .models import FeedProfile, SlotReleaseMode


@shared_task(name="wmin.feeds.tasks.send_outbound", bind=True, max_retries=None, acks_late=True)
def send_outbound(self, outbound_id: int) -> str:
    """Send one outbox row to its trust's RIS; on a network failure retry after the row's backoff.

    Running eagerly (no broker) the row simply waits for `send_due_outbound`.
    """
    result = outbox.send(outbound_id)
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.status


@shared_task(name="wmin.feeds.tasks.send_due_outbound")
def send_due_outbound() -> int:
    """The sweep: every pending row whose time has come, so nothing waits on a lost task."""
    due = outbox.due_ids()
    for outbound_id in due:
        send_outbound.delay(outbound_id)
    return len(due)


@shared_task(name="wmin.feeds.tasks.fold_retired_listener_stats")
def fold_retired_listener_stats() -> int:
    """One row for every listener process that has stopped, not one each (wmin/feeds/metrics.py)."""
    return metrics.fold_retired()


@shared_task(name="wmin.feeds.tasks.poll_ris_slots")
def poll_ris_slots() -> int:
    """Ask every SQM_POLL trust's RIS for its released slots (one task per trust)."""
    profiles = list(
        FeedProfile.objects.filter(active=True, slot_release_mode=SlotReleaseMode.SQM_POLL)
        .exclude(ris_host="")
        .values_list("pk", flat=True)
    )
    for profile_id in profiles:
        poll_trust_slots.delay(profile_id)
    return len(profiles)


@shared_task(name="wmin.feeds.tasks.poll_trust_slots")
def poll_trust_slots(profile_id: int) -> str:
    return queries.poll(profile_id)
