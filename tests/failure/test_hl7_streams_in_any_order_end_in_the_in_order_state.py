"""Duplicated, reordered and replayed SIU streams over MLLP end where the stream sent once in order does.

Each slot's history is a local booking (S12: for a patient on the hub's waiting list, who is then
booked, or for someone else), then moves (S13) and changes (S14), and sometimes a cancellation
(S15) or a no-show (S26), every message carrying the appointment as it then stands. The reference
trust gets the events once, in order. The trust under test gets them shuffled (seeded) in any order
at all, each on any of three connections at once, with duplicates (same MSH-10, later on the same
connection, and S12s on another connection at the same moment), then a replay of a stretch with
the original MSH-10s and a replay of another stretch re-stamped with new MSH-10s, as an interface
engine replaying its archive would send them.

The RIS's word is applied by appointment, then by clock (slots.services.ordering): an appointment
only moves forward (booked → modified → cancelled / did not attend), so an event for an appointment
already final, or one that would move it back (an S12 after the S13 that overtook it), is recorded
and changes nothing, as is one older than the slot's last. An S13/S14/S26 that overtakes its S12
books the slot and links the patient itself. So the end state does not depend on the order; what
differs is only a booking the in-order stream linked and then cancelled, which the stream with the
S15 first never makes (`snapshot(standing_only=True)`).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from django.db import connections
from django.db.models import Sum
from django.utils import timezone

from tests.factories import ExamTypeFactory, ModalityFactory, PatientFactory, ReferralFactory
from tests.failure.hl7_streams import Event, Ris, encode, slot_id, snapshot
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import sim_patient
from wmin.feeds.models import InboundMessage, InboundStatus

pytestmark = [pytest.mark.services, pytest.mark.failure, pytest.mark.django_db(transaction=True)]

SEED = 20261201
SLOTS = 30
LANES = 3
STRANGERS = 1000  # patient keys from here on are people the hub has no referral for


def histories(rng: random.Random, base: dt.datetime, first_start: dt.datetime) -> dict[int, list[Event]]:
    """Each slot's events in the order they happened. Slots start within four hours: a freed one
    starts no backfill, so neither trust's waiting list is touched by the other's cancellations."""
    out: dict[int, list[Event]] = {}
    for i in range(SLOTS):
        at = base + dt.timedelta(minutes=10 * i, seconds=rng.randint(0, 300))
        starts, minutes = first_start + dt.timedelta(minutes=3 * i), 20
        patient = i if rng.random() < 0.7 else STRANGERS + i
        events = [Event("S12", i, at, starts, minutes, patient)]
        for _ in range(rng.randint(0, 3)):
            at += dt.timedelta(seconds=rng.randint(5, 90))
            if rng.random() < 0.5:
                starts += dt.timedelta(minutes=rng.choice([-6, -3, 3, 6]))
                events.append(Event("S13", i, at, starts, minutes, patient))
            else:
                minutes = rng.choice([15, 30, 40])
                events.append(Event("S14", i, at, starts, minutes, patient))
        ending = rng.random()
        if ending < 0.6:
            at += dt.timedelta(seconds=rng.randint(5, 90))
            events.append(Event("S15" if ending < 0.45 else "S26", i, at, starts, minutes, patient))
        out[i] = events
    return out


def shuffled(rng: random.Random, events: list[Event]) -> list[Event]:
    order = list(events)
    rng.shuffle(order)
    return order


def _setup(trusts: dict[str, object], keys: set[int]) -> dict[int, object]:
    exam = ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"))
    patients = {}
    for key in sorted(keys):
        patient = PatientFactory()
        patients[key] = sim_patient(patient)
        if key < STRANGERS:
            for trust in trusts.values():  # the same patient waits at both trusts
                ReferralFactory(patient=patient, trust=trust, exam_type=exam)
    return patients


def test_duplicated_shuffled_and_replayed_streams_end_in_the_in_order_state(listener):
    rng = random.Random(SEED)
    trusts = {ods: make_trust(ods, [ods]) for ods in ("RRK", "REF")}
    now = timezone.now().replace(microsecond=0)
    per_slot = histories(rng, now - dt.timedelta(hours=6), first_start=now + dt.timedelta(minutes=90))
    in_order = sorted((e for events in per_slot.values() for e in events), key=lambda e: e.at)
    patients = _setup(trusts, {e.patient_key for e in in_order if e.patient_key is not None})
    control = {event: f"{n:06d}" for n, event in enumerate(in_order)}

    reference = Ris((listener.host, listener.port))
    for event in in_order:
        assert reference.deliver(encode(event, "REF", "REF" + control[event], patients)) == 1
    reference.close()

    # The stream under test, shuffled, each message on any connection.
    chaos = shuffled(rng, in_order)
    lane_of = {event: rng.randrange(LANES) for event in chaos}
    reordered = sum(
        [e for e in chaos if e.slot == number] != events for number, events in per_slot.items()
    )
    assert reordered >= SLOTS // 4, "the shuffle left too few slots out of order to test anything"
    overtaken = sum(events[0].trigger == "S12" and next(e for e in chaos if e.slot == n) != events[0]
                    for n, events in per_slot.items())
    assert overtaken >= SLOTS // 4, "too few S12s overtaken by a later event of their appointment"
    lanes: list[list[bytes]] = [[] for _ in range(LANES)]
    for event in chaos:
        lanes[lane_of[event]].append(encode(event, "RRK", "RRK" + control[event], patients))
    for lane in lanes:  # duplicates: a message sent again later on its connection
        for payload in rng.sample(lane, k=len(lane) // 4):
            lane.insert(rng.randrange(lane.index(payload) + 1, len(lane) + 1), payload)
    for event in rng.sample([e for e in chaos if e.trigger == "S12"], k=8):
        # the same S12 on another connection, at about the time its own connection sends it
        other = lanes[(lane_of[event] + 1) % LANES]
        other.insert(rng.randrange(0, len(other) // 2 + 1), encode(event, "RRK", "RRK" + control[event], patients))
    window = rng.randrange(0, len(in_order) - 20)
    replay_same_ids = in_order[window:window + 20]
    window = rng.randrange(0, len(in_order) - 20)
    replay_new_ids = in_order[window:window + 20]
    for event in replay_same_ids:
        lanes[lane_of[event]].append(encode(event, "RRK", "RRK" + control[event], patients))
    for event in replay_new_ids:
        lanes[lane_of[event]].append(encode(event, "RRK", "RRK-R" + control[event], patients))
    sends = sum(len(lane) for lane in lanes)

    tries: Counter = Counter()
    errors: list[BaseException] = []
    start_together = threading.Barrier(LANES)

    def send(lane: list[bytes]) -> None:
        ris = Ris((listener.host, listener.port))
        try:
            start_together.wait()
            for payload in lane:
                tries[ris.deliver(payload)] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            ris.close()
            connections.close_all()

    threads = [threading.Thread(target=send, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    print(f"\nseed {SEED}: {len(in_order)} events, {sends} sends to the trust under test, {reordered} slots' "
          f"events out of order; tries per send {dict(tries)}")
    assert tries == {1: sends}  # every send answered AA at once, duplicates with the original's ACK

    assert snapshot("RRK", versions=False, standing_only=True) == snapshot("REF", versions=False, standing_only=True)

    # Every send is on record: one row per MSH-10, each repeat counted on it, none applied twice.
    rows = InboundMessage.objects.filter(sending_facility="RRK")
    assert not rows.filter(duplicate_of__isnull=False).exists()
    assert rows.count() == len(in_order) + len(replay_new_ids)
    assert rows.aggregate(total=Sum("attempts"))["total"] == sends
    assert not rows.exclude(status__in=[InboundStatus.APPLIED, InboundStatus.IGNORED]).exists()
    # The reference applied each of its events once, in order: its versions count them.
    reference_slots = snapshot("REF")["slots"]
    assert {slot_id(events[0]): len(events) for events in per_slot.values()} == {
        key: state[-1] for key, state in reference_slots.items()
    }


@pytest.mark.parametrize("released_first", [True, False], ids=["pool slot", "slot new to the hub"])
@pytest.mark.parametrize("change", ["S13", "S14"])
def test_a_move_that_overtakes_its_booking_ends_in_the_in_order_state(listener, change, released_first):
    trusts = {ods: make_trust(ods, [ods]) for ods in ("RRK", "REF")}
    patients = _setup(trusts, {0})
    now = timezone.now().replace(microsecond=0)
    base, starts = now - dt.timedelta(hours=1), now + dt.timedelta(hours=2)
    opened = Event("S24", 0, base, starts, 20)
    booked = Event("S12", 0, base + dt.timedelta(minutes=1), starts, 20, 0)
    moved = Event(change, 0, base + dt.timedelta(minutes=2), starts + dt.timedelta(minutes=10), 30, 0)
    history = [opened, booked, moved] if released_first else [booked, moved]
    arrival = [opened, moved, booked] if released_first else [moved, booked]

    ris = Ris((listener.host, listener.port))
    for n, event in enumerate(history):
        ris.deliver(encode(event, "REF", f"REF{n}", patients))
    for event in arrival:
        ris.deliver(encode(event, "RRK", f"RRK{history.index(event)}", patients))
    ris.close()

    assert snapshot("RRK", versions=False) == snapshot("REF", versions=False)
