"""The RIS's word applied by appointment, then by clock, then by arrival (slots.services.ordering).

Each RIS appointment only moves forward: booked → modified → cancelled / did not attend. The property
test generates a few appointments' S12/S13/S14/S15/S26 histories (times that often tie, patients on
the hub's waiting list or not), sends them once in order to one trust, and to another split across
three connections, interleaved in any order that keeps each connection's own order, with
messages sent again: both trusts must end in the same state. Two events of one appointment at the
same stage (two S13/S14s) with the same time are put on one connection: arrival order breaks that
tie, and across connections there is no order to keep. All through the ingest functions, in-process;
tests/failure/test_hl7_streams_in_any_order_end_in_the_in_order_state.py does it over real sockets.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.models import Booking, BookingStatus, Referral, ReferralStatus
from slots.models import AppointmentState, Modality, Slot, SlotStatus, Trust
from tests.factories import ExamTypeFactory, PatientFactory, ReferralFactory
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import T0, Feed, apply, sim_patient
from wmin.feeds.ingest import process_stored
from wmin.feeds.models import InboundMessage, InboundStatus
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)

IN_ORDER, SHUFFLED = "RRA", "RRB"
LANES = 3
_runs = itertools.count()


@pytest.fixture
def two_trusts(transactional_db):
    for ods in (IN_ORDER, SHUFFLED):
        make_trust(ods, [ods])
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=Modality.objects.get(code="CT"), duration_minutes=15)


appointment = st.fixed_dictionaries(
    {
        "who": st.sampled_from(["waiting", "stranger", None]),
        "changes": st.lists(st.sampled_from(["S13", "S14"]), max_size=3),
        "end": st.sampled_from([None, "S15", "S26"]),
        "steps": st.lists(st.sampled_from([0, 0, 1, 2]), min_size=5, max_size=5),  # 0: the same MSH-7
        "lanes": st.lists(st.integers(0, LANES - 1), min_size=5, max_size=5),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    appointments=st.lists(appointment, min_size=1, max_size=3),
    order=st.randoms(use_true_random=False),
    resends=st.integers(0, 4),
)
def test_any_interleaving_across_connections_ends_in_the_in_order_state(two_trusts, appointments, order, resends):
    run = next(_runs)
    prefix = f"P{run}-"
    base = T0 - dt.timedelta(days=1) + dt.timedelta(minutes=20 * run)
    exam = ExamTypeFactory(code="CHEAD")
    patients = {n: PatientFactory() for n in range(len(appointments))}
    stranger = PatientFactory()  # someone the hub has no referral for
    # Slots within four hours: a freed one starts no backfill, whose offers would depend on what
    # else is free at that moment, not on the order of one appointment's events.
    history = _history(appointments, base, first_start=timezone.now() + dt.timedelta(minutes=90))
    for ods in (IN_ORDER, SHUFFLED):
        for number, spec in enumerate(appointments):
            if spec["who"] == "waiting":
                ReferralFactory(trust=_trust(ods), patient=patients[number], exam_type=exam)
    feeds = {ods: Feed(RisStyle(ods)) for ods in (IN_ORDER, SHUFFLED)}

    def payload(ods: str, event: tuple) -> bytes:
        number, trigger, at, starts, minutes, _lane = event
        who = appointments[number]["who"]
        patient = {"waiting": patients[number], "stranger": stranger}.get(who) if who else None
        return feeds[ods].siu(
            trigger, f"{prefix}{number}", at=at, starts_at=starts, minutes=minutes, scanner_id=f"{ods}01-CT1",
            patient=sim_patient(patient) if patient is not None else None,
        )

    for event in history:
        assert apply(payload(IN_ORDER, event)).code == "AA"

    lanes = [[payload(SHUFFLED, e) for e in history if e[5] == lane] for lane in range(LANES)]
    arrivals = _interleave(lanes, order)
    for _ in range(resends):  # a message sent again, later, on its own connection
        position = order.randrange(len(arrivals))
        arrivals.insert(order.randrange(position + 1, len(arrivals) + 1), arrivals[position])
    for lane, message in arrivals:
        assert apply(message, peer=f"127.0.0.1:{5000 + lane}").code == "AA"

    assert _state(SHUFFLED, prefix, patients) == _state(IN_ORDER, prefix, patients)


def _trust(ods: str) -> Trust:
    return Trust.objects.get(ods_code=ods)


def _history(appointments: list[dict], base: dt.datetime, *, first_start: dt.datetime) -> list[tuple]:
    """Every event of every appointment, in the order they happened: (appointment, trigger, MSH-7,
    starts at, minutes, connection)."""
    events: list[tuple] = []
    for number, spec in enumerate(appointments):
        triggers = ["S12", *spec["changes"], *([spec["end"]] if spec["end"] else [])]
        at, starts, minutes = base, first_start + dt.timedelta(minutes=40 * number), 20
        last_change: tuple[dt.datetime, int] | None = None
        for position, trigger in enumerate(triggers):
            at += dt.timedelta(minutes=spec["steps"][position])
            lane = spec["lanes"][position]
            if trigger == "S13":
                starts += dt.timedelta(minutes=10)
            elif trigger == "S14":
                minutes += 5
            if trigger in ("S13", "S14"):
                if last_change is not None and last_change[0] == at:
                    lane = last_change[1]  # a tie at the same stage: arrival order on one connection
                last_change = (at, lane)
            events.append((number, trigger, at, starts, minutes, lane))
    return sorted(events, key=lambda e: e[2])  # stable: each appointment's own order kept on ties


def _interleave(lanes: list[list[bytes]], rng: random.Random) -> list[tuple[int, bytes]]:
    queues = [list(lane) for lane in lanes]
    out: list[tuple[int, bytes]] = []
    while any(queues):
        lane = rng.choice([n for n, queue in enumerate(queues) if queue])
        out.append((lane, queues[lane].pop(0)))
    return out


def _state(ods: str, prefix: str, patients: dict) -> dict[str, object]:
    slots = {
        slot.ris_slot_id.removeprefix(prefix): (
            slot.status, slot.pooled, slot.starts_at, slot.ends_at, slot.last_event_at, slot.appointment_state,
        )
        for slot in Slot.objects.filter(trust__ods_code=ods, ris_slot_id__startswith=prefix)
    }
    who = {patient.pk: number for number, patient in patients.items()}
    # A booking linked and then cancelled in order is never made when the cancel comes first: what
    # both must agree on is every booking still standing, and every referral's status.
    bookings = sorted(
        (b.slot.ris_slot_id.removeprefix(prefix), b.status, b.channel, who.get(b.referral.patient_id))
        for b in Booking.objects.filter(slot__trust__ods_code=ods, slot__ris_slot_id__startswith=prefix)
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("slot", "referral")
    )
    referrals = sorted(
        (who[r.patient_id], r.status) for r in Referral.objects.filter(trust__ods_code=ods, patient_id__in=list(who))
    )
    return {"slots": slots, "bookings": bookings, "referrals": referrals}


# The known cases, one by one ------------------------------------------------------------------


def _blank_time(payload: bytes) -> bytes:
    """The message with MSH-7 and EVN-2 empty, as 3 of the 47 shared samples come."""
    segments = payload.decode().split("\r")
    out = []
    for segment in segments:
        fields = segment.split("|")
        if fields[0] == "MSH":
            fields[6] = ""
        elif fields[0] == "EVN" and len(fields) > 2:
            fields[2] = ""
        out.append("|".join(fields))
    return "\r".join(out).encode()


@pytest.mark.parametrize("when", ["same second", "no MSH-7"])
def test_a_cancel_then_the_booking_it_cancelled_stays_cancelled(two_trusts, when):
    waiting = PatientFactory()
    ReferralFactory(trust=_trust(SHUFFLED), patient=waiting, exam_type=ExamTypeFactory(code="CHEAD"))
    feed = Feed(RisStyle(SHUFFLED), scanner=f"{SHUFFLED}01-CT1")
    at = T0 + dt.timedelta(minutes=30)
    cancel = feed.siu("S15", "GONE", at=at, patient=sim_patient(waiting))
    booking = feed.siu("S12", "GONE", at=at, patient=sim_patient(waiting))
    if when == "no MSH-7":
        booking = _blank_time(booking)
    assert apply(cancel).code == "AA"
    assert apply(booking, peer="127.0.0.1:5001").code == "AA"  # another connection: AA, applied nothing

    slot = Slot.objects.get(ris_slot_id="GONE")
    assert (slot.status, slot.pooled, slot.appointment_state) == (SlotStatus.OPEN, True, AppointmentState.CANCELLED)
    assert not Booking.objects.filter(slot=slot).exists()
    # Still waiting (backfill may have offered them the freed slot), not booked into it by the late S12.
    assert Referral.objects.get(patient=waiting).status in (ReferralStatus.WAITING, ReferralStatus.OFFERED)
    late = InboundMessage.objects.filter(trigger="S12").get()
    assert late.status == InboundStatus.IGNORED and late.applied_at is None
    assert "already cancelled" in late.error  # said on the raw message, for the admin


def test_a_tie_on_one_connection_goes_by_arrival_and_a_replayed_earlier_message_is_stale(two_trusts):
    feed = Feed(RisStyle(SHUFFLED), scanner=f"{SHUFFLED}01-CT1")
    at = T0 + dt.timedelta(minutes=30)
    starts = T0 + dt.timedelta(days=3)
    assert apply(feed.siu("S12", "TIE", at=at, starts_at=starts)).code == "AA"
    moved = feed.siu("S13", "TIE", at=at, starts_at=starts + dt.timedelta(minutes=10))
    changed = feed.siu("S14", "TIE", at=at, starts_at=starts + dt.timedelta(minutes=20))
    assert apply(moved).code == apply(changed).code == "AA"
    slot = Slot.objects.get(ris_slot_id="TIE")
    assert slot.starts_at == starts + dt.timedelta(minutes=20)  # the later arrival of the same second wins

    # The S13 replayed as the admin's replay does (the stored row, processed again): it arrived
    # before the S14 of the same second, so it is stale now.
    first = InboundMessage.objects.filter(trigger="S13").get()
    InboundMessage.objects.filter(pk=first.pk).update(ack="")
    first.refresh_from_db()
    assert process_stored(first).code == "AA"
    slot.refresh_from_db()
    assert slot.starts_at == starts + dt.timedelta(minutes=20)
    assert "arrived before" in InboundMessage.objects.get(pk=first.pk).error


def test_a_no_show_that_overtakes_its_booking_books_and_marks_the_waiting_patient(two_trusts):
    waiting = PatientFactory()
    referral = ReferralFactory(
        trust=_trust(SHUFFLED), patient=waiting, exam_type=ExamTypeFactory(code="CHEAD")
    )
    feed = Feed(RisStyle(SHUFFLED), scanner=f"{SHUFFLED}01-CT1")
    at = T0 + dt.timedelta(minutes=30)
    assert apply(feed.siu("S26", "DNA", at=at + dt.timedelta(minutes=5), patient=sim_patient(waiting))).code == "AA"
    assert apply(feed.siu("S12", "DNA", at=at, patient=sim_patient(waiting))).code == "AA"
    slot = Slot.objects.get(ris_slot_id="DNA")
    assert (slot.status, slot.appointment_state) == (SlotStatus.BOOKED, AppointmentState.NO_SHOW)
    booking = Booking.objects.get(referral=referral)
    assert booking.status == BookingStatus.DID_NOT_ATTEND
