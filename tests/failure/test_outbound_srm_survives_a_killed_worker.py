"""A Celery worker is SIGKILLed while it is sending an SRM^S01 to the trust's RIS: the booking still
reaches the RIS, and the hub records the RIS's answer once.

What the outbox promises (wmin/feeds/outbox.py): a conditional claim (pending → sending) so a task
delivered twice sends once, and a lease (SEND_LEASE) so that a sender that dies mid-send leaves the
row to `release_stale` and the sweep. That is at-least-once delivery to the RIS, not exactly once:
the dead worker's SRM had already reached the RIS, and after the lease the sweep sends the same
stored message again, with the same MSH-10. Exactly once at the RIS therefore rests on the RIS
treating a repeated MSH-10 as a duplicate (as the hub itself does for what it receives). These tests
assert what is promised: every copy the RIS gets is the same message (one control id, same bytes),
nothing is re-sent while the lease stands, a re-delivered task sends nothing, and the row ends
ACKED with the booking confirmed and no second outbox row.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
import time_machine
from django.utils import timezone

from booking.models import Booking, BookingChannel, BookingStatus
from booking.services.bookings import confirm_booking
from tests.factories import ReferralFactory, SlotFactory
from tests.failure.conftest import wait_until
from wmin.feeds import outbox
from wmin.feeds.models import OutboundMessage, OutboundStatus
from wmin.feeds.tasks import send_due_outbound, send_outbound

pytestmark = [pytest.mark.services, pytest.mark.failure, pytest.mark.django_db(transaction=True)]


def _sweep_at(after: dt.timedelta) -> int:
    """The beat's sweep, run here with the clock moved on by `after` (its tasks go to the worker)."""
    with time_machine.travel(timezone.now() + after, tick=True):
        return send_due_outbound()


@pytest.mark.parametrize("killed", ["the whole worker", "the pool process running the task"])
def test_a_worker_killed_mid_send_leaves_the_srm_to_the_sweep_and_the_ris_sees_one_message(
    killed, srm_trust, counting_ris, celery_worker
):
    ris = counting_ris(hang_first=True)  # takes the first SRM and sits on its answer
    site = srm_trust.sites.get(code="RRK01")
    slot = SlotFactory(site=site, modality=site.scanners.get(name="CT 1").modality, ris_slot_id="RIS-KILL")
    referral = ReferralFactory(trust=srm_trust, exam_type__code="CHEAD")
    worker = celery_worker()

    booking = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)
    row = OutboundMessage.objects.get(booking=booking)
    assert ris.arrived.wait(30), f"the SRM never reached the RIS:\n{worker.log()[-3000:]}"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundStatus.SENDING, 1)  # mid-exchange, waiting for the ACK

    if killed == "the whole worker":
        worker.kill(signal.SIGKILL)
        assert not worker.alive
        worker = celery_worker()
    else:
        (child,) = worker.pool_children()
        os.kill(child, signal.SIGKILL)
        # The parent sees its child die; with acks_late and reject_on_worker_lost it requeues the
        # task, which runs again in a fresh pool process and finds the row claimed: it sends nothing.
        wait_until(lambda: "not pending" in worker.log(), timeout=30,
                   what="the requeued task to run again and find the row claimed")
    ris.release.set()  # the RIS answers now, to a connection nobody is reading any more

    time.sleep(1.0)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboundStatus.SENDING, 1)
    assert ris.control_ids == [row.control_id]

    # While the dead sender's lease stands, the sweep leaves the row alone.
    assert _sweep_at(outbox.FIRST_SWEEP_AFTER + dt.timedelta(seconds=1)) == 0
    # Once it lapses, the sweep releases the row and sends the stored message again.
    assert _sweep_at(outbox.SEND_LEASE + dt.timedelta(seconds=1)) == 1
    wait_until(lambda: OutboundMessage.objects.get(pk=row.pk).status == OutboundStatus.ACKED, timeout=30,
               what=f"the SRM acknowledged after the resend:\n{worker.log()[-3000:]}")

    # A late redelivery of the killed task (the broker's visibility timeout) changes nothing.
    send_outbound.delay(row.pk)
    time.sleep(2.0)

    row.refresh_from_db()
    print(f"\n{killed}: the RIS received {ris.control_ids}; the worker said:")
    print("\n".join(line for line in worker.log().splitlines() if "send_outbound" in line or "WorkerLost" in line))
    assert (row.status, row.attempts, bool(row.sent_at)) == (OutboundStatus.ACKED, 2, True)
    assert f"|AA|{row.control_id}" in row.ack
    # At least once, and every copy the same message: the RIS can tell the second is a duplicate.
    assert len(ris.control_ids) == 2
    assert set(ris.control_ids) == {row.control_id}
    assert [(kind, request.filler_appointment_id, request.placer_appointment_id) for kind, request in ris.received] == [
        ("S01", "RIS-KILL", f"WMIN{booking.pk}")
    ] * 2
    assert OutboundMessage.objects.filter(booking=booking).count() == 1
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED
