"""Issue 19, item 5: a site card's indicative wait and its earliest appointment come from the same
filtered query, so "Indicative wait: Tomorrow" can no longer sit beside "Earliest appointment for
you: Thursday 10 December"."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ScannerFactory, SiteFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _row(body: str, key: str) -> str:
    match = re.search(rf'<dt class="nhsuk-summary-list__key">{key}</dt><dd class="nhsuk-summary-list__value">([^<]*)</dd>', body)
    assert match, key
    return match.group(1)


def test_the_indicative_wait_counts_only_times_that_suit_the_patient(patient_client, referral):
    site = SiteFactory(name="Queen Elizabeth Hospital", latitude=52.451, longitude=-1.942)
    ScannerFactory(site=site, modality=referral.exam_type.modality)
    today = timezone.localdate()
    at = timezone.get_current_timezone()
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=2), dt.time(10), tzinfo=at)
    later = dt.datetime.combine(today + dt.timedelta(days=5), dt.time(10), tzinfo=at)
    for starts in (tomorrow, later):
        SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=starts)
    cannot = today + dt.timedelta(days=2)

    page = patient_client.get(
        reverse("booking:patient-choices", kwargs={"referral_id": referral.pk}),
        {"filtered": "1", "unavailable_dates": f"{cannot.day}/{cannot.month}/{cannot.year}"},
    )

    body = page.content.decode()
    assert f"{later:%-d %B}" in _row(body, "Earliest appointment for you")
    assert _row(body, "Indicative wait") == "5 days"


def test_without_filters_the_card_still_agrees(patient_client, referral):
    site = SiteFactory(name="Queen Elizabeth Hospital", latitude=52.451, longitude=-1.942)
    ScannerFactory(site=site, modality=referral.exam_type.modality)
    first = dt.datetime.combine(timezone.localdate() + dt.timedelta(days=3), dt.time(9), tzinfo=timezone.get_current_timezone())
    SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=first)

    body = patient_client.get(reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})).content.decode()

    assert f"{first:%-d %B}" in _row(body, "Earliest appointment for you")
    assert _row(body, "Indicative wait") == "3 days"
