"""Repeated failed sign-ins lock the account out, for staff and for patients' booking references."""

import pytest

pytestmark = pytest.mark.django_db


def test_staff_locked_out_after_five_failures_even_with_the_right_password(client, clerk):
    for _ in range(5):
        client.post("/accounts/sign-in/", {"username": "clerk", "password": "wrong"})
    response = client.post("/accounts/sign-in/", {"username": "clerk", "password": "correct-horse-battery-staple"})
    assert response.status_code == 429
    assert "tried to sign in too many times" in response.content.decode()


def test_patient_reference_locked_out_after_five_wrong_dates_of_birth(client, referral):
    wrong = {"booking_reference": referral.booking_reference, "dob_day": "1", "dob_month": "1", "dob_year": "1990"}
    for _ in range(4):
        page = client.post("/accounts/patient/sign-in/", wrong)
        assert "We could not find a referral with that booking reference and date of birth" in page.content.decode()
    assert client.post("/accounts/patient/sign-in/", wrong).status_code == 429  # the fifth failure locks
    right = {"booking_reference": referral.booking_reference, "dob_day": "27", "dob_month": "3", "dob_year": "1958"}
    assert client.post("/accounts/patient/sign-in/", right).status_code == 429


def test_patient_signs_in_with_reference_and_date_of_birth(client, referral):
    right = {"booking_reference": referral.booking_reference.lower(), "dob_day": "27", "dob_month": "3", "dob_year": "1958"}
    response = client.post("/accounts/patient/sign-in/", right)
    assert response.status_code == 302
    assert referral.booking_reference in client.get("/my-scan/").content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"booking_reference": "", "dob_day": "1", "dob_month": "1", "dob_year": "1990"}, "Enter the booking reference from your referral letter"),
        ({"booking_reference": "WMX", "dob_day": "31", "dob_month": "2", "dob_year": "1990"}, "Date of birth must be a real date"),
        ({"booking_reference": "WMX", "dob_day": "", "dob_month": "", "dob_year": ""}, "Enter your date of birth"),
        ({"booking_reference": "WMX", "dob_day": "1", "dob_month": "1", "dob_year": "2090"}, "Date of birth must be in the past"),
    ],
)
def test_bad_patient_sign_in_fields_are_explained(client, fields, message):
    page = client.post("/accounts/patient/sign-in/", fields)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert "There is a problem" in page.content.decode()
