"""API tokens: hashed at rest, shown once, named, scoped, bound to a trust, expiring, rotated and
revoked by administrators; DRF's plaintext tokens migrated."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import api_tokens
from accounts.models import ApiToken, Role
from tests.factories import ReferralFactory, TrustFactory, UserFactory, api_key_for

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def integration(trust):
    return UserFactory(username="uhb-ris", role=Role.INTEGRATION, trust=trust)


def test_the_key_is_stored_only_as_a_digest(integration):
    key = api_key_for(integration)
    token = ApiToken.objects.get(user=integration)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    stored = [str(value) for value in ApiToken.objects.values_list().get(pk=token.pk)]
    assert key not in stored
    assert _client(key).get("/api/referrals/").status_code == 200


def test_a_token_does_only_what_its_scopes_allow(integration, trust):
    referral = ReferralFactory(trust=trust)
    reader = _client(api_key_for(integration, scopes=["read"]))
    assert reader.get("/api/referrals/").status_code == 200
    refused = reader.post("/api/bookings/", {"referral": referral.pk, "slot": 1}, format="json")
    assert refused.status_code == 403
    assert "do not include book" in refused.json()["detail"]
    assert reader.post("/api/bookings/1/cancel/", {"reason": "x"}, format="json").status_code == 403
    booker = _client(api_key_for(integration, scopes=["book"]))
    assert booker.get("/api/referrals/").status_code == 403  # no read scope
    # Scope checks come after the role's: the booking is refused for its slot, not its scope.
    assert booker.post("/api/bookings/", {"referral": referral.pk, "slot": 1}, format="json").status_code == 400


def test_an_expired_token_is_refused(integration, frozen_clock):
    key = api_key_for(integration)
    frozen_clock.shift(api_tokens.DEFAULT_LIFETIME + dt.timedelta(seconds=1))
    response = _client(key).get("/api/referrals/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_token_stops_when_its_user_moves_to_another_trust(integration):
    key = api_key_for(integration)
    integration.trust = TrustFactory(ods_code="RXX")
    integration.save()
    assert _client(key).get("/api/referrals/").status_code == 401


def test_an_admins_token_for_one_trust_sees_that_trust_only(trust, other_trust):
    admin = UserFactory(username="root", role=Role.ADMIN, trust=None, is_staff=True, is_superuser=True)
    mine, theirs = ReferralFactory(trust=trust), ReferralFactory(trust=other_trust)
    _, key = api_tokens.issue(admin, name="UHB audit", scopes=["read"], trust_id=trust.pk, now=dt.datetime.now(dt.UTC))
    ids = {row["id"] for row in _client(key).get("/api/referrals/").json()["results"]}
    assert ids == {mine.pk}
    assert theirs.pk not in ids


def test_a_clerks_token_must_name_their_own_trust(integration, other_trust):
    with pytest.raises(api_tokens.ValidationError):
        api_tokens.issue(integration, name="x", scopes=["read"], trust_id=other_trust.pk, now=dt.datetime.now(dt.UTC))


def test_admins_issue_a_token_and_see_its_key_once(admin_client, integration, trust):
    response = admin_client.post(
        reverse("admin:accounts_apitoken_add"),
        {"user": integration.pk, "name": "UHB RIS", "scopes": ["read", "book"], "trust": trust.pk,
         "expires_at_0": "2027-01-31", "expires_at_1": "12:00:00"},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    page = response.content.decode()
    token = ApiToken.objects.get(name="UHB RIS")
    key = page.split("<code>", 1)[1].split("</code>", 1)[0]
    assert hashlib.sha256(key.encode()).hexdigest() == token.digest
    assert sorted(token.scopes) == ["book", "read"]
    # Never again: the list and the token's own page show the prefix only.
    for url in (reverse("admin:accounts_apitoken_changelist"), reverse("admin:accounts_apitoken_change", args=[token.pk])):
        assert key not in admin_client.get(url).content.decode()


def test_admins_rotate_and_revoke(admin_client, integration):
    old_key = api_key_for(integration)
    token = ApiToken.objects.get(user=integration)
    changelist = reverse("admin:accounts_apitoken_changelist")
    rotated = admin_client.post(changelist, {"action": "rotate", "_selected_action": [token.pk]})
    new_key = rotated.content.decode().split("<code>", 1)[1].split("</code>", 1)[0]
    assert _client(old_key).get("/api/referrals/").status_code == 401
    assert _client(new_key).get("/api/referrals/").status_code == 200
    admin_client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    response = _client(new_key).get("/api/referrals/")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert admin_client.post(reverse("admin:accounts_apitoken_delete", args=[token.pk]), {"post": "yes"}).status_code == 403


def test_plaintext_drf_tokens_are_hashed_and_deleted_by_the_migration(integration):
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0004_hash_plaintext_tokens")
    plaintext = "f" * 40
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id bigint)")
        cursor.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)", [plaintext, "2026-01-01", integration.pk])
    migration.hash_plaintext_tokens(apps, SimpleNamespace(connection=connection))
    token = ApiToken.objects.get(user=integration)
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (token.trust_id, sorted(token.scopes)) == (integration.trust_id, ["book", "cancel", "read"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    assert _client(plaintext).get("/api/referrals/").status_code == 200
