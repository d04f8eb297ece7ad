"""Shared test fixtures: a frozen clock, per-role signed-in clients, the real network data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from accounts.models import Role
from tests.factories import PatientFactory, ReferralFactory, TrustFactory, UserFactory

FROZEN_NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
SHARED_HL7 = Path(settings.BASE_DIR).parent / "shared" / "hl7"


@pytest.fixture
def frozen_clock():
    """Monday 23 November 2026, 09:00 UTC, not ticking."""
    with time_machine.travel(FROZEN_NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def trust(db):
    return TrustFactory(ods_code="RRK", short_name="UHB", name="University Hospitals Birmingham NHS FT")


@pytest.fixture
def other_trust(db):
    return TrustFactory(ods_code="RKB", short_name="UHCW", name="University Hospitals Coventry and Warwickshire")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def clerk(trust):
    return UserFactory(username="clerk", role=Role.CLERK, trust=trust)


@pytest.fixture
def clerk_client(clerk) -> Client:
    return _client_for(clerk)


@pytest.fixture
def other_trust_clerk_client(other_trust) -> Client:
    return _client_for(UserFactory(username="other-clerk", role=Role.CLERK, trust=other_trust))


@pytest.fixture
def manager_client(db) -> Client:
    return _client_for(UserFactory(username="manager", role=Role.MANAGER, trust=None))


@pytest.fixture
def admin_client(db) -> Client:
    return _client_for(UserFactory(username="admin", role=Role.ADMIN, trust=None, is_staff=True, is_superuser=True))


@pytest.fixture
def referral(trust):
    return ReferralFactory(trust=trust, patient=PatientFactory(date_of_birth=dt.date(1958, 3, 27)))


@pytest.fixture
def patient_user(referral):
    return UserFactory(username=f"patient-{referral.patient.pk}", role=Role.PATIENT, trust=None, patient=referral.patient)


@pytest.fixture
def patient_client(patient_user) -> Client:
    client = Client()
    client.force_login(patient_user, backend=settings.PATIENT_SIGN_IN_BACKEND)
    return client


@pytest.fixture
def network(db):
    """The real 47-site network loaded from fixtures/."""
    from slots.network_loader import load_network

    return load_network(Path(settings.FIXTURES_DIR))


@pytest.fixture
def shared_hl7_dir() -> Path:
    if not SHARED_HL7.is_dir():
        pytest.skip(f"The shared HL7 samples are not at {SHARED_HL7} (present wherever CI runs).")
    return SHARED_HL7
