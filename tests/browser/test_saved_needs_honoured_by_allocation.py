"""Issue 19's done-when: a patient's saved dates and needs are honoured by a network allocation offer.

The bug it guards: a patient who saved 7-9 December was offered Tuesday 8 December by the nightly
allocation. Here the patient saves three dates and step-free access on the choice page (holding a
time saves them), the network allocation runs, and the offer they then answer in Chromium is on
none of those dates, at a step-free site, although earlier slots on those dates (and at a site with
stairs) were open.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import BookingStatus, Offer, OfferStatus
from booking.optimiser.services import run_network_allocation
from booking.services.offers import send_allocation_offers
from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.factories import ScannerFactory, SiteFactory, SlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_saved_dates_and_needs_are_honoured_by_the_allocation_offer(live_server, browser_page, referral):
    page = browser_page
    modality = referral.exam_type.modality
    step_free = SiteFactory(name="Queen Elizabeth Hospital", latitude=52.451, longitude=-1.942, step_free=True)
    stairs = SiteFactory(name="Old Wing Clinic", latitude=52.452, longitude=-1.94, step_free=False)
    today = timezone.localdate()
    cannot = [today + dt.timedelta(days=d) for d in (3, 4, 5)]

    def slot(site, day_offset: int):
        starts = dt.datetime.combine(today + dt.timedelta(days=day_offset), dt.time(10, 0), tzinfo=timezone.get_current_timezone())
        return SlotFactory(site=site, modality=modality, starts_at=starts)

    for site in (step_free, stairs):
        ScannerFactory(site=site, modality=modality)
        for day in (3, 4, 5):
            slot(site, day)
    slot(stairs, 6)
    held, offered = slot(step_free, 7), slot(step_free, 8)

    # Given a signed-in patient on their choice page
    sign_in_as_patient(page, live_server.url, referral)
    page.goto(f"{live_server.url}/my-scan/scans/{referral.pk}/choose/")
    assert_accessible(page)

    # When they say which dates they cannot do and that they need step-free access
    page.fill("#id_unavailable_dates", ", ".join(f"{d.day}/{d.month}/{d.year}" for d in cannot))
    page.get_by_label("Step-free access").check()
    page.get_by_role("button", name="Update appointments").click()
    page.wait_for_function("document.querySelector('#choices-summary').innerText.includes('1 has appointments')")
    assert_accessible(page)
    # then the only times they see avoid those dates, and holding one saves what they said
    page.locator("#choices form button.hub-slot-button").first.click()
    page.wait_for_url("**/confirm/?hold=*")
    referral.refresh_from_db()
    assert referral.unavailable_dates == [d.isoformat() for d in cannot]
    assert referral.needs_step_free
    assert referral.holds.get().slot_id == held.pk

    # When the nightly network allocation runs and its offers go out
    now = timezone.now()
    run = run_network_allocation(now=now)
    assert send_allocation_offers(run, now=now) == 1

    # Then the offer the patient sees is for neither a date they cannot do nor a site with stairs
    offer = Offer.objects.get(referral=referral, status=OfferStatus.SENT)
    assert offer.slot_id == offered.pk
    page.goto(f"{live_server.url}/my-scan/")
    home = page.locator("main").inner_text()
    assert "Queen Elizabeth Hospital" in home
    assert "Old Wing Clinic" not in home
    assert_accessible(page)
    page.get_by_role("link", name="Answer this offer").click()
    when = page.locator(".nhsuk-summary-list__row", has_text="When").inner_text()
    assert f"{offered.starts_at.astimezone(timezone.get_current_timezone()):%-d %B}" in when
    assert not any(f"{d:%-d %B}" in when for d in cannot)
    assert_accessible(page)

    # and saying yes books it
    page.get_by_label("Yes, book this appointment").check()
    page.get_by_role("button", name="Send my answer").click()
    page.wait_for_url(f"**/my-scan/scans/{referral.pk}/appointment/")
    assert_accessible(page)
    assert referral.bookings.get(status=BookingStatus.CONFIRMED).slot_id == offered.pk
