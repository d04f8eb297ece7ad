"""Every cancel path says who cancelled, and the DM01 clock restarts as booking/rules/dm01.py and the
trust's setting say: the patient's cancellation (from its date) and a missed appointment (from its
date) restart it; the hospital's cancellation never does; the wait since referral never moves."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from booking.models import Booking, BookingChannel, BookingStatus, CancelledBy, Dm01ClockRestart, Referral
from booking.services.bookings import cancel_booking, confirm_booking, reschedule_booking, transition
from tests.conftest import FROZEN_NOW
from tests.factories import (
    ExamTypeFactory,
    ModalityFactory,
    PatientFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    UserFactory,
    api_key_for,
)
from wmin.simulation.whatif.from_database import state_from_database

REFERRED = FROZEN_NOW - dt.timedelta(days=30)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    return frozen_clock


@pytest.fixture
def ct_head(db):
    return ExamTypeFactory(code="CTHEAD", name="CT Head", modality=ModalityFactory(code="CT"), dm01_test="ct")


@pytest.fixture
def site(trust, ct_head):
    site = SiteFactory(trust=trust, name="Queen Elizabeth Hospital Birmingham")
    ScannerFactory(site=site, modality=ct_head.modality)
    return site


@pytest.fixture
def referral(trust, ct_head):
    """The patient's referral (the global patient_client signs this patient in): a DM01 test."""
    return ReferralFactory(
        trust=trust, exam_type=ct_head, clock_start=REFERRED, patient=PatientFactory(date_of_birth=dt.date(1958, 3, 27))
    )


@pytest.fixture
def booking(referral, site):
    slot = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=FROZEN_NOW + dt.timedelta(days=5))
    return confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=FROZEN_NOW, notify=False)


def clocks(referral: Referral) -> tuple[dt.datetime, dt.datetime]:
    referral.refresh_from_db()
    return referral.clock_start, referral.dm01_clock_start


def assert_restarted(referral: Referral, booking: Booking, *, event: str, on: dt.datetime, by: str = "") -> None:
    assert clocks(referral) == (REFERRED, on)
    restart = Dm01ClockRestart.objects.get(referral=referral)
    assert (restart.booking_id, restart.event, restart.cancelled_by) == (booking.pk, event, by)
    assert (restart.previous_clock_start, restart.restarted_from) == (REFERRED, on)


def assert_not_restarted(referral: Referral) -> None:
    assert clocks(referral) == (REFERRED, REFERRED)
    assert not Dm01ClockRestart.objects.filter(referral=referral).exists()


def assert_cancelled_now_by(referral: Referral, booking: Booking, who: str) -> None:
    """Cancelled by `who`: the clock restarted today if the patient, untouched if the hospital."""
    assert cancelled_by(booking) == who
    if who == CancelledBy.PATIENT:
        assert_restarted(referral, booking, event="patient_cancelled", on=FROZEN_NOW, by="patient")
    else:
        assert_not_restarted(referral)


def cancelled_by(booking: Booking) -> str:
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    return booking.cancelled_by


def test_a_new_referral_starts_both_clocks_at_the_referral(referral):
    assert clocks(referral) == (REFERRED, REFERRED)


# Patient pages ---------------------------------------------------------------------------------


def test_the_patient_cancelling_online_restarts_the_clock_from_that_day(patient_client, referral, booking):
    response = patient_client.post(
        reverse("booking:patient-cancel", kwargs={"referral_id": referral.pk}), {"reason": "cannot_make_it"}
    )
    assert response.status_code == 302
    assert cancelled_by(booking) == CancelledBy.PATIENT
    assert_restarted(referral, booking, event="patient_cancelled", on=FROZEN_NOW, by="patient")


# Clerk forms -----------------------------------------------------------------------------------


def _clerk_cancel(clerk_client, booking, **fields):
    return clerk_client.post(
        reverse("booking:clerk-cancel", args=[booking.pk]), {"contact_method": "phone", "reason": "Rang in", **fields}
    )


def test_a_clerk_cancelling_for_the_patient_restarts_the_clock(clerk_client, referral, booking):
    assert _clerk_cancel(clerk_client, booking, cancelled_by="patient").status_code == 302
    assert cancelled_by(booking) == CancelledBy.PATIENT
    assert_restarted(referral, booking, event="patient_cancelled", on=FROZEN_NOW, by="patient")


def test_a_clerk_cancelling_for_the_hospital_never_restarts_it(clerk_client, referral, booking):
    assert _clerk_cancel(clerk_client, booking, cancelled_by="hospital").status_code == 302
    assert cancelled_by(booking) == CancelledBy.HOSPITAL
    assert_not_restarted(referral)


def test_the_clerk_must_say_who_asked_to_cancel(clerk_client, referral, booking):
    page = _clerk_cancel(clerk_client, booking)
    body = page.content.decode()
    assert "Select who asked to cancel: the patient or the hospital" in body
    assert f'href="#cancel-{booking.pk}-cancelled-by"' in body  # the error summary links to the choice
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert_not_restarted(referral)


# REST and FHIR ---------------------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


@pytest.mark.parametrize(
    ("role", "sent", "expected"),
    [
        (Role.CLERK, {"cancelled_by": "patient"}, CancelledBy.PATIENT),
        (Role.CLERK, {"cancelled_by": "hospital"}, CancelledBy.HOSPITAL),
        (Role.CLERK, {}, CancelledBy.HOSPITAL),  # the default for staff: never the patient on a guess
        (Role.PATIENT, {}, CancelledBy.PATIENT),  # a patient's own token cancels as the patient
    ],
)
def test_the_rest_api_records_who_cancelled_with_its_documented_default(trust, referral, booking, role, sent, expected):
    user = (
        UserFactory(username="api-clerk", role=Role.CLERK, trust=trust)
        if role == Role.CLERK
        else UserFactory(username="api-patient", role=Role.PATIENT, trust=None, patient=referral.patient)
    )
    response = _api(user).post(
        reverse("api:booking-cancel", args=[booking.pk]), {"reason": "No longer needed", **sent}, format="json"
    )
    assert response.status_code == 200, response.content
    assert_cancelled_now_by(referral, booking, expected)


def test_the_rest_api_refuses_an_unknown_canceller(trust, referral, booking):
    clerk = UserFactory(username="api-clerk", role=Role.CLERK, trust=trust)
    response = _api(clerk).post(
        reverse("api:booking-cancel", args=[booking.pk]), {"reason": "x", "cancelled_by": "gp"}, format="json"
    )
    assert response.status_code == 400
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize(("code", "expected"), [("pat-crs", CancelledBy.PATIENT), ("prov", CancelledBy.HOSPITAL)])
def test_fhir_reads_who_cancelled_from_the_cancellation_reason_code(trust, referral, booking, code, expected):
    clerk = UserFactory(username="fhir-clerk", role=Role.CLERK, trust=trust)
    client = _api(clerk)
    current = client.get(f"/fhir/Appointment/{booking.pk}", HTTP_ACCEPT="application/fhir+json").json()
    current.update(
        status="cancelled",
        cancelationReason={
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason", "code": code}
            ],
            "text": "Cancelled",
        },
    )
    response = client.put(f"/fhir/Appointment/{booking.pk}", json.dumps(current), content_type="application/fhir+json")
    assert response.status_code == 200, response.content
    assert_cancelled_now_by(referral, booking, expected)


# Did not attend, and the services directly -----------------------------------------------------


def test_a_missed_appointment_restarts_the_clock_from_the_appointment(referral, booking):
    missed_at = booking.slot.starts_at
    transition(booking, BookingStatus.DID_NOT_ATTEND, actor_label="RRK RIS", reason="Did not attend (RIS)")
    assert_restarted(referral, booking, event="did_not_attend", on=missed_at)


def test_the_service_default_is_the_hospital(referral, booking):
    cancel_booking(booking, actor_user=None, reason="Scanner down", now=FROZEN_NOW, notify=False)
    assert cancelled_by(booking) == CancelledBy.HOSPITAL
    assert_not_restarted(referral)


def test_a_move_is_nobody_cancelling(referral, booking, site):
    later = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=FROZEN_NOW + dt.timedelta(days=9))
    reschedule_booking(booking, later.pk, actor_user=None, now=FROZEN_NOW, channel=BookingChannel.CLERK)
    assert cancelled_by(booking) == ""
    assert_not_restarted(referral)


def test_a_second_restart_moves_the_clock_on_and_keeps_both_rows(referral, booking, site):
    cancel_booking(booking, actor_user=None, reason="Away", now=FROZEN_NOW, cancelled_by=CancelledBy.PATIENT)
    slot = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=FROZEN_NOW + dt.timedelta(days=12))
    second = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=FROZEN_NOW, notify=False)
    transition(second, BookingStatus.DID_NOT_ATTEND, reason="Did not attend")
    assert clocks(referral) == (REFERRED, slot.starts_at)
    assert list(Dm01ClockRestart.objects.filter(referral=referral).values_list("event", "restarted_from")) == [
        ("patient_cancelled", FROZEN_NOW),
        ("did_not_attend", slot.starts_at),
    ]


# Where the clock does not restart --------------------------------------------------------------


def test_a_trust_that_does_not_restart_keeps_the_clock_for_patients_cancelling_and_missing(trust, referral, booking, site):
    trust.dm01_restart_on_patient_cancel = False
    trust.save()
    cancel_booking(booking, actor_user=None, reason="Away", now=FROZEN_NOW, cancelled_by=CancelledBy.PATIENT)
    assert cancelled_by(booking) == CancelledBy.PATIENT  # still recorded: only the clock stays
    slot = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=FROZEN_NOW + dt.timedelta(days=12))
    second = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=FROZEN_NOW, notify=False)
    transition(second, BookingStatus.DID_NOT_ATTEND, reason="Did not attend")
    assert_not_restarted(referral)


def test_a_test_dm01_does_not_count_has_no_clock_to_restart(trust, site):
    xray = ExamTypeFactory(code="XCHEST", name="Chest X-ray", modality=ModalityFactory(code="XR"), dm01_test="")
    referral = ReferralFactory(trust=trust, exam_type=xray, clock_start=REFERRED)
    slot = SlotFactory(site=site, modality=xray.modality, starts_at=FROZEN_NOW + dt.timedelta(days=5))
    booking = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=FROZEN_NOW, notify=False)
    cancel_booking(booking, actor_user=None, reason="Away", now=FROZEN_NOW, cancelled_by=CancelledBy.PATIENT)
    assert_not_restarted(referral)


def test_the_simulator_reads_each_trusts_setting(trust, other_trust, referral, network):
    from slots.models import Trust

    Trust.objects.filter(ods_code="RRK").update(dm01_restart_on_patient_cancel=False)
    state = state_from_database(FROZEN_NOW, seed=1)
    restarts = dict(zip(state.trusts, state.dm01_clock_restarts, strict=True))
    assert restarts["RRK"] is False
    assert all(restarts[code] for code in state.trusts if code != "RRK")
