"""The client's address from TRUSTED_PROXIES only; rate limits in a cache every process shares;
no-store and Permissions-Policy on every answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings

from audit.middleware import client_ip

pytestmark = pytest.mark.django_db


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_a_clients_own_forwarded_for_is_ignored():
    assert client_ip(_request("203.0.113.7", "10.9.9.9")) == "203.0.113.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client():
    assert client_ip(_request("10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.3")) == "203.0.113.9"
    assert client_ip(_request("10.0.0.2")) == "10.0.0.2"
    assert client_ip(_request("10.0.0.2", "not-an-address")) == "10.0.0.2"


def test_without_redis_the_cache_is_shared_by_every_process():
    """Per-process caches let each gunicorn worker count its own 60 requests a minute."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["DJANGO_SETTINGS_MODULE"] = "wmin.settings.local"
    code = "import json; from django.conf import settings; print(json.dumps(settings.CACHES['default']))"
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env,
                         cwd=settings.BASE_DIR, capture_output=True, text=True, check=True).stdout
    cache = json.loads(out.strip().splitlines()[-1])
    assert cache["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"


@pytest.mark.parametrize("path", ["/", "/accounts/patient/sign-in/", "/api/sites/", "/fhir/metadata"])
def test_answers_are_not_stored_and_deny_powerful_features(client, path):
    response = client.get(path)
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    policy = response["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


def test_clerk_pages_with_patient_data_are_not_stored(clerk_client):
    assert "no-store" in clerk_client.get("/clerk/")["Cache-Control"]
