"""Errors get NHS-style pages that say what to do next and nothing about the system, in the demo too."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from wmin.demo.management.commands.run_demo import demo_environment
from wmin.errors import server_error


def test_an_unknown_address_gets_the_nhs_page_not_found(client):
    response = client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in body
    assert "check you copied the entire address" in body
    assert "nhsuk-header" in body
    assert "URLconf" not in body and "api/schema" not in body


@pytest.mark.urls("tests.foundation.error_urls")
def test_a_failure_gets_the_nhs_problem_page_without_the_details(db):
    browser = Client(raise_request_exception=False)
    response = browser.get("/broken/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in body
    assert "secret-internal-detail" not in body and "Traceback" not in body


class _UnreadableUser:
    """Stands for a user that cannot be loaded (the database is down)."""

    @property
    def is_authenticated(self):
        raise AssertionError("the 500 page read the signed-in user")


def test_the_problem_page_reads_neither_the_user_nor_the_database(django_assert_num_queries, db):
    request = RequestFactory().get("/anything/")
    request.user = _UnreadableUser()
    request.csp_nonce = "n"
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.content.decode()


def test_the_demo_serves_these_pages_not_djangos_debug_pages(tmp_path):
    """`make demo` runs the local settings with run_demo's environment: DEBUG is off there."""
    environment = {**demo_environment(), "DJANGO_SETTINGS_MODULE": "wmin.settings.local",
                   "SQLITE_FILE": str(tmp_path / "demo.sqlite3")}
    environment.pop("DATABASE_URL", None)
    script = (
        "import json, django; django.setup()\n"
        "from django.conf import settings; from django.test import Client\n"
        "response = Client().get('/no-such-page/')\n"
        "print(json.dumps({'debug': settings.DEBUG, 'status': response.status_code, 'body': response.content.decode()}))"
    )
    run = subprocess.run([sys.executable, "-c", script], env=environment, cwd=settings.BASE_DIR,
                         capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["debug"] is False
    assert answer["status"] == 404
    assert "<h1>Page not found</h1>" in answer["body"]
    assert "URLconf" not in answer["body"]
