"""A fresh demo's managers' pages in a real Chromium: trend and SPC charts with points from the
first open, and the capacity advice with its map; every page passes axe."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Role
from tests.browser.conftest import assert_accessible
from tests.factories import UserFactory
from wmin.demo.dashboards import HISTORY_DAYS, prepare_dashboards
from wmin.simulation.demand import SIZES, generate_demand

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_demo(network):
    """What `make demo` leaves: the network, seeded demand, and the dashboards made ready."""
    now = timezone.now()
    generate_demand(SIZES["tiny"], seed=3, now=now)
    prepare_dashboards(now, weeks=2)
    return UserFactory(username="manager", role=Role.MANAGER, trust=None)


def _sign_in(page, base_url: str) -> None:
    page.goto(base_url + "/accounts/sign-in/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()


def test_a_fresh_demo_opens_on_non_empty_trend_and_spc_charts(live_server, fresh_demo, browser_page):
    page = browser_page
    _sign_in(page, live_server.url)
    page.goto(live_server.url + "/network/")
    assert page.get_by_role("heading", level=1).inner_text() == "Waits across the network"
    trend = page.locator("svg.network-chart").first
    assert trend.locator("circle").count() == HISTORY_DAYS + 1  # a point a day, today's included
    assert "No snapshots yet" not in trend.inner_html()
    assert "were reconstructed from the waiting list" in page.content()
    assert_accessible(page)

    page.get_by_role("link", name="See other trends").click()
    page.select_option("#metric", "median_wait_weeks")  # htmx swaps the chart in place
    page.wait_for_function("document.querySelector('#trend title').textContent.startsWith('Median wait')")
    assert page.locator("#trend svg.network-chart circle").count() == HISTORY_DAYS + 1
    assert "metric=median_wait_weeks" in page.url
    assert_accessible(page)


def test_a_fresh_demo_shows_the_capacity_advice_with_its_sites_on_the_map(live_server, fresh_demo, browser_page):
    page = browser_page
    _sign_in(page, live_server.url)
    page.goto(live_server.url + "/network/")
    page.get_by_role("link", name="Capacity advice").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Where extra lists would do the most good"
    body = page.locator("main").inner_text()
    assert "At today's capacity" in body and "No what-if simulation has finished yet" not in body
    assert page.locator("svg.network-map circle").count() >= 47
    assert_accessible(page)


SLOW_REQUEST_MS = 300_000


def test_the_site_map_and_a_hand_started_allocation_pass_axe(live_server, fresh_demo, browser_page):
    page = browser_page
    _sign_in(page, live_server.url)
    page.goto(live_server.url + "/network/map/")
    assert page.locator("svg.network-map circle").count() == 47
    assert_accessible(page)

    page.goto(live_server.url + "/network/optimiser-runs/")
    # The test server runs the allocation inside this POST (tasks run at once): on a loaded machine it
    # can take a while, so wait for its page as long as it takes; nothing here measures the time.
    page.get_by_role("button", name="Run network allocation now").click(timeout=SLOW_REQUEST_MS)
    page.wait_for_url("**/optimiser-runs/allocate/*/", timeout=SLOW_REQUEST_MS)
    assert page.get_by_role("heading", level=1).inner_text() == "Network allocation started by hand"
    assert "Offers proposed" in page.locator("main").inner_text()  # the test server runs tasks at once
    assert_accessible(page)
