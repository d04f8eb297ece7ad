"""Each kind of user lands on their own home page and sees what they came for."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_home_offers_patient_and_staff_sign_in(client, network):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "47 hospitals and community diagnostic centres" in body
    assert reverse("accounts:patient-sign-in") in body


def test_patient_home_shows_their_referral(patient_client, referral):
    response = patient_client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("booking:patient-home")
    assert referral.booking_reference in response.content.decode()


def test_clerk_lands_on_the_worklist_and_sees_their_trusts_waiting_list_only(clerk_client, referral, other_trust):
    from tests.factories import ReferralFactory

    elsewhere = ReferralFactory(trust=other_trust)
    landing = clerk_client.get("/", follow=True)
    assert landing.redirect_chain[-1][0] == reverse("booking:clerk-home")
    assert reverse("booking:clerk-waiting-list") in landing.content.decode()

    body = clerk_client.get(reverse("booking:clerk-waiting-list")).content.decode()
    assert referral.patient.family_name.upper() in body
    assert elsewhere.patient.family_name.upper() not in body


def test_manager_home_shows_aggregates_without_patient_identifiers(manager_client, referral, network):
    response = manager_client.get("/", follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("network:overview")
    assert "47 imaging sites" in body
    assert referral.patient.nhs_number not in body
    assert referral.patient.family_name not in body


def test_admin_goes_to_the_django_admin(admin_client):
    response = admin_client.get("/")
    assert response["Location"] == reverse("admin:index")


def test_site_directory_lists_all_47_sites_and_filters_in_place(client, network):
    response = client.get(reverse("slots:sites"))
    assert "47 sites" in response.content.decode()
    partial = client.get(reverse("slots:sites"), {"kind": "cdc"}, HTTP_HX_REQUEST="true")
    assert "14 sites" in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_patient_cannot_open_clerk_or_manager_pages(patient_client):
    assert patient_client.get(reverse("booking:clerk-home")).status_code == 403
    assert patient_client.get(reverse("network:overview")).status_code == 403


def test_health_check_reports_database(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


def test_every_model_of_ours_is_in_the_admin(admin_client):
    from django.apps import apps
    from django.contrib import admin

    ours = [m for m in apps.get_models() if m._meta.app_label in {"slots", "booking", "accounts", "audit", "feeds", "network"}]
    assert [m._meta.label for m in ours if m not in admin.site._registry] == []
    for model in ours:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url


def test_health_check_reports_the_task_mode_in_force(client, settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert client.get("/health/").json()["checks"]["broker"] == "eager"

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = None
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    assert client.get("/health/").json()["checks"]["broker"] == "ok (file system)"

    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}
    response = client.get("/health/")
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "error: FileNotFoundError"
