"""Rate limits: per user (or system token) and per anonymous address; 429 with Retry-After."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.api.fhir_helpers import outcome
from wmin.api import settings as api_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_limits(monkeypatch):
    monkeypatch.setitem(api_settings.THROTTLE_RATES, "api-user", "3/minute")
    monkeypatch.setitem(api_settings.THROTTLE_RATES, "api-anon", "2/minute")


def test_a_user_over_the_limit_gets_429(api, referral, tight_limits):
    clerk = api("clerk")
    assert [clerk.get("/api/referrals/").status_code for _ in range(3)] == [200, 200, 200]
    response = clerk.get("/api/referrals/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"]
    # Each user (or system) has its own budget.
    assert api("integration").get("/api/referrals/").status_code == 200


def test_anonymous_callers_are_limited_per_address(api, qe_site, tight_limits):
    anonymous = api("anonymous")
    assert [anonymous.get("/api/sites/").status_code for _ in range(2)] == [200, 200]
    assert anonymous.get("/api/sites/").status_code == 429
    assert anonymous.get("/api/sites/", REMOTE_ADDR="10.1.2.3").status_code == 200
    # A made-up X-Forwarded-For does not buy a fresh budget.
    assert anonymous.get("/api/sites/", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_the_budget_refills(api, referral, tight_limits, frozen_clock):
    import datetime as dt

    clerk = api("clerk")
    for _ in range(3):
        clerk.get("/api/referrals/")
    assert clerk.get("/api/referrals/").status_code == 429
    frozen_clock.shift(dt.timedelta(seconds=61))
    assert clerk.get("/api/referrals/").status_code == 200


def test_fhir_429_is_an_operation_outcome(api, qe_slot, tight_limits):
    clerk = api("clerk")
    for _ in range(3):
        clerk.get("/fhir/Slot")
    body = outcome(clerk.get("/fhir/Slot"), 429, "throttled")
    assert body["issue"][0]["details"]["coding"][0]["code"] == "REC_TOO_MANY_REQUESTS"


@override_settings(TRUSTED_PROXIES=["10.0.0.2"])
def test_clients_behind_our_proxy_each_get_their_own_rate_limit(api, qe_site, monkeypatch):
    monkeypatch.setitem(api_settings.THROTTLE_RATES, "api-anon", "2/minute")
    anonymous = api("anonymous")
    first = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert [anonymous.get("/api/sites/", **first).status_code for _ in range(3)] == [200, 200, 429]
    second = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.2"}
    assert anonymous.get("/api/sites/", **second).status_code == 200
