"""Who may open every clerk page: own trust, another trust, a patient, a manager, nobody; and methods."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.clerk.conftest import client_for, make_booking
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(waiting, open_slot, other_open_slot, freed_slot):
    booking = make_booking(waiting, open_slot)
    return {"patient": waiting.patient_id, "referral": waiting.pk, "booking": booking.pk, "slot": freed_slot.pk}


# (url name, which object it takes, allowed methods, does another trust's clerk get 404?)
VIEWS = [
    ("booking:clerk-home", None, {"GET"}, False),
    ("booking:clerk-waiting-list", None, {"GET"}, False),
    ("booking:clerk-find-patient", None, {"GET"}, False),
    ("booking:clerk-patient", "patient", {"GET"}, True),
    ("booking:clerk-freed-slot", "slot", {"GET", "POST"}, False),  # the pool is the network's
    ("booking:clerk-book", "referral", {"GET", "POST"}, True),
    ("booking:clerk-move", "booking", {"GET", "POST"}, True),
    ("booking:clerk-cancel", "booking", {"GET", "POST"}, True),
    ("booking:clerk-conflict", "booking", {"GET", "POST"}, True),
]
IDS = [v[0].split(":")[1] for v in VIEWS]


def url_of(name, needs, objects):
    return reverse(name, args=[objects[needs]] if needs else None)


@pytest.mark.parametrize(("name", "needs", "methods", "hidden"), VIEWS, ids=IDS)
def test_own_trusts_clerk_may_open_it(clerk_client, objects, name, needs, methods, hidden):
    assert clerk_client.get(url_of(name, needs, objects)).status_code == 200


@pytest.mark.parametrize(("name", "needs", "methods", "hidden"), VIEWS, ids=IDS)
def test_another_trusts_clerk_gets_404_for_our_patients(other_trust_clerk_client, objects, name, needs, methods, hidden):
    response = other_trust_clerk_client.get(url_of(name, needs, objects))
    assert response.status_code == (404 if hidden else 200)
    if not hidden:
        assert "Amira Khan" not in response.content.decode()


CHANGES = [(name, needs) for name, needs, methods, hidden in VIEWS if "POST" in methods and hidden]


@pytest.mark.parametrize(("name", "needs"), CHANGES, ids=[c[0].split(":")[1] for c in CHANGES])
def test_another_trusts_clerk_cannot_change_our_patients_bookings(other_trust_clerk_client, objects, name, needs):
    response = other_trust_clerk_client.post(
        url_of(name, needs, objects), {"slot_id": objects["slot"], "contact_method": "phone", "reason": "x"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "needs", "methods", "hidden"), VIEWS, ids=IDS)
def test_a_patient_is_refused(waiting, objects, name, needs, methods, hidden):
    user = UserFactory(username="patient-user", role=Role.PATIENT, trust=None, patient=waiting.patient)
    client = client_for(user)
    assert client.get(url_of(name, needs, objects)).status_code == 403


@pytest.mark.parametrize(("name", "needs", "methods", "hidden"), VIEWS, ids=IDS)
def test_a_network_manager_is_refused(manager_user, objects, name, needs, methods, hidden):
    assert client_for(manager_user).get(url_of(name, needs, objects)).status_code == 403


@pytest.mark.parametrize(("name", "needs", "methods", "hidden"), VIEWS, ids=IDS)
def test_anonymous_is_sent_to_sign_in(client, objects, name, needs, methods, hidden):
    url = url_of(name, needs, objects)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))


@pytest.mark.parametrize(("name", "needs", "methods", "hidden"), VIEWS, ids=IDS)
def test_wrong_method_is_405(clerk_client, objects, name, needs, methods, hidden):
    url = url_of(name, needs, objects)
    assert clerk_client.delete(url).status_code == 405
    assert clerk_client.put(url).status_code == 405
    if "POST" not in methods:
        assert clerk_client.post(url).status_code == 405
