"""The demo's home pages open in a real Chromium and pass an axe accessibility check."""

import pytest

from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_opens_and_is_accessible(live_server, network, browser_page):
    browser_page.goto(live_server.url + "/")
    assert browser_page.get_by_role("heading", level=1).inner_text().startswith("Book an imaging appointment")
    assert_accessible(browser_page)


def test_site_directory_filters_with_and_without_javascript(live_server, network, browser_page):
    browser_page.goto(live_server.url + "/sites/")
    assert "47 sites" in browser_page.locator("caption").inner_text()
    browser_page.select_option("#kind", "cdc")
    browser_page.wait_for_function("document.querySelector('caption').innerText.startsWith('14 sites')")
    assert "kind=cdc" in browser_page.url
    assert_accessible(browser_page)


def test_staff_sign_in_shows_errors_in_plain_english(live_server, clerk, browser_page):
    browser_page.goto(live_server.url + "/accounts/sign-in/")
    browser_page.fill("#id_username", "clerk")
    browser_page.fill("#id_password", "wrong password")
    browser_page.get_by_role("button", name="Sign in").click()
    assert "The username or password is not right" in browser_page.content()
    assert_accessible(browser_page)
    browser_page.fill("#id_username", "clerk")
    browser_page.fill("#id_password", "correct-horse-battery-staple")
    browser_page.get_by_role("button", name="Sign in").click()
    assert browser_page.get_by_role("heading", level=1).inner_text() == "Worklist"
    assert_accessible(browser_page)


def test_a_site_page_with_its_back_link_passes_axe(live_server, network, browser_page):
    browser_page.goto(live_server.url + "/sites/")
    browser_page.locator("table a").first.click()
    assert browser_page.get_by_role("link", name="All sites").count() == 1
    assert_accessible(browser_page)
