"""The OpenAPI schema, its docs page, and Schemathesis against the live schema.

Schemathesis generates requests from /api/schema/ for every operation, valid and invalid, sends them
through the real WSGI application with a token, and checks that nothing is a server error and every
response matches the schema.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import Role
from tests.factories import UserFactory
from wmin.api import settings as api_settings

pytestmark = pytest.mark.django_db

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}


def test_the_schema_is_openapi_3_and_lists_every_endpoint(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert operations == {
        ("GET", "/api/sites/"),
        ("GET", "/api/sites/{code}/"),
        ("GET", "/api/availability/"),
        ("GET", "/api/referrals/"),
        ("GET", "/api/referrals/{id}/"),
        ("GET", "/api/offers/"),
        ("POST", "/api/offers/{id}/accept/"),
        ("POST", "/api/offers/{id}/decline/"),
        ("GET", "/api/bookings/"),
        ("POST", "/api/bookings/"),
        ("GET", "/api/bookings/{id}/"),
        ("POST", "/api/bookings/{id}/cancel/"),
    }
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_docs_page_renders_the_schema_without_scripts_from_elsewhere(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "GET /api/availability/" in page and "POST /api/bookings/{id}/cancel/" in page
    assert "<code>postcode</code>" in page
    assert "cdn" not in page.lower()
    assert "script-src 'self'" in response["Content-Security-Policy"]


@contextmanager
def wsgi_requests_in_the_test_transaction():
    """The real WSGI handler closes the database connection after each request; Django's test client
    stops it, and so must we, or the test's transaction would be closed under it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(referral, other_referral, qe_slot, coventry_slot, booking, offer):
    """Something behind every endpoint, so generated requests reach real rows."""


@pytest.mark.slow
@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLERK])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(world, trust, monkeypatch, role):
    from wmin.wsgi import application

    monkeypatch.setitem(api_settings.THROTTLE_RATES, "api-user", "100000/minute")
    user = UserFactory(username=f"fuzz-{role}", role=role, trust=trust if role == Role.CLERK else None)
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    started = time.monotonic()
    unsatisfiable: list[str] = []
    with wsgi_requests_in_the_test_transaction():
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode, examples in EXAMPLES.items():

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=examples,
                    derandomize=True,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case):
                    case.call_and_validate(
                        headers=headers, checks=[not_a_server_error, response_schema_conformance]
                    )

                try:
                    run()
                except Unsatisfiable:
                    # Some operations have nothing to get wrong (e.g. only optional free-text parameters).
                    assert mode is GenerationMode.NEGATIVE, operation.label
                    unsatisfiable.append(operation.label)
    assert time.monotonic() - started < 60
    assert len(unsatisfiable) <= 2, unsatisfiable
