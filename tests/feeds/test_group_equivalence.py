"""Messages applied in groups leave the hub as the same messages applied one at a time would.

Two trusts with the same sites, scanners and waiting patients get the same random run of SIU events
(any trigger, a few slots, patients waiting on the hub or not, event times out of order, a slot
already booked through the hub or not). One trust's messages go through ingest one by one, the
other's in random groups, as the listener takes them. Every ACK code and every slot, booking and
referral must come out the same.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.models import Booking, BookingChannel, Referral
from booking.services.bookings import confirm_booking
from slots.models import Modality, Slot, Trust
from tests.factories import ExamTypeFactory, PatientFactory, ReferralFactory
from tests.feeds.conftest import ack_code, make_trust
from tests.feeds.helpers import T0, Feed, apply, sim_patient
from tests.feeds.test_group_commit import together
from wmin.feeds.simulator.messages import RisStyle

pytestmark = pytest.mark.django_db(transaction=True)

TRUSTS = ("RRA", "RRB")  # one by one, in groups
TRIGGERS = ("S12", "S13", "S14", "S15", "S16", "S17", "S23", "S24", "S26")
_runs = itertools.count()


@pytest.fixture
def two_trusts(transactional_db):
    for ods in TRUSTS:
        make_trust(ods, [ods])
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=Modality.objects.get(code="CT"), duration_minutes=15)


event = st.tuples(
    st.sampled_from(TRIGGERS),
    st.integers(0, 3),  # which slot
    st.sampled_from([None, "waiting", "stranger"]),  # who the RIS names
    st.integers(0, 40),  # event time, minutes after the start: often out of order
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, min_size=1, max_size=14), cuts=st.sets(st.integers(1, 13)), hub_booked=st.booleans())
def test_groups_apply_as_one_message_at_a_time_would(two_trusts, events, cuts, hub_booked):
    run = next(_runs)
    prefix = f"Q{run}-"
    waiting, stranger, hub_patient = PatientFactory(), PatientFactory(), PatientFactory()
    exam = ExamTypeFactory(code="CHEAD")
    codes: dict[str, list[str]] = {}
    for ods in TRUSTS:
        trust = Trust.objects.get(ods_code=ods)
        ReferralFactory(trust=trust, patient=waiting, exam_type=exam)
        feed = Feed(RisStyle(ods), clock=T0 + dt.timedelta(days=run))
        if hub_booked:
            apply(feed.siu("S24", f"{prefix}0", at=T0 - dt.timedelta(days=1), scanner_id=f"{ods}01-CT1"))
            slot = Slot.objects.get(trust=trust, ris_slot_id=f"{prefix}0")
            referral = ReferralFactory(trust=trust, patient=hub_patient, exam_type=exam)
            confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=timezone.now(), notify=False)
        payloads = [
            feed.siu(
                trigger, f"{prefix}{slot}", at=T0 + dt.timedelta(minutes=minute), scanner_id=f"{ods}01-CT1",
                patient=sim_patient({"waiting": waiting, "stranger": stranger}[who]) if who else None,
            )
            for trigger, slot, who, minute in events
        ]
        if ods == "RRA":
            codes[ods] = [apply(payload).code for payload in payloads]
        else:
            edges = [0, *sorted(c for c in cuts if c < len(payloads)), len(payloads)]
            codes[ods] = [ack_code(reply) for a, b in itertools.pairwise(edges) for reply in together(*payloads[a:b])]
    assert codes["RRA"] == codes["RRB"]
    assert _state("RRA", prefix, waiting, hub_patient) == _state("RRB", prefix, waiting, hub_patient)


def _state(ods: str, prefix: str, waiting, hub_patient) -> dict[str, object]:
    """What the run left at one trust, in terms that do not name the trust."""
    slots = {
        slot.ris_slot_id: (slot.status, slot.pooled, slot.version, slot.starts_at, slot.ends_at, slot.last_event_at)
        for slot in Slot.objects.filter(trust__ods_code=ods, ris_slot_id__startswith=prefix)
    }
    who = {waiting.pk: "waiting", hub_patient.pk: "hub"}
    bookings = sorted(
        (b.slot.ris_slot_id, b.status, b.channel, who.get(b.referral.patient_id, "other"))
        for b in Booking.objects.filter(slot__trust__ods_code=ods, slot__ris_slot_id__startswith=prefix)
        .select_related("slot", "referral")
    )
    referrals = sorted(
        (who[r.patient_id], r.status)
        for r in Referral.objects.filter(trust__ods_code=ods, patient_id__in=list(who))
    )
    return {"slots": slots, "bookings": bookings, "referrals": referrals}
