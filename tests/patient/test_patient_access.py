"""Who may reach the patient pages: the patient, for their own referrals only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from booking.patient_sign_in import PatientReferenceBackend
from tests.factories import BookingFactory, PatientFactory, ReferralFactory, SiteFactory

pytestmark = pytest.mark.django_db

SIGN_IN = "/accounts/patient/sign-in/"


def referral_routes(referral, site_id):
    r = {"referral_id": referral.pk}
    return [
        ("get", reverse("booking:patient-choices", kwargs=r)),
        ("get", reverse("booking:patient-site-times", kwargs={**r, "site_id": site_id})),
        ("post", reverse("booking:patient-hold", kwargs=r)),
        ("get", reverse("booking:patient-confirm", kwargs=r)),
        ("get", reverse("booking:patient-booking", kwargs=r)),
        ("get", reverse("booking:patient-calendar", kwargs=r)),
        ("get", reverse("booking:patient-cancel", kwargs=r)),
    ]


@pytest.fixture
def someone_elses_referral(referral):
    other = ReferralFactory(trust=referral.trust, exam_type=referral.exam_type, patient=PatientFactory())
    BookingFactory(referral=other)
    return other


def test_a_patient_never_sees_another_patients_referral(patient_client, someone_elses_referral):
    site = SiteFactory()
    for method, url in referral_routes(someone_elses_referral, site.pk):
        response = getattr(patient_client, method)(url, {"slot_id": 1} if method == "post" else {})
        assert response.status_code == 404, url
        assert someone_elses_referral.booking_reference not in response.content.decode()


def test_staff_are_refused(clerk_client, manager_client, referral):
    site = SiteFactory()
    for client in (clerk_client, manager_client):
        for method, url in referral_routes(referral, site.pk):
            assert getattr(client, method)(url).status_code == 403, url
        assert client.get("/my-scan/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_patient_sign_in(client, referral):
    site = SiteFactory()
    for method, url in [("get", "/my-scan/"), *referral_routes(referral, site.pk)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{SIGN_IN}?next=")


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("post", "patient-choices"),
        ("delete", "patient-confirm"),
        ("post", "patient-booking"),
        ("post", "patient-calendar"),
        ("put", "patient-cancel"),
    ],
)
def test_wrong_methods_are_refused(patient_client, referral, method, name):
    url = reverse(f"booking:{name}", kwargs={"referral_id": referral.pk})
    assert getattr(patient_client, method)(url).status_code == 405


def test_short_notice_is_post_only(patient_client):
    assert patient_client.get(reverse("booking:patient-short-notice")).status_code == 405


def test_signing_in_lands_on_the_page_asked_for(client, referral):
    choose = reverse("booking:patient-choices", kwargs={"referral_id": referral.pk})
    response = client.post(SIGN_IN, {"booking_reference": referral.booking_reference, "dob_day": "27", "dob_month": "3",
                                     "dob_year": "1958", "next": choose})
    assert response["Location"] == choose


def test_a_wrong_date_of_birth_is_explained_and_three_make_the_reference_wait(client, referral):
    """The limits themselves are tested in tests/security/test_sign_in_lockout.py."""
    wrong = {"booking_reference": referral.booking_reference, "dob_day": "2", "dob_month": "3", "dob_year": "1958",
             "postcode": referral.patient.postcode, "postcode_asked": "yes"}
    for _ in range(2):
        page = client.post(SIGN_IN, wrong).content.decode()
        assert "We could not find a referral with that booking reference and date of birth" in page
    assert client.post(SIGN_IN, wrong).status_code == 429
    right = {**wrong, "dob_day": "27"}
    locked = client.post(SIGN_IN, right)
    assert locked.status_code == 429
    assert "tried to sign in too many times" in locked.content.decode()


def test_a_postcode_that_does_not_match_is_refused(client, referral):
    page = client.post(SIGN_IN, {"booking_reference": referral.booking_reference, "dob_day": "27", "dob_month": "3",
                                 "dob_year": "1958", "postcode": "CV1 1AA"})
    assert page.status_code == 200
    assert "We could not find a referral" in page.content.decode()


def test_a_signed_in_patient_comes_with_their_patient_record_in_one_query(patient_user, django_assert_num_queries):
    backend = PatientReferenceBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(patient_user.pk)
        assert str(user.patient) == str(patient_user.patient)  # the page header names them: no second query
