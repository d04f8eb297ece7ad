"""A cancellation in one trust becomes an offer to a patient waiting elsewhere, answered in Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from booking.models import BookingStatus, OfferStatus
from booking.services.bookings import cancel_booking, confirm_booking
from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.factories import ReferralFactory, ScannerFactory, SiteFactory, SlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_freed_slot_is_offered_and_the_patient_accepts_it_in_the_browser(live_server, browser_page, referral):
    page = browser_page
    referral.patient.short_notice_opt_in = True
    referral.patient.save()
    site = SiteFactory(name="Solihull CDC", kind="cdc", latitude=52.451, longitude=-1.942)
    ScannerFactory(site=site, modality=referral.exam_type.modality)
    slot = SlotFactory(site=site, modality=referral.exam_type.modality,
                       starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(days=2))
    leaving = ReferralFactory(exam_type=referral.exam_type, clock_start=timezone.now() - dt.timedelta(days=5))

    # Given someone else's booking, when they cancel it (the commit starts the backfill)
    booking = confirm_booking(leaving, slot.pk, channel="clerk", now=timezone.now(), notify=False)
    with transaction.atomic():
        cancel_booking(booking, actor_user=None, reason="Moved away", contact_method="phone", now=timezone.now())
    offer = referral.offers.get()
    assert offer.status == OfferStatus.SENT

    # Then the waiting patient signs in and sees the offer on their home page
    sign_in_as_patient(page, live_server.url, referral)
    assert "We can offer you an earlier appointment" in page.locator("main").inner_text()
    assert_accessible(page)

    # When they open it and send no answer, they are told in plain English
    page.get_by_role("link", name="Answer this offer").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("An appointment for your")
    assert_accessible(page)
    page.get_by_role("button", name="Send my answer").click()
    assert "Select yes if you want this appointment" in page.locator(".nhsuk-error-summary").inner_text()
    assert_accessible(page)

    # When they say yes, the slot is theirs
    page.get_by_label("Yes, book this appointment").check()
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url(f"**/my-scan/scans/{referral.pk}/appointment/")
    assert "Solihull CDC" in page.locator("main").inner_text()
    assert_accessible(page)
    assert referral.bookings.get(status=BookingStatus.CONFIRMED).slot_id == slot.pk
