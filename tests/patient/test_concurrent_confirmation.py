"""Fifty people confirm the same slot at the same moment: exactly one booking, everyone else told.

Runs against the real database with one connection per thread: SQLite by default (its IMMEDIATE
transactions serialise writers) and PostgreSQL when DATABASE_URL is set (row locks plus the
partial unique constraint).

SQLite's in-memory test database is shared between connections through its shared cache, which
answers "database table is locked" at once instead of waiting as a file database does (its busy
timeout); `_waiting_for_sqlite` waits and tries again the way the timeout would.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from booking.models import Booking, BookingChannel, BookingStatus, Hold, ReferralStatus
from booking.services.bookings import confirm_booking
from booking.services.errors import SlotUnavailable
from booking.services.holds import hold_slot
from slots.models import Slot, SlotStatus
from tests.factories import PatientFactory, ReferralFactory, SlotFactory, synthetic_nhs_number

CONTENDERS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_confirmations_make_one_booking(trust):
    nhs_numbers = sorted({synthetic_nhs_number(700_000 + i) for i in range(CONTENDERS * 2)})[:CONTENDERS]
    referrals = [ReferralFactory(trust=trust, patient=PatientFactory(nhs_number=n)) for n in nhs_numbers]
    modality = referrals[0].exam_type.modality
    for referral in referrals[1:]:
        referral.exam_type = referrals[0].exam_type
        referral.save(update_fields=["exam_type"])
    slot = SlotFactory(modality=modality, site__trust=trust)
    now = timezone.now()
    start_together = threading.Barrier(CONTENDERS)

    def confirm(referral) -> str:
        try:
            start_together.wait()
            _waiting_for_sqlite(lambda: confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=now))
            return "booked"
        except SlotUnavailable:
            return "told it was taken"
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        outcomes = Counter(pool.map(confirm, referrals))

    print(f"{connection.vendor}: {dict(outcomes)}")
    assert outcomes == {"booked": 1, "told it was taken": CONTENDERS - 1}
    booking = Booking.objects.get(slot=slot)
    assert booking.status == BookingStatus.CONFIRMED
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED
    assert booking.referral.status == ReferralStatus.BOOKED
    assert Booking.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_holds_keep_the_slot_for_one(trust):
    nhs_numbers = sorted({synthetic_nhs_number(800_000 + i) for i in range(60)})[:20]
    first = ReferralFactory(trust=trust, patient=PatientFactory(nhs_number=nhs_numbers[0]))
    referrals = [first] + [
        ReferralFactory(trust=trust, exam_type=first.exam_type, patient=PatientFactory(nhs_number=n)) for n in nhs_numbers[1:]
    ]
    slot = SlotFactory(modality=first.exam_type.modality, site__trust=trust)
    now = timezone.now()
    start_together = threading.Barrier(len(referrals))

    def hold(referral) -> str:
        try:
            start_together.wait()
            _waiting_for_sqlite(lambda: hold_slot(referral, slot.pk, now=now))
            return "held"
        except SlotUnavailable:
            return "told it was taken"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(referrals)) as pool:
        outcomes = Counter(pool.map(hold, referrals))
    assert outcomes == {"held": 1, "told it was taken": len(referrals) - 1}
    assert Hold.objects.filter(slot=slot).count() == 1


def _waiting_for_sqlite(attempt, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
