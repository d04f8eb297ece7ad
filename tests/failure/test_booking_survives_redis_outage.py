"""Redis (the Celery broker) is down: bookings still succeed, their messages wait in the database,
and once Redis is back each is sent exactly once.

Tasks are not eager here: they go through the real Redis to a real `celery worker` subprocess, which
sends the SRM^S01 over MLLP to a fake RIS in this process that counts what reaches it.

What the code offers after an outage differs by kind of message:
- outbound HL7 (wmin/feeds/outbox.py): the beat sweep `send_due_outbound` picks up every pending
  row, so nothing needs re-enqueueing by hand;
- patients' notifications (booking/services/notifications.py): the row stays QUEUED, and the beat's
  notify sweep sends it once the broker is back (`test_a_notification_queued_during_the_outage_is_sent_later`).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Notification,
    NotificationStatus,
    Referral,
    ReferralStatus,
)
from booking.services.bookings import confirm_booking
from booking.services.holds import hold_slot
from booking.tasks import notify_send
from tests.factories import PatientFactory, ReferralFactory, SlotFactory
from tests.failure.conftest import redis_ready, redis_stopped, wait_until
from wmin.feeds import outbox
from wmin.feeds.models import OutboundMessage, OutboundStatus
from wmin.feeds.tasks import send_due_outbound

pytestmark = [pytest.mark.services, pytest.mark.failure, pytest.mark.django_db(transaction=True)]



def _two_patients_and_slots(trust):
    site = trust.sites.get(code="RRK01")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=5)
    slots = [
        SlotFactory(site=site, modality=site.scanners.get(name="CT 1").modality, starts_at=start + dt.timedelta(hours=h))
        for h in range(2)
    ]
    referrals = [
        ReferralFactory(
            trust=trust,
            exam_type__code="CHEAD",
            patient=PatientFactory(date_of_birth=dt.date(1958, 3, 27 - n), email=f"patient{n}@example.com"),
        )
        for n in range(2)
    ]
    return referrals, slots


def _book_on_the_patient_pages(referral, slot) -> None:
    """Sign in with booking reference and date of birth, hold the time, confirm it."""
    browser = Client()
    dob = referral.patient.date_of_birth
    signed_in = browser.post(reverse("accounts:patient-sign-in"), {
        "booking_reference": referral.booking_reference, "dob_day": dob.day, "dob_month": dob.month, "dob_year": dob.year,
    })
    assert signed_in.status_code == 302, signed_in.content[:500]
    held = browser.post(reverse("booking:patient-hold", kwargs={"referral_id": referral.pk}), {"slot_id": slot.pk})
    assert held.status_code == 302, held.content[:2000]
    confirm_page = held["Location"]  # names the hold: /confirm/?hold=<id>
    confirmed = browser.post(confirm_page, {"hold_id": confirm_page.rpartition("hold=")[2]})
    assert confirmed.status_code == 302, confirmed.content[:2000]
    assert confirmed["Location"] == reverse("booking:patient-booking", kwargs={"referral_id": referral.pk})


def _sweep_as_beat_would(after: dt.timedelta) -> int:
    """The beat's `send_due_outbound`, run here with the clock moved on to when the rows fall due."""
    with time_machine.travel(timezone.now() + after, tick=True):
        return send_due_outbound()


def test_bookings_succeed_while_redis_is_down_and_the_sweep_sends_each_srm_once(
    srm_trust, counting_ris, celery_worker
):
    ris = counting_ris()
    referrals, slots = _two_patients_and_slots(srm_trust)

    with redis_stopped():
        assert not redis_ready()
        now = timezone.now()
        hold_slot(referrals[0], slots[0].pk, now=now)
        by_service = confirm_booking(referrals[0], slots[0].pk, channel=BookingChannel.PATIENT, now=now)
        _book_on_the_patient_pages(referrals[1], slots[1])

        bookings = list(Booking.objects.order_by("pk"))
        assert [b.referral_id for b in bookings] == [r.pk for r in referrals]
        assert bookings[0].pk == by_service.pk
        # Booked, waiting for the RIS to accept them (the trust takes SRM)
        assert all(b.status == BookingStatus.PENDING_RIS for b in bookings)
        assert set(Referral.objects.filter(pk__in=[r.pk for r in referrals]).values_list("status", flat=True)) == {
            ReferralStatus.BOOKED
        }
        # Their messages wait in the database.
        rows = list(OutboundMessage.objects.order_by("pk"))
        assert [(r.booking_id, r.status, r.attempts) for r in rows] == [
            (b.pk, OutboundStatus.PENDING, 0) for b in bookings
        ]
        notes = Notification.objects.filter(template="booking_confirmed")
        assert sorted(notes.values_list("patient_id", "status")) == sorted(
            (r.patient_id, NotificationStatus.QUEUED) for r in referrals
        )
        assert ris.control_ids == []

    # Redis is back, with a worker. Nothing was enqueued during the outage, so nothing is sent yet.
    celery_worker()
    time.sleep(1.0)
    assert OutboundMessage.objects.filter(status=OutboundStatus.PENDING).count() == 2
    assert ris.control_ids == []

    # The sweep, twice over (two beats, or a beat and a redelivered task): each SRM once.
    due_in = outbox.FIRST_SWEEP_AFTER + dt.timedelta(seconds=1)
    assert _sweep_as_beat_would(due_in) == 2
    assert _sweep_as_beat_would(due_in) in (0, 1, 2)  # the first sweep's tasks may not have run yet
    wait_until(
        lambda: OutboundMessage.objects.filter(status=OutboundStatus.ACKED).count() == 2,
        timeout=30, what="both SRM^S01 acknowledged by the RIS",
    )
    time.sleep(1.5)  # any second delivery would arrive by now
    rows = list(OutboundMessage.objects.order_by("pk"))
    assert sorted(ris.control_ids) == sorted(r.control_id for r in rows)
    assert [(r.status, r.attempts) for r in rows] == [(OutboundStatus.ACKED, 1)] * 2
    assert set(Booking.objects.values_list("status", flat=True)) == {BookingStatus.CONFIRMED}  # the RIS accepted them
    assert _sweep_as_beat_would(due_in) == 0  # nothing left to send

    # The notifications are still queued, not lost. Delivered twice (as a sweep or a broker
    # redelivery would), each is sent once: the QUEUED → SENT claim lets one run through.
    for note in notes:
        assert note.status == NotificationStatus.QUEUED
        notify_send.delay(note.pk)
        notify_send.delay(note.pk)
    wait_until(
        lambda: not Notification.objects.filter(status=NotificationStatus.QUEUED).exists(),
        timeout=30, what="the notifications sent",
    )
    time.sleep(1.0)
    assert sorted(Notification.objects.values_list("status", "attempts")) == [(NotificationStatus.SENT, 1)] * 2
    assert all(ref.startswith("console-") for ref in Notification.objects.values_list("provider_reference", flat=True))


def test_a_notification_queued_during_the_outage_is_sent_later(srm_trust, counting_ris, celery_worker):
    counting_ris()
    referrals, slots = _two_patients_and_slots(srm_trust)
    with redis_stopped():
        confirm_booking(referrals[0], slots[0].pk, channel=BookingChannel.CLERK, now=timezone.now())
    note = Notification.objects.get()
    assert note.status == NotificationStatus.QUEUED
    sweeps = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values() if "notif" in entry["task"]]
    assert sweeps, "no periodic task in CELERY_BEAT_SCHEDULE sends queued notifications"
    celery_worker()

    # One beat tick of every periodic task that deals with notifications.
    from wmin.celery import app

    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=True):
        for name in sweeps:
            app.tasks[name]()  # here, like the outbox sweep above; the tasks it queues run in the worker
    wait_until(lambda: Notification.objects.get(pk=note.pk).status == NotificationStatus.SENT, timeout=30,
               what="the queued notification sent by a sweep")
    assert Notification.objects.get(pk=note.pk).attempts == 1
