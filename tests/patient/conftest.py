"""Fixtures for the patient journey and the booking services."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from nhs_number import calculate_checksum

from booking.notifications import locmem
from tests import factories
from tests.factories import ReferralFactory, SiteFactory, SlotFactory
from tests.patient.db_helpers import empty_audit_trail_for_flush, is_transactional


def _numbers_with_a_check_digit():
    """tests.factories.synthetic_nhs_number skips a body with no check digit by using the next
    number, which the shared counter then hands out again: a duplicate NHS number (e.g. the 15th
    and 16th patients). Until factories.py skips those numbers itself, feed it only good ones."""
    for n in itertools.count(1):
        if calculate_checksum(f"999{n % 1_000_000:06d}") != 10:
            yield n


factories._nhs_sequence = _numbers_with_a_check_digit()


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def site(referral):
    return SiteFactory(trust=referral.trust, name="Queen Elizabeth Hospital Birmingham")


@pytest.fixture
def slot(site, referral):
    return SlotFactory(site=site, modality=referral.exam_type.modality)


@pytest.fixture
def another_slot(site, referral, slot):
    return SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=slot.starts_at + dt.timedelta(hours=1))


@pytest.fixture
def other_referral(referral):
    """Someone else waiting for the same kind of scan."""
    return ReferralFactory(trust=referral.trust, exam_type=referral.exam_type)


@pytest.fixture
def outbox(settings):
    """Messages 'sent' through the in-memory notifications backend."""
    settings.NOTIFICATIONS_BACKEND = "locmem"
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


@pytest.fixture(autouse=True)
def _audit_trail_flushable(request):
    """Transactional tests end in a flush; make sure the append-only audit table lets it."""
    if not is_transactional(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down (flushed) after us
    yield
    empty_audit_trail_for_flush()
