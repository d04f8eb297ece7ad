"""Two tabs of one browser: the confirm page names its hold, so a stale tab never books the other time.

Given a patient holding 12:15 at one site in tab A and then 12:00 at another in tab B (one browser
context, one session: the real two-tab case), when they press Confirm in tab A, then tab A says
"this time is no longer held" with the next best times and books nothing; tab B books its own time.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import Booking
from booking.views.patient.presenters import SlotButton
from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.factories import ScannerFactory, SiteFactory, SlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_sites(referral):
    modality = referral.exam_type.modality
    day = timezone.localtime(timezone.now() + dt.timedelta(days=4)).replace(hour=12, minute=0, second=0, microsecond=0)
    qeh = SiteFactory(name="Queen Elizabeth Hospital", latitude=52.451, longitude=-1.942)
    cdc = SiteFactory(name="Solihull CDC", kind="cdc", latitude=52.41, longitude=-1.78)
    for site in (qeh, cdc):
        ScannerFactory(site=site, modality=modality)
    return {
        "tab_a": SlotFactory(site=qeh, modality=modality, starts_at=day + dt.timedelta(minutes=15)),
        "tab_b": SlotFactory(site=cdc, modality=modality, starts_at=day),
        "spare": SlotFactory(site=qeh, modality=modality, starts_at=day + dt.timedelta(days=1)),
    }


def hold_from_site_times(page, base_url: str, referral, slot) -> None:
    page.goto(f"{base_url}/my-scan/scans/{referral.pk}/choose/{slot.site_id}/")
    page.get_by_role("button", name=SlotButton(slot.pk, slot.starts_at).label, exact=True).click()
    page.wait_for_url("**/confirm/?hold=*")


def test_confirm_in_a_stale_tab_says_the_time_is_no_longer_held_and_books_nothing(
    live_server, chromium_browser, referral, two_sites
):
    context = chromium_browser.new_context(locale="en-GB", timezone_id="Europe/London", bypass_csp=True)
    try:
        tab_a = context.new_page()
        sign_in_as_patient(tab_a, live_server.url, referral)
        tab_b = context.new_page()  # the same browser, the same session

        # Given tab A holds 12:15 at Queen Elizabeth Hospital
        hold_from_site_times(tab_a, live_server.url, referral, two_sites["tab_a"])
        assert "Queen Elizabeth Hospital" in tab_a.locator("main").inner_text()
        assert_accessible(tab_a)
        # and then tab B holds 12:00 at Solihull CDC
        hold_from_site_times(tab_b, live_server.url, referral, two_sites["tab_b"])
        assert "Solihull CDC" in tab_b.locator("main").inner_text()

        # When the patient presses Confirm in tab A
        tab_a.get_by_role("button", name="Confirm appointment").click()
        tab_a.wait_for_url("**/choose/**")

        # Then nothing is booked, and tab A says why, with the next best times and tab B's hold
        assert not Booking.objects.filter(referral=referral).exists()
        main = tab_a.locator("main").inner_text()
        assert "This time is no longer held for you" in main
        assert "The next best appointments for you" in main
        assert "You are holding" in main and "Solihull CDC" in main
        assert "/hold/" not in tab_a.url and "/confirm/" not in tab_a.url
        assert_accessible(tab_a)

        # and reloading tab A's page repeats nothing and is no bare 405
        tab_a.reload()
        assert "This time is no longer held for you" not in tab_a.locator("main").inner_text()

        # When tab B confirms, it books the time tab B showed
        tab_b.get_by_role("button", name="Confirm appointment").click()
        tab_b.wait_for_url("**/appointment/")
        assert "Your appointment is booked" in tab_b.locator("main").inner_text()
        assert Booking.objects.get(referral=referral).slot_id == two_sites["tab_b"].pk
        assert_accessible(tab_b)
    finally:
        context.close()
