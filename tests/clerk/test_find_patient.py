"""Finding a patient: NHS number (spaces or not, checksum checked), name and date of birth, reference."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from booking.worklist.nhs_numbers import InvalidNhsNumber, normalise_nhs_number
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db
URL = reverse("booking:clerk-find-patient")


@pytest.mark.parametrize("typed", ["943 476 5919", "9434765919", " 943-476-5919 "])
def test_nhs_number_with_or_without_spaces(typed):
    assert normalise_nhs_number(typed) == "9434765919"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("943 476 5918", "the last digit does not match"),
        ("943 476 591", "An NHS number has 10 digits; you entered 9"),
        ("943 476 591X", "contains only numbers"),
    ],
)
def test_wrong_nhs_numbers_are_explained_in_plain_english(typed, message):
    with pytest.raises(InvalidNhsNumber, match=message):
        normalise_nhs_number(typed)


def test_find_by_nhs_number_with_spaces(clerk_client, waiting):
    response = clerk_client.get(URL, {"nhs_number": "943 476 5919"})
    body = response.content.decode()
    assert "1 patient found" in body
    assert reverse("booking:clerk-patient", args=[waiting.patient_id]) in body
    assert "WMAMIRA001 - CT Head (Waiting)" in body


def test_bad_checksum_shows_an_error_against_the_field(clerk_client, waiting):
    body = clerk_client.get(URL, {"nhs_number": "9434765918"}).content.decode()
    assert "There is a problem" in body
    assert "That is not a real NHS number" in body
    assert 'href="#id_nhs_number"' in body
    assert "patient found" not in body


def test_find_by_name_and_date_of_birth(clerk_client, waiting):
    body = clerk_client.get(
        URL, {"family_name": "khan", "dob_day": "27", "dob_month": "3", "dob_year": "1958"}
    ).content.decode()
    assert "1 patient found" in body and "Amira Khan" in body


def test_name_without_date_of_birth_asks_for_it(clerk_client, waiting):
    body = clerk_client.get(URL, {"family_name": "Khan"}).content.decode()
    assert "Enter their date of birth" in body


def test_find_by_booking_reference_in_any_case(clerk_client, waiting):
    body = clerk_client.get(URL, {"booking_reference": "wmamira001"}).content.decode()
    assert "1 patient found" in body and "Amira Khan" in body


def test_empty_search_says_what_to_enter(clerk_client, waiting):
    body = clerk_client.get(URL, {"nhs_number": ""}).content.decode()
    assert "Enter an NHS number, a booking reference, or a last name and date of birth" in body


def test_another_trusts_patient_is_not_found(clerk_client, other_patient_referral):
    body = clerk_client.get(URL, {"booking_reference": "WMOTHER001"}).content.decode()
    assert "0 patients found" in body
    assert "Adeyemi" not in body


def test_search_updates_in_place_with_htmx(clerk_client, waiting):
    response = clerk_client.get(URL, {"nhs_number": "9434765919"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and "1 patient found" in body and "<form" in body


def test_every_patient_found_is_audited(clerk_client, waiting, trust, exam):
    ReferralFactory(trust=trust, exam_type=exam, patient__family_name="Khan",
                    patient__date_of_birth=waiting.patient.date_of_birth)
    clerk_client.get(URL, {"family_name": "Khan", "dob_day": "27", "dob_month": "3", "dob_year": "1958"})
    found = AuditEvent.objects.filter(object_type="booking.Patient", action="view")
    assert found.count() == 2
    assert waiting.patient_id in set(found.values_list("patient_id", flat=True))
