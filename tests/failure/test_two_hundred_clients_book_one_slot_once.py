"""Two hundred people book the same slot at the same moment on the real PostgreSQL: one booking.

The approach of tests/patient/test_concurrent_confirmation.py (fifty contenders) at four times the
load: every contender is a thread with its own database connection, all released together by a
barrier. Half are clerks booking the slot directly; half are patients doing what the choice page
does, hold then confirm. (That module's only helper, `_waiting_for_sqlite`, is for SQLite's shared
cache; this test runs on PostgreSQL only.)

PostgreSQL here allows max_connections (100) sessions, fewer than 200 contenders: a contender the
server turns away ("too many clients") waits and connects again, as a web worker waits for a
connection from a bounded pool. So about a hundred are inside the booking transaction at once,
queueing on the slot's row lock, and the rest arrive while the first are still deciding.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Hold,
    Notification,
    Referral,
    ReferralStatus,
)
from booking.services.bookings import confirm_booking
from booking.services.errors import SlotUnavailable
from booking.services.holds import hold_slot
from slots.models import Slot, SlotStatus
from tests.factories import ExamTypeFactory, PatientFactory, ReferralFactory, SlotFactory
from wmin.feeds.models import OutboundMessage

pytestmark = [pytest.mark.services, pytest.mark.failure, pytest.mark.django_db(transaction=True)]

CONTENDERS = 200
CONNECT_DEADLINE_SECONDS = 60.0
_SERVER_FULL = ("too many clients", "remaining connection slots", "connection slots are reserved")


def test_two_hundred_simultaneous_bookings_of_one_slot_make_one_booking(trust):
    exam = ExamTypeFactory()
    referrals = [ReferralFactory(trust=trust, exam_type=exam, patient=PatientFactory()) for _ in range(CONTENDERS)]
    slot = SlotFactory(modality=exam.modality, site__trust=trust)
    now = timezone.now()
    start_together = threading.Barrier(CONTENDERS, timeout=60)
    waited_for_a_connection = Counter()
    inside = Counter()
    lock = threading.Lock()

    def book(numbered) -> str:
        n, referral = numbered
        entered = False
        try:
            start_together.wait()
            _connect_when_the_server_has_room(n, waited_for_a_connection, lock)
            entered = True
            with lock:
                inside["now"] += 1
                inside["peak"] = max(inside["peak"], inside["now"])
            if n % 2:
                hold_slot(referral, slot.pk, now=now)
                confirm_booking(referral, slot.pk, channel=BookingChannel.PATIENT, now=now)
            else:
                confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=now)
            return "booked"
        except SlotUnavailable:
            return "told it was taken"
        finally:
            if entered:
                with lock:
                    inside["now"] -= 1
            connections.close_all()  # this thread's own connection, back for the next contender

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        outcomes = Counter(pool.map(book, enumerate(referrals)))
    took = time.monotonic() - started

    print(
        f"\n{connection.vendor}: {dict(outcomes)} in {took:.1f} s; {len(waited_for_a_connection)} contenders "
        f"were turned away by a full server at first; at most {inside['peak']} inside at once"
    )
    assert outcomes == {"booked": 1, "told it was taken": CONTENDERS - 1}
    booking = Booking.objects.get(slot=slot)
    assert Booking.objects.count() == 1
    assert booking.status == BookingStatus.CONFIRMED
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED
    assert not Hold.objects.filter(slot=slot).exists()
    referral_statuses = Counter(Referral.objects.filter(pk__in=[r.pk for r in referrals]).values_list("status", flat=True))
    assert referral_statuses == {ReferralStatus.BOOKED: 1, ReferralStatus.WAITING: CONTENDERS - 1}
    # What the booking sends, it sends once: one outbox row, one confirmation to the patient.
    assert OutboundMessage.objects.filter(booking=booking).count() == 1
    assert OutboundMessage.objects.count() == 1
    assert Notification.objects.filter(template="booking_confirmed").count() == 1
    assert Notification.objects.get(template="booking_confirmed").patient_id == booking.referral.patient_id


def _connect_when_the_server_has_room(n: int, waited: Counter, lock: threading.Lock) -> None:
    deadline = time.monotonic() + CONNECT_DEADLINE_SECONDS
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            if not any(text in str(exc) for text in _SERVER_FULL) or time.monotonic() > deadline:
                raise
            with lock:
                waited[n] += 1
            connections.close_all()
            time.sleep(0.02)
