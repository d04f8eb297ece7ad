"""API fixtures: a small network, referrals in two trusts, and a token client per role."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from tests.conftest import FROZEN_NOW
from tests.factories import (
    BookingFactory,
    ExamTypeFactory,
    ModalityFactory,
    OfferFactory,
    PatientFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    UserFactory,
    synthetic_nhs_number,
)

PATIENT_NHS_NUMBER = synthetic_nhs_number(777_777)


@pytest.fixture(autouse=True)
def _frozen_and_unthrottled(frozen_clock):
    """Every API test runs at the frozen clock with empty throttle counters."""
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def mri(db):
    return ModalityFactory(code="MR", name="Magnetic resonance imaging (MRI)", dicom_code="MR")


@pytest.fixture
def mri_knee(mri):
    return ExamTypeFactory(code="MKNEE", name="MRI Knee", modality=mri, duration_minutes=30)


@pytest.fixture
def qe_site(trust, mri):
    """Queen Elizabeth Hospital Birmingham, B15: the home trust's site."""
    site = SiteFactory(
        code="RRK15",
        name="Queen Elizabeth Hospital Birmingham",
        trust=trust,
        latitude=52.450146,
        longitude=-1.941776,
    )
    ScannerFactory(site=site, modality=mri, name="MRI 1")
    return site


@pytest.fixture
def coventry_site(other_trust, mri):
    """University Hospital Coventry, CV2: another trust's site, about 34 km from B15."""
    site = SiteFactory(
        code="RKB01",
        name="University Hospital Coventry",
        trust=other_trust,
        postcode="CV2 2DX",
        outcode="CV2",
        latitude=52.4213,
        longitude=-1.4383,
    )
    ScannerFactory(site=site, modality=mri, name="MRI A")
    return site


def _at(days: int, hour: int = 9) -> dt.datetime:
    return (FROZEN_NOW + dt.timedelta(days=days)).replace(hour=hour, minute=0)


@pytest.fixture
def qe_slot(qe_site, mri):
    return SlotFactory(
        site=qe_site, modality=mri, starts_at=_at(7), ends_at=_at(7) + dt.timedelta(minutes=30)
    )


@pytest.fixture
def coventry_slot(coventry_site, mri):
    return SlotFactory(
        site=coventry_site, modality=mri, starts_at=_at(3), ends_at=_at(3) + dt.timedelta(minutes=30)
    )


@pytest.fixture
def referral(trust, mri_knee):
    return ReferralFactory(
        trust=trust,
        exam_type=mri_knee,
        booking_reference="WMAPI0001",
        patient=PatientFactory(nhs_number=PATIENT_NHS_NUMBER, date_of_birth=dt.date(1958, 3, 27)),
    )


@pytest.fixture
def other_referral(other_trust, mri_knee):
    return ReferralFactory(trust=other_trust, exam_type=mri_knee, booking_reference="WMAPI0002")


@pytest.fixture
def integration_user(trust):
    return UserFactory(username="uhb-ris", role=Role.INTEGRATION, trust=trust)


@pytest.fixture
def api(request):
    """`api("clerk")` etc.: a token client for that role (users created on first use)."""
    users = {
        "clerk": lambda: request.getfixturevalue("clerk"),
        "other_clerk": lambda: UserFactory(
            username="other-clerk", role=Role.CLERK, trust=request.getfixturevalue("other_trust")
        ),
        "patient": lambda: request.getfixturevalue("patient_user"),
        "other_patient": lambda: UserFactory(
            username="other-patient",
            role=Role.PATIENT,
            trust=None,
            patient=request.getfixturevalue("other_referral").patient,
        ),
        "manager": lambda: UserFactory(username="manager", role=Role.MANAGER, trust=None),
        "integration": lambda: request.getfixturevalue("integration_user"),
        "admin": lambda: UserFactory(username="admin", role=Role.ADMIN, trust=None, is_staff=True),
    }
    clients: dict[str, APIClient] = {}

    def make(role: str) -> APIClient:
        if role not in clients:
            clients[role] = APIClient() if role == "anonymous" else token_client(users[role]())
        return clients[role]

    return make


@pytest.fixture
def booking(referral, qe_site, mri):
    """A confirmed booking for the home trust's referral, in a slot 10 days ahead."""
    slot = SlotFactory(
        site=qe_site,
        modality=mri,
        status="booked",
        starts_at=_at(10),
        ends_at=_at(10) + dt.timedelta(minutes=30),
    )
    referral.status = "booked"
    referral.save(update_fields=["status"])
    return BookingFactory(referral=referral, slot=slot, channel="clerk")


@pytest.fixture
def offer(referral, qe_slot):
    return OfferFactory(
        referral=referral, slot=qe_slot, status="sent", expires_at=FROZEN_NOW + dt.timedelta(hours=2)
    )


ROLES = ["anonymous", "clerk", "other_clerk", "patient", "other_patient", "manager", "integration", "admin"]
