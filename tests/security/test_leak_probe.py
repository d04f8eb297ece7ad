"""The leak probe on a tiny synthetic network: it finds nothing, and it finds a planted leak."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from booking.models import Patient, Referral
from slots.models import Site
from wmin.demo.leak_probe import probe

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def tiny(frozen_clock):
    call_command("setup_demo", size="tiny", seed=7, verbosity=0)


def test_no_role_sees_patient_data_it_should_not(tiny):
    report = probe()
    assert report.requests > 500
    assert report.statuses.get(500, 0) == 0, report.statuses
    assert report.findings == [], "\n".join(map(str, report.findings[:50]))


def test_a_planted_leak_is_found(tiny):
    other = Referral.objects.exclude(trust__ods_code="RRK").select_related("patient").first()
    patient: Patient = other.patient
    # A site's public name carrying a patient's name and NHS number: every role's directory shows it.
    Site.objects.filter(pk=Site.objects.order_by("name").first().pk).update(
        name=f"{patient.given_name} {patient.family_name} {patient.nhs_number}"
    )
    report = probe(only=["anonymous", "clerk.uhb", "manager"])
    leaked = {(f.role, f.url) for f in report.findings}
    assert ("anonymous", "/sites/") in leaked
    assert ("manager", "/sites/") in leaked
    assert any(f.role == "clerk.uhb" for f in report.findings)
