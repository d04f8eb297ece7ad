"""Pages load in Chromium under their real Content-Security-Policy with no console errors (the CSP
allows the NHS font host nhsuk-frontend's stylesheet declares) and fetch nothing from another host
(the pages use the system font stack NHS.UK frontend falls back to)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = ["/", "/accounts/sign-in/", "/accounts/patient/sign-in/", "/sites/", "/accessibility/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_logs_no_console_errors_and_fetches_nothing_from_elsewhere(live_server, network, chromium_browser, path):
    context = chromium_browser.new_context(locale="en-GB")  # no bypass_csp: the real policy applies
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else elsewhere.append(request.url))
    page.goto(live_server.url + path)
    page.wait_for_load_state("networkidle")
    context.close()
    assert errors == []
    assert elsewhere == []
