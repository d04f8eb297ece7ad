"""A small network for the clerk's pages: two trusts, a CT scanner at each, patients at each."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
from django.test import Client
from nhs_number import calculate_checksum

from accounts.models import Role
from booking.models import BookingStatus, BookingStatusChange
from tests import factories
from tests.factories import (
    BookingFactory,
    ExamTypeFactory,
    ModalityFactory,
    PatientFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    UserFactory,
)

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    """Every clerk test runs at the frozen now, so sessions and slots agree on the time."""
    return frozen_clock


def _distinct_nhs_bodies(start: int = 700_000) -> Iterator[int]:
    """Sequence numbers whose NHS number has a check digit. tests.factories.synthetic_nhs_number
    steps past a body with no check digit without moving its counter, so the next call repeats the
    number it just gave (a UNIQUE failure on the 15th patient); skipping those bodies avoids it."""
    for n in itertools.count(start):
        if calculate_checksum(f"999{n % 1_000_000:06d}") != 10:
            yield n


@pytest.fixture(autouse=True)
def _unique_nhs_numbers(monkeypatch):
    monkeypatch.setattr(factories, "_nhs_sequence", _distinct_nhs_bodies())


@pytest.fixture
def ct(db):
    return ModalityFactory(code="CT")


@pytest.fixture
def exam(ct):
    return ExamTypeFactory(code="CTHEAD", name="CT Head", modality=ct)


@pytest.fixture
def home_site(trust, ct):
    site = SiteFactory(code="UHB-QEH", name="Queen Elizabeth Hospital", trust=trust, postcode="B15 2GW", outcode="B15",
                       latitude=52.4531, longitude=-1.9389)
    ScannerFactory(site=site, modality=ct, name="CT 1")
    return site


@pytest.fixture
def other_site(other_trust, ct):
    site = SiteFactory(code="UHCW-UH", name="University Hospital Coventry", trust=other_trust, postcode="CV2 2DX",
                       outcode="CV2", latitude=52.4213, longitude=-1.4380)
    ScannerFactory(site=site, modality=ct, name="CT A")
    return site


@pytest.fixture
def at(frozen_clock):
    """Make a time relative to the frozen now."""
    return lambda **delta: NOW + dt.timedelta(**delta)


@pytest.fixture
def patient(trust):
    return PatientFactory(given_name="Amira", family_name="Khan", date_of_birth=dt.date(1958, 3, 27),
                          postcode="B15 2TT", outcode="B15", nhs_number="9434765919")


@pytest.fixture
def waiting(trust, exam, patient, at):
    return ReferralFactory(trust=trust, exam_type=exam, patient=patient, booking_reference="WMAMIRA001",
                           clock_start=at(weeks=-4), clinical_reason="Persistent headaches")


@pytest.fixture
def other_patient_referral(other_trust, exam, at):
    return ReferralFactory(
        trust=other_trust, exam_type=exam, booking_reference="WMOTHER001", clock_start=at(weeks=-7),
        patient=PatientFactory(given_name="Olu", family_name="Adeyemi", postcode="CV1 2AA", outcode="CV1",
                               email="olu@example.com"),
        clinical_reason="Suspected fracture",
    )


@pytest.fixture
def open_slot(home_site, ct, at):
    return SlotFactory(site=home_site, modality=ct, starts_at=at(days=3, hours=1))


@pytest.fixture
def other_open_slot(other_site, ct, at):
    return SlotFactory(site=other_site, modality=ct, starts_at=at(days=2, hours=2))


def make_booking(referral, slot, status=BookingStatus.CONFIRMED, **kwargs):
    booking = BookingFactory(referral=referral, slot=slot, status=status, **kwargs)
    BookingStatusChange.objects.create(booking=booking, from_status="", to_status=status, reason="Booked (test)")
    return booking


@pytest.fixture
def freed_slot(home_site, ct, at, other_trust, exam):
    """A slot that a cancellation gave back, starting in two days."""
    slot = SlotFactory(site=home_site, modality=ct, starts_at=at(days=2), status="open")
    gone = ReferralFactory(trust=other_trust, exam_type=exam, status="waiting")
    make_booking(gone, slot, status=BookingStatus.CANCELLED)
    return slot


@pytest.fixture
def manager_user(db):
    return UserFactory(username="network-manager", role=Role.MANAGER, trust=None)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client
