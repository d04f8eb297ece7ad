"""Every REST endpoint by every role: the same scopes as the pages.

Own = the home trust's referral (its clerk, its integration system, its patient, and admin may act);
other = another trust's clerk or another patient (404 or 400: they cannot even tell it exists);
manager = aggregates only (403); anonymous = 401, except the public site directory.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import ROLES

pytestmark = pytest.mark.django_db

OWN = {"clerk", "patient", "integration", "admin"}


def expect(own: int, other: int, *, manager: int = 403, anonymous: int = 401) -> dict[str, int]:
    return {
        "anonymous": anonymous,
        "manager": manager,
        **{role: own for role in OWN},
        "other_clerk": other,
        "other_patient": other,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", ["/api/sites/", "/api/sites/RRK15/", "/api/sites/?modality=MR&kind=hospital"])
def test_the_site_directory_is_public(api, qe_site, role, url):
    assert api(role).get(url).status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", ["/api/availability/", "/api/referrals/", "/api/offers/", "/api/bookings/"])
def test_lists(api, referral, role, url):
    # Lists are always 200 for a role that may use them; what is in them is tested in test_rest_scopes.
    assert api(role).get(url).status_code == expect(200, 200)[role]


@pytest.mark.parametrize("role", ROLES)
def test_read_a_referral(api, referral, role):
    assert api(role).get(f"/api/referrals/{referral.pk}/").status_code == expect(200, 404)[role]


@pytest.mark.parametrize("role", ROLES)
def test_read_a_booking(api, booking, role):
    assert api(role).get(f"/api/bookings/{booking.pk}/").status_code == expect(200, 404)[role]


@pytest.mark.parametrize("role", ROLES)
def test_book_a_slot(api, referral, qe_slot, role):
    response = api(role).post("/api/bookings/", {"referral": referral.pk, "slot": qe_slot.pk}, format="json")
    assert response.status_code == expect(201, 400)[role]
    if response.status_code == 400:
        assert response.json() == {"referral": ["No such referral among those you may book."]}


@pytest.mark.parametrize("role", ROLES)
def test_cancel_a_booking(api, booking, role):
    response = api(role).post(
        f"/api/bookings/{booking.pk}/cancel/", {"reason": "Patient asked"}, format="json"
    )
    assert response.status_code == expect(200, 404)[role]


@pytest.mark.parametrize("role", ROLES)
def test_accept_an_offer(api, offer, role):
    assert (
        api(role).post(f"/api/offers/{offer.pk}/accept/", {}, format="json").status_code
        == expect(201, 404)[role]
    )


@pytest.mark.parametrize("role", ROLES)
def test_decline_an_offer(api, offer, role):
    assert (
        api(role).post(f"/api/offers/{offer.pk}/decline/", {}, format="json").status_code
        == expect(200, 404)[role]
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("put", "/api/sites/"),
        ("post", "/api/referrals/"),
        ("delete", "/api/referrals/{referral}/"),
        ("patch", "/api/bookings/{booking}/"),
        ("get", "/api/bookings/{booking}/cancel/"),
        ("get", "/api/offers/{offer}/accept/"),
        ("delete", "/api/availability/"),
    ],
)
def test_wrong_method_is_405(api, booking, offer, method, url):
    path = url.format(referral=booking.referral_id, booking=booking.pk, offer=offer.pk)
    response = getattr(api("clerk"), method)(path)
    assert response.status_code == 405
    assert "not allowed" in response.json()["detail"]


def test_an_unknown_token_is_401(client):
    response = client.get("/api/referrals/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_api_path_is_a_json_404(api):
    response = api("clerk").get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("No such API endpoint")
