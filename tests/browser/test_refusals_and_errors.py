"""The smaller journeys of issue 19, in Chromium with axe on every page: a refused POST leaves a page
that reloads (never /hold/ or /simulations/start/ and a bare 405); a did-not-attend rebook that
nothing suits shows which need blocks and relaxes it; a letter for a patient we cannot message; the
NHS-style 404 and 500 pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from accounts.models import Role
from booking.models import BookingStatus, Invitation, InvitationChannel
from booking.services.holds import hold_slot
from booking.views.patient.presenters import SlotButton
from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.factories import (
    BookingFactory,
    PatientFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple"


def staff_sign_in(page, base_url: str, username: str, lands_on: str) -> None:
    page.goto(base_url + "/accounts/sign-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(lands_on))


def test_a_time_taken_while_choosing_leaves_the_choice_page_in_the_address_bar(live_server, browser_page, referral):
    page = browser_page
    site = SiteFactory(name="Solihull CDC", kind="cdc", latitude=52.451, longitude=-1.942)
    ScannerFactory(site=site, modality=referral.exam_type.modality)
    soon = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    taken, spare = (SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=soon + dt.timedelta(hours=h))
                    for h in (0, 2))
    sign_in_as_patient(page, live_server.url, referral)
    page.goto(f"{live_server.url}/my-scan/scans/{referral.pk}/choose/")

    # Given someone else holds the first time after the page was shown
    hold_slot(ReferralFactory(exam_type=referral.exam_type), taken.pk, now=timezone.now())
    # When the patient picks it
    page.locator("#choices form button.hub-slot-button").first.click()
    page.wait_for_load_state()

    # Then the choice page says so with the next best time, at its own address
    assert re.search(rf"/my-scan/scans/{referral.pk}/choose/", page.url) and "/hold/" not in page.url
    main = page.locator("main").inner_text()
    assert "someone else is booking that appointment" in main
    assert "The next best appointments for you" in main
    assert SlotButton(spare.pk, spare.starts_at).label in page.locator("#next-best").inner_text()
    assert_accessible(page)
    # and a reload is the choice page again, not a bare 405
    response = page.reload()
    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text().startswith("Choose where and when")


def test_a_refused_simulation_start_returns_to_the_simulator_keeping_what_was_typed(live_server, browser_page):
    page = browser_page
    UserFactory(username="manager", role=Role.MANAGER, trust=None)
    staff_sign_in(page, live_server.url, "manager", r".*/network/$")
    page.goto(live_server.url + "/network/simulations/")
    page.fill("#weeks", "0")
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_url("**/network/simulations/")
    assert "Enter a number of weeks from 1 to 26" in page.locator("main").inner_text()
    assert page.input_value("#weeks") == "0"
    assert_accessible(page)
    response = page.reload()
    assert response.status == 200
    assert "There is a problem" not in page.locator("main").inner_text()


def test_a_missed_appointment_rebook_shows_the_need_that_blocks_and_relaxes_it(live_server, browser_page, trust):
    page = browser_page
    UserFactory(username="uhb-clerk", role=Role.CLERK, trust=trust)
    stairs = SiteFactory(name="Queen Elizabeth Hospital", trust=trust, latitude=52.4531, longitude=-1.9389, step_free=False)
    patient = PatientFactory(given_name="Amira", family_name="Khan", date_of_birth=dt.date(1958, 3, 27))
    referral = ReferralFactory(trust=trust, patient=patient, needs_step_free=True, clock_start=timezone.now() - dt.timedelta(weeks=4))
    ScannerFactory(site=stairs, modality=referral.exam_type.modality)
    BookingFactory(referral=referral, slot=SlotFactory(site=stairs, modality=referral.exam_type.modality, status="booked",
                                                       starts_at=timezone.now() - dt.timedelta(days=2)),
                   status=BookingStatus.DID_NOT_ATTEND)
    SlotFactory(site=stairs, modality=referral.exam_type.modality, starts_at=timezone.now() + dt.timedelta(days=3))

    # Given a clerk rebooking a patient who did not attend, whose saved needs nothing suits
    staff_sign_in(page, live_server.url, "uhb-clerk", r".*/clerk/$")
    page.goto(f"{live_server.url}/clerk/patients/{patient.pk}/")
    main = page.locator("main").inner_text()
    assert "No open slot in the network suits all of this patient's saved needs." in main
    assert "Step-free access: without it, 1 site has slots" in main
    assert_accessible(page)

    # When they open the needs, a missing contact and reason is explained
    page.get_by_role("link", name="Relax one of these needs with the patient's agreement").click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Relax a saved need for {referral.exam_type.name}"
    assert_accessible(page)
    page.get_by_role("button", name="Relax this need").click()
    assert "Choose how you were in touch with the patient" in page.locator("main").inner_text()
    assert_accessible(page)

    # Then with the patient's agreement the need is relaxed and the slot is there to book
    page.get_by_label("Step-free access").check()
    page.get_by_label("Phone").check()
    page.get_by_label("What did the patient agree to?").fill("Can manage two steps")
    page.get_by_role("button", name="Relax this need").click()
    page.wait_for_url(f"**/clerk/patients/{patient.pk}/")
    assert "Relaxed the saved need “Step-free access”" in page.locator("main").inner_text()
    assert page.locator("button", has_text="Book").count() >= 1
    assert_accessible(page)


def test_the_clerks_print_and_post_a_letter_for_a_patient_without_email_or_mobile(live_server, browser_page, trust):
    page = browser_page
    UserFactory(username="uhb-clerk", role=Role.CLERK, trust=trust)
    referral = ReferralFactory(trust=trust, patient=PatientFactory(given_name="Ada", email="", mobile=""))
    Invitation.objects.create(referral=referral, channel=InvitationChannel.LETTER, sent_at=timezone.now())
    staff_sign_in(page, live_server.url, "uhb-clerk", r".*/clerk/$")
    page.get_by_role("link", name=re.compile(r"^Letters to post")).click()
    page.get_by_role("link", name=re.compile(r"^Print the letter")).click()
    page.wait_for_url(f"**/clerk/referrals/{referral.pk}/letter/")
    assert referral.booking_reference in page.locator("article").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Mark as posted").click()
    page.wait_for_url("**/clerk/")
    assert "Marked the letter to Ada" in page.locator("main").inner_text()
    assert Invitation.objects.get().letter_posted_at is not None


def test_an_unknown_address_gets_the_nhs_page_not_found(live_server, browser_page):
    response = browser_page.goto(live_server.url + "/no-such-page/")
    assert response.status == 404
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert "URLconf" not in browser_page.content()
    assert_accessible(browser_page)


@pytest.mark.urls("tests.foundation.error_urls")
def test_a_failure_gets_the_nhs_problem_page(live_server, browser_page):
    response = browser_page.goto(live_server.url + "/broken/")
    assert response.status == 500
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Sorry, there is a problem with the service"
    assert_accessible(browser_page)
