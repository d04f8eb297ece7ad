"""A network manager in Chromium sees DM01 and the wait since referral side by side, each labelled,
opens the DM01 return from the overview and downloads it; every page passes axe."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role
from tests.browser.conftest import assert_accessible
from tests.factories import UserFactory
from wmin.network.dm01_return import CSV_HEADER
from wmin.simulation.demand import SIZES, generate_demand

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_list(network):
    generate_demand(SIZES["tiny"], seed=3, now=timezone.now())
    return UserFactory(username="manager", role=Role.MANAGER, trust=None)


def test_a_manager_sees_both_clocks_labelled_and_downloads_the_dm01_return(
    live_server, demo_list, browser_page, tmp_path: Path
):
    page = browser_page
    page.goto(live_server.url + "/accounts/sign-in/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()

    page.goto(live_server.url + "/network/")
    main = page.locator("main").inner_text()
    assert "DM01 (DM01 tests, by the DM01 clock)" in main
    assert "Wait since referral (every test on the list, a clock that never restarts)" in main
    by_trust = page.locator("main table", has=page.locator("caption", has_text="Waits by trust"))
    headers = by_trust.locator("thead th").all_inner_texts()
    assert "DM01: waiting 6 weeks or more" in headers and "Since referral: waiting 6 weeks or more" in headers
    assert_accessible(page)

    page.get_by_role("link", name="DM01 return: per trust and per commissioner, with CSV downloads").click()
    assert page.get_by_role("heading", level=1).inner_text() == "DM01 return"
    headers = page.locator("main table thead th").all_inner_texts()
    assert "DM01: waiting 6+ weeks (DM01 clock)" in headers
    assert "Not DM01: waiting 6+ weeks since referral" in headers
    assert page.locator("main table tbody tr").count() == 15  # the network's trusts
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="per commissioner (ICB)").click()
    saved = tmp_path / "dm01.csv"
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0] == CSV_HEADER
    assert len(table) == 1 + 6 * 5  # six ICBs, five DM01 tests each
    assert {row[2] for row in table[1:]} == {"Commissioner (ICB)"}

    page.select_option("#level", "icb")
    page.fill("#month", "2026-13")
    page.get_by_role("button", name="Show the return").click()
    assert "Enter the month as YYYY-MM" in page.locator(".nhsuk-error-summary").inner_text()
    assert_accessible(page)
