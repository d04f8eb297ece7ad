"""The choice list a page at a time in real Chromium: "Show more sites" appends the next ten in place
(htmx), focusing the first new card, and works as a plain link without JavaScript; axe on each state
it can run in."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.patient.choice_network import add_sites_with_slots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARDS = "#site-list > li"


@pytest.fixture
def choose_path(referral):
    add_sites_with_slots(referral, 25, first=0)
    return f"/my-scan/scans/{referral.pk}/choose/"


def test_show_more_sites_appends_the_next_ten_in_place_and_focuses_the_first(live_server, browser_page, referral, choose_path):
    page = browser_page
    # Given a patient on the choice page of a network with 25 sites for their scan
    sign_in_as_patient(page, live_server.url, referral)
    page.goto(live_server.url + choose_path)
    page.wait_for_function("window.htmx !== undefined")
    assert page.locator("#choices-summary").inner_text() == "25 sites can do this scan. 25 have appointments that suit you."
    assert page.locator(CARDS).count() == 10
    first_ten = page.locator(f"{CARDS} h3").all_inner_texts()
    assert_accessible(page)
    page.evaluate("window.stillTheSamePage = true")

    # When they ask for more sites
    page.get_by_role("link", name="Show more sites").click()

    # then the next ten are added below the first, in place, and focus moves to the first new one
    page.wait_for_function(f"document.querySelectorAll('{CARDS}').length === 20")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'site-11'")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.locator(f"{CARDS} h3").all_inner_texts()[:10] == first_ten
    assert "Showing 20 of 25 sites" in page.locator("#more-sites").inner_text()
    assert "show=20" in page.url
    assert_accessible(page)

    # and asking again shows the last five, with nothing more to ask for
    page.get_by_role("link", name="Show more sites").click()
    page.wait_for_function(f"document.querySelectorAll('{CARDS}').length === 25")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'site-21'")
    assert page.get_by_role("link", name="Show more sites").count() == 0
    assert "Showing all 25 sites" in page.locator("#more-sites").inner_text()
    assert len(set(page.locator(f"{CARDS} h3").all_inner_texts())) == 25
    assert_accessible(page)

    # and the address it leaves (say, on reload) lists them all as a whole page (axe cannot run without
    # JavaScript, so the plain link's page is checked here)
    page.reload()
    assert page.locator(CARDS).count() == 25
    assert_accessible(page)


def test_show_more_sites_is_a_plain_link_without_javascript(live_server, chromium_browser, referral, choose_path):
    context = chromium_browser.new_context(java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    try:
        # Given a patient without JavaScript who has filtered the list
        sign_in_as_patient(page, live_server.url, referral)
        page.goto(live_server.url + choose_path)
        page.get_by_label("How will you travel?").select_option("public_transport")
        page.get_by_role("button", name="Update appointments").click()
        assert "travel_mode=public_transport" in page.url
        first_ten = page.locator(f"{CARDS} h3").all_inner_texts()
        assert len(first_ten) == 10

        # When they follow "Show more sites"
        page.get_by_role("link", name="Show more sites").click()

        # then a page with twenty sites loads, the filter kept, at the first new card
        assert "travel_mode=public_transport" in page.url and "show=20" in page.url
        assert page.url.endswith("#site-11")
        assert page.locator(f"{CARDS} h3").all_inner_texts()[:10] == first_ten
        assert page.locator(CARDS).count() == 20
        assert "by public transport" in page.locator("#site-11 + p + dl").inner_text()
    finally:
        context.close()
