"""A patient's whole journey in real Chromium, with an axe check on every page:
sign in → choose (filtered in place by htmx) → hold → confirm → reschedule → cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import Booking, BookingStatus
from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.factories import ScannerFactory, SiteFactory, SlotFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sites_with_times(referral):
    modality = referral.exam_type.modality
    referral.exam_type.preparation = "Drink a litre of water in the hour before your scan."
    referral.exam_type.save()
    near = SiteFactory(name="Queen Elizabeth Hospital", latitude=52.451, longitude=-1.942, step_free=True, hearing_loop=True)
    cdc = SiteFactory(name="Solihull CDC", kind="cdc", latitude=52.41, longitude=-1.78, step_free=False)
    start = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    for site in (near, cdc):
        ScannerFactory(site=site, modality=modality)
        for day in range(3):
            for hour in (0, 5):
                SlotFactory(site=site, modality=modality, starts_at=start + dt.timedelta(days=day, hours=hour))
    return {"near": near, "cdc": cdc}


def test_patient_signs_in_chooses_books_reschedules_and_cancels(live_server, browser_page, referral, sites_with_times):
    page = browser_page

    # Given a patient with a referral letter, when they sign in with the wrong date of birth
    page.goto(live_server.url + "/accounts/patient/sign-in/")
    assert_accessible(page)
    page.fill("#id_booking_reference", referral.booking_reference)
    page.fill("#id_dob_day", "28")
    page.fill("#id_dob_month", "3")
    page.fill("#id_dob_year", "1958")
    page.get_by_role("button", name="Continue").click()
    # then they are told in plain English
    assert "We could not find a referral with that booking reference and date of birth" in page.content()
    assert_accessible(page)

    # When they sign in properly (with their postcode, asked for after a wrong try) they see their scan
    page.fill("#id_booking_reference", referral.booking_reference)
    page.fill("#id_dob_day", "27")
    page.fill("#id_postcode", referral.patient.postcode)
    page.click("button:has-text('Continue')")
    page.wait_for_url("**/my-scan/")
    assert page.get_by_role("heading", level=1).inner_text() == "Your scans"
    assert_accessible(page)

    # When they choose, every site that does the scan is listed
    page.get_by_role("link", name="Choose where and when").click()
    summary = page.locator("#choices-summary")
    assert summary.inner_text() == "2 sites can do this scan. 2 have appointments that suit you."
    assert_accessible(page)

    # and a filter updates the list in place (htmx), keeping the URL shareable
    page.get_by_label("Step-free access").check()
    page.wait_for_function(
        "document.querySelector('#choices-summary').innerText.includes('1 has appointments')"
    )
    assert "needs=step_free" in page.url
    assert "No step-free access" in page.locator("#choices").inner_text()
    assert_accessible(page)

    # When they pick a time it is held for them
    page.locator("#choices form button.hub-slot-button").first.click()
    page.wait_for_url("**/confirm/?hold=*")
    assert "We are keeping this appointment for you for" in page.content()
    assert "Drink a litre of water" in page.content()
    assert_accessible(page)

    # and confirming books it
    page.fill("#id_interpreter_language", "Polish")
    page.get_by_role("button", name="Confirm appointment").click()
    page.wait_for_url("**/appointment/")
    assert "Your appointment is booked" in page.content()
    assert "Queen Elizabeth Hospital" in page.content()
    assert_accessible(page)
    first = Booking.objects.get(referral=referral, status=BookingStatus.CONFIRMED)

    # When they change it, the new time replaces the old one
    page.get_by_role("link", name="Change appointment").click()
    assert "You are booked for" in page.content()
    assert_accessible(page)
    page.get_by_role("link", name="All appointment times at Queen Elizabeth Hospital").click()
    assert_accessible(page)
    page.locator("form button.hub-slot-button").last.click()
    page.wait_for_url("**/confirm/?hold=*")
    assert "This replaces your current appointment" in page.content()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm appointment").click()
    page.wait_for_url("**/appointment/")
    assert "Your appointment has been changed" in page.content()
    assert_accessible(page)
    second = Booking.objects.get(referral=referral, status=BookingStatus.CONFIRMED)
    assert second.pk != first.pk and second.slot_id != first.slot_id

    # When they cancel without a reason they are asked for one, then it is cancelled
    page.get_by_role("link", name="Cancel appointment").click()
    assert_accessible(page)
    page.get_by_role("button", name="Cancel appointment").click()
    assert "Select why you are cancelling" in page.content()
    assert_accessible(page)
    page.get_by_label("I cannot make this appointment and will choose another later").check()
    page.get_by_role("button", name="Cancel appointment").click()
    page.wait_for_url("**/my-scan/")
    assert "Your appointment has been cancelled" in page.content()
    assert_accessible(page)
    assert not Booking.objects.filter(referral=referral, status=BookingStatus.CONFIRMED).exists()


def test_the_choice_filters_work_without_javascript(live_server, chromium_browser, referral, sites_with_times, patient_user):
    context = chromium_browser.new_context(java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in_as_patient(page, live_server.url, referral)
        page.goto(f"{live_server.url}/my-scan/scans/{referral.pk}/choose/")
        page.get_by_label("Step-free access").check()
        page.get_by_role("button", name="Update appointments").click()
        assert "needs=step_free" in page.url
        assert "1 has appointments that suit you" in page.locator("#choices-summary").inner_text()
    finally:
        context.close()
