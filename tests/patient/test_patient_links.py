"""Links in messages lead to sign-in for the right referral, reference filled in; they open nothing alone."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from booking.patient_links import BadLink, open_link, patient_link
from tests.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("accounts:patient-sign-in")


def path_of(link: str) -> str:
    assert link.startswith(settings.PUBLIC_BASE_URL)
    return link[len(settings.PUBLIC_BASE_URL):]


def test_a_link_goes_to_sign_in_with_the_reference_filled_in_and_lands_on_its_page(client, referral):
    choose = reverse("booking:patient-choices", args=[referral.pk])
    opened = client.get(path_of(patient_link(referral, "choose")))
    target = urlsplit(opened["Location"])
    assert (target.path, parse_qs(target.query)) == (SIGN_IN, {"next": [choose], "reference": [referral.booking_reference]})
    assert AuditEvent.objects.filter(object_type="booking.Referral", patient_id=referral.patient_id,
                                     summary="Link in a message opened (choose)").exists()

    page = client.get(opened["Location"]).content.decode()
    assert f'value="{referral.booking_reference}"' in page  # filled in
    assert f'name="next" value="{choose}"' in page

    signed_in = client.post(opened["Location"], {"booking_reference": referral.booking_reference, "next": choose,
                                                 "dob_day": "27", "dob_month": "3", "dob_year": "1958"})
    assert signed_in["Location"] == choose
    assert client.get(choose).status_code == 200


def test_the_link_alone_opens_nothing_without_the_date_of_birth(client, referral):
    opened = client.get(path_of(patient_link(referral, "appointment")))
    wrong = client.post(opened["Location"], {"booking_reference": referral.booking_reference,
                                             "dob_day": "1", "dob_month": "1", "dob_year": "1990"})
    assert wrong.status_code == 200
    assert "We could not find a referral" in wrong.content.decode()
    assert client.get(reverse("booking:patient-choices", args=[referral.pk]))["Location"].startswith(SIGN_IN)


def test_a_patient_already_signed_in_goes_straight_to_the_page(patient_client, referral):
    response = patient_client.get(path_of(patient_link(referral, "cancel")))
    assert response["Location"] == reverse("booking:patient-cancel", args=[referral.pk])


def test_someone_else_signed_in_on_the_device_is_sent_to_sign_in(referral):
    from accounts.models import Role
    from tests.factories import UserFactory

    other = ReferralFactory(patient=PatientFactory())
    browser = Client()
    browser.force_login(UserFactory(role=Role.PATIENT, trust=None, patient=other.patient), backend=settings.PATIENT_SIGN_IN_BACKEND)
    response = browser.get(path_of(patient_link(referral, "choose")))
    assert urlsplit(response["Location"]).path == SIGN_IN


def test_a_changed_link_is_not_found(client, referral):
    link = path_of(patient_link(referral, "choose"))
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = token.replace(f"{referral.pk}-choose", f"{referral.pk + 1}-choose")
    assert client.get(reverse("booking:patient-link", args=[forged])).status_code == 404
    assert client.get(reverse("booking:patient-link", args=["nonsense"])).status_code == 404
    with pytest.raises(BadLink):
        open_link(forged)


def test_an_old_link_says_it_has_expired_and_offers_the_sign_in(client, referral, settings):
    import time_machine

    link = path_of(patient_link(referral, "choose"))
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.PATIENT_LINK_DAYS + 1)):
        page = client.get(link)
    body = page.content.decode()
    assert page.status_code == 200
    assert "This link has expired" in body
    assert referral.booking_reference not in body  # an old message's reference is not filled in
    assert f"{SIGN_IN}?next=" in body
