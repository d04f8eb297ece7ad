"""Real headless Chromium (Debian's package) driven by Playwright, and an axe-core check.

Browser tests are marked `browser`; they skip, saying why, only where /usr/bin/chromium is absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses that without this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")  # not session: its event loop would outlive the browser tests and break asyncio.run()
def chromium_browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _audit_trail_flushable(request):
    """live_server tests end in a flush, which the append-only audit table refuses on SQLite."""
    from tests.patient.db_helpers import empty_audit_trail_for_flush, is_transactional

    if not is_transactional(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so flushed after this runs
    yield
    empty_audit_trail_for_flush()


@pytest.fixture
def browser_page(chromium_browser) -> Iterator[object]:
    # bypass_csp lets the test inject axe-core; the pages themselves are served under the real policy.
    context = chromium_browser.new_context(locale="en-GB", timezone_id="Europe/London", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(60_000)  # a wait, not a budget: a loaded CI machine can be slow
    yield page
    context.close()


def assert_accessible(page: object) -> None:
    """Run axe-core against the page as it stands; fail listing every violation."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
    assert not violations, f"axe found accessibility problems on {page.url}:\n{json.dumps(violations, indent=2)}"


@pytest.fixture
def accessible():
    return assert_accessible


def sign_in_as_patient(page: object, base_url: str, referral: object) -> None:
    """Sign in with the referral's booking reference and the factories' date of birth (27 March 1958)."""
    page.goto(base_url + "/accounts/patient/sign-in/")
    page.fill("#id_booking_reference", referral.booking_reference)
    page.fill("#id_dob_day", "27")
    page.fill("#id_dob_month", "3")
    page.fill("#id_dob_year", "1958")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/my-scan/")
