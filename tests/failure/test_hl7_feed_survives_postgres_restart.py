"""PostgreSQL restarts (a clean fast shutdown, then a crash) while SIU messages stream into the real
MLLP listener: no message is lost, none is applied twice, and the listener keeps serving.

The RIS side does what a RIS does: it sends each message, waits for the ACK, and on AE/AR, a dropped
connection or silence sends the same bytes (same MSH-10) again until it gets AA. The same events,
sent once in order by a second trust while nothing fails, are the reference: the trust that lived
through the restarts must end in exactly that state, slot for slot and booking for booking.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import pytest
from django.db import connections
from django.utils import timezone

from slots.models import Slot
from tests.factories import ExamTypeFactory, ModalityFactory, PatientFactory, ReferralFactory
from tests.failure.conftest import restart_postgres, wait_until
from tests.failure.hl7_streams import MESSAGE_DEADLINE_SECONDS, Event, Ris, encode, inbound_outcomes, snapshot
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import sim_patient
from wmin.feeds.models import InboundMessage, InboundStatus

pytestmark = [pytest.mark.services, pytest.mark.failure, pytest.mark.django_db(transaction=True)]

SLOTS = 60


def event_stream(base: dt.datetime, first_start: dt.datetime) -> list[Event]:
    """Per slot: opened, sometimes booked locally for a waiting patient, moved, modified, cancelled:
    each event applies (an appointment only moves forward, so a change after its cancellation would
    be stale, and a move of a free slot books it as the S12 would).

    Events are interleaved across slots (phase by phase) with strictly increasing event times. The
    slots start within four hours, so a freed one starts no backfill (nobody could be offered it in
    time) and neither trust's waiting list is touched by the other's cancellations.
    """
    phases: list[list[Event]] = [[] for _ in range(5)]
    for i in range(SLOTS):
        start = first_start + dt.timedelta(minutes=2 * i)
        minutes = 20
        phases[0].append(Event("S24", i, base, start, minutes))
        if i % 2 == 0:
            phases[1].append(Event("S12", i, base, start, minutes, patient_key=i))
        if i % 3 == 0:
            start += dt.timedelta(minutes=10)
            phases[2].append(Event("S13", i, base, start, minutes, patient_key=i if i % 2 == 0 else None))
        if i % 5 == 0:
            minutes = 30
            phases[3].append(Event("S14", i, base, start, minutes, patient_key=i if i % 2 == 0 else None))
        if i % 4 == 0:
            phases[4].append(Event("S15", i, base, start, minutes))
    ordered = [event for phase in phases for event in phase]
    return [
        Event(e.trigger, e.slot, base + dt.timedelta(seconds=n), e.starts_at, e.minutes, e.patient_key)
        for n, e in enumerate(ordered)
    ]


def test_every_message_is_applied_exactly_once_across_two_postgres_restarts(listener):
    trusts = {ods: make_trust(ods, [ods]) for ods in ("RRK", "REF")}
    exam = ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"))
    now = timezone.now().replace(microsecond=0)
    base = now - dt.timedelta(hours=1)
    events = event_stream(base, first_start=now + dt.timedelta(minutes=90))
    waiting = {e.patient_key for e in events if e.patient_key is not None}
    patients = {}
    for i in sorted(waiting):
        patient = PatientFactory()
        patients[i] = sim_patient(patient)
        for ods in ("RRK", "REF"):  # the same patient waits at both trusts
            ReferralFactory(patient=patient, trust=trusts[ods], exam_type=exam)

    # The reference: the second trust's RIS sends every event once, in order, nothing failing.
    reference_ris = Ris((listener.host, listener.port))
    for n, event in enumerate(events):
        assert reference_ris.deliver(encode(event, "REF", f"REF{n:06d}", patients)) == 1
    reference_ris.close()

    # The trust under test: two connections (slots split between them), PostgreSQL restarted twice.
    payloads = [(event.slot % 2, encode(event, "RRK", f"RRK{n:06d}", patients)) for n, event in enumerate(events)]
    delivered: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    rises = [Ris((listener.host, listener.port)) for _ in range(2)]

    def stream(lane: int) -> None:
        try:
            for which, payload in payloads:
                if which == lane:
                    rises[lane].deliver(payload)
                    with lock:
                        delivered.append(1)
                    time.sleep(0.03)  # a RIS trickles: the restarts land mid-stream
        except BaseException as exc:
            errors.append(exc)
        finally:
            rises[lane].close()
            connections.close_all()

    senders = [threading.Thread(target=stream, args=(lane,), name=f"ris-{lane}") for lane in range(2)]
    for sender in senders:
        sender.start()
    outages = []
    try:
        wait_until(lambda: len(delivered) >= len(payloads) // 4 or errors, timeout=60, what="a quarter delivered")
        outages.append(("fast", restart_postgres("fast")))
        wait_until(lambda: len(delivered) >= len(payloads) * 3 // 5 or errors, timeout=90, what="three fifths delivered")
        outages.append(("immediate, down 1 s", restart_postgres("immediate", down_for=1.0)))
    finally:
        for sender in senders:
            sender.join(timeout=MESSAGE_DEADLINE_SECONDS * 2)
    assert not errors, errors
    assert len(delivered) == len(payloads)
    connections.close_all()  # this thread's connection died with the server

    seen = Counter(o for ris in rises for o in ris.outcomes)
    print(f"\n{len(payloads)} messages; outages {outages}; answers and failures seen: {dict(seen)}")
    assert sum(n for o, n in seen.items() if o != "AA") >= 1, "the restarts hit no message in flight: nothing tested"

    # Once each: one stored row per MSH-10, every one answered AA, none left half-done.
    rows = InboundMessage.objects.filter(sending_facility="RRK", duplicate_of__isnull=True)
    assert rows.count() == len(payloads)
    assert sorted(rows.values_list("control_id", flat=True)) == [f"RRK{n:06d}" for n in range(len(payloads))]
    assert not rows.exclude(status__in=[InboundStatus.APPLIED, InboundStatus.IGNORED]).exists()
    assert all("|AA|" in ack for ack in rows.values_list("ack", flat=True))
    assert not InboundMessage.objects.filter(sending_facility="RRK", duplicate_of__isnull=False).exists()

    # Each slot's version counts the events applied to it: one per event sent, none twice.
    per_slot = Counter(f"SLOT-{e.slot:03d}" for e in events)
    versions = dict(Slot.objects.filter(trust__ods_code="RRK").values_list("ris_slot_id", "version"))
    assert versions == dict(per_slot)

    # The same end state as sending everything once.
    assert snapshot("RRK") == snapshot("REF")
    assert inbound_outcomes("RRK") == inbound_outcomes("REF")

    # And the listener is still serving on a fresh connection.
    after = Ris((listener.host, listener.port))
    extra = Event("S24", 999, base + dt.timedelta(hours=1), now + dt.timedelta(hours=3), 20)
    assert after.deliver(encode(extra, "RRK", "RRK-AFTER", patients)) == 1
    after.close()

