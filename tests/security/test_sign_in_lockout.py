"""Sign-in limits: per booking reference across every address, per address across every reference,
per staff username; waits that double and end; the postcode after a failure; warnings; audit."""

import datetime as dt

import pytest

from accounts import sign_in_limits
from accounts.models import Role
from audit.models import AuditAction, AuditEvent
from tests.factories import PatientFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/patient/sign-in/"
RIGHT_DOB = {"dob_day": "27", "dob_month": "3", "dob_year": "1958"}
WRONG_DOB = {"dob_day": "1", "dob_month": "1", "dob_year": "1990"}
NOT_FOUND = "We could not find a referral with that booking reference and date of birth"


def attempt(client, reference, dob, *, address="192.0.2.1", postcode=None):
    fields = {"booking_reference": reference, **dob}
    if postcode is not None:
        fields |= {"postcode": postcode, "postcode_asked": "yes"}
    return client.post(URL, fields, REMOTE_ADDR=address)


def test_a_patient_signs_in_with_reference_and_date_of_birth(client, referral):
    response = attempt(client, referral.booking_reference.lower(), RIGHT_DOB)
    assert response.status_code == 302
    assert referral.booking_reference in client.get("/my-scan/").content.decode()


def test_a_reference_is_limited_across_every_address(client, referral, frozen_clock):
    postcode = referral.patient.postcode
    for n in range(3):
        attempt(client, referral.booking_reference, WRONG_DOB, address=f"198.51.100.{n}", postcode=postcode)
    # The right details from yet another address must wait too: the reference itself is waiting.
    refused = attempt(client, referral.booking_reference, RIGHT_DOB, address="203.0.113.9", postcode=postcode)
    assert refused.status_code == 429
    assert "you cannot sign in for the next 1 minute" in refused.content.decode()


def test_the_wait_doubles_with_each_failure_and_then_ends(client, referral, frozen_clock):
    postcode = referral.patient.postcode
    for _ in range(3):
        attempt(client, referral.booking_reference, WRONG_DOB, postcode=postcode)
    frozen_clock.shift(dt.timedelta(seconds=61))
    fourth = attempt(client, referral.booking_reference, WRONG_DOB, postcode=postcode)
    assert fourth.status_code == 429 and "next 2 minutes" in fourth.content.decode()
    frozen_clock.shift(dt.timedelta(seconds=119))
    assert attempt(client, referral.booking_reference, RIGHT_DOB, postcode=postcode).status_code == 429
    frozen_clock.shift(dt.timedelta(seconds=2))
    # Not a lock an attacker can make permanent: once the wait is over the patient signs in.
    assert attempt(client, referral.booking_reference, RIGHT_DOB, postcode=postcode).status_code == 302


def test_one_address_is_limited_across_references(client, referral, frozen_clock):
    for n in range(10):
        attempt(client, f"WMGUESS{n:03d}", WRONG_DOB, address="198.51.100.7")
    refused = attempt(client, referral.booking_reference, RIGHT_DOB, address="198.51.100.7")
    assert refused.status_code == 429
    assert attempt(client, referral.booking_reference, RIGHT_DOB, address="198.51.100.8").status_code == 302


def test_after_a_failure_the_postcode_is_asked_for_too(client, referral):
    attempt(client, referral.booking_reference, WRONG_DOB)
    asked = attempt(client, referral.booking_reference, RIGHT_DOB)
    assert asked.status_code == 200
    assert "Enter your postcode as well" in asked.content.decode()
    assert 'name="postcode_asked" value="yes"' in asked.content.decode()
    assert attempt(client, referral.booking_reference, RIGHT_DOB, postcode="ZZ9 9ZZ").status_code == 200
    signed_in = attempt(client, referral.booking_reference, RIGHT_DOB, postcode=referral.patient.postcode.lower())
    assert signed_in.status_code == 302


def _visible_text(response) -> str:
    page = response.content.decode()
    return page.split("<main", 1)[-1].split("</main>", 1)[0].split('name="csrfmiddlewaretoken"')[0]


def test_answers_do_not_reveal_whether_a_reference_exists(client, referral):
    real, made_up = referral.booking_reference, "WMNOSUCH01"
    for n in range(4):
        postcode = None if n == 0 else "B1 1AA"
        a = attempt(client, real, WRONG_DOB, address="198.51.100.1", postcode=postcode)
        b = attempt(client, made_up, WRONG_DOB, address="198.51.100.2", postcode=postcode)
        assert a.status_code == b.status_code
        assert _visible_text(a).replace(real, "REF") == _visible_text(b).replace(made_up, "REF")


def test_a_warning_says_when_tries_are_running_out(client, referral):
    first = attempt(client, referral.booking_reference, WRONG_DOB).content.decode()
    assert NOT_FOUND in first
    assert "You can try 2 more times before you have to wait." in first
    second = attempt(client, referral.booking_reference, WRONG_DOB, postcode="B1 1AA").content.decode()
    assert "If the next try is not right, you will have to wait before you can try again." in second


def test_a_too_long_reference_is_explained_in_plain_english(client):
    page = attempt(client, "WM" + "X" * 23, RIGHT_DOB).content.decode()
    assert "Booking reference must be 20 characters or fewer" in page
    assert "Ensure this value" not in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"booking_reference": "", **WRONG_DOB}, "Enter the booking reference from your referral letter"),
        ({"booking_reference": "WMX", "dob_day": "31", "dob_month": "2", "dob_year": "1990"}, "Date of birth must be a real date"),
        ({"booking_reference": "WMX", "dob_day": "", "dob_month": "", "dob_year": ""}, "Enter your date of birth"),
        ({"booking_reference": "WMX", "dob_day": "1", "dob_month": "1", "dob_year": "2090"}, "Date of birth must be in the past"),
        ({"booking_reference": "WMX", "dob_day": "1", "dob_month": "1", "dob_year": "99999999999"}, "Date of birth must be a real date"),
    ],
)
def test_bad_patient_sign_in_fields_are_explained(client, fields, message):
    page = client.post(URL, fields)
    assert page.status_code == 200
    assert message in page.content.decode()
    assert "There is a problem" in page.content.decode()


def test_staff_locked_out_after_five_failures_even_with_the_right_password(client, clerk):
    for _ in range(5):
        client.post("/accounts/sign-in/", {"username": "clerk", "password": "wrong"})
    response = client.post("/accounts/sign-in/", {"username": "clerk", "password": "correct-horse-battery-staple"})
    assert response.status_code == 429
    assert "tried to sign in too many times" in response.content.decode()


def test_a_staff_username_is_limited_across_every_address(client, clerk):
    for n in range(5):
        client.post("/accounts/sign-in/", {"username": "clerk", "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{n}")
    right = {"username": "clerk", "password": "correct-horse-battery-staple"}
    assert client.post("/accounts/sign-in/", right, REMOTE_ADDR="203.0.113.5").status_code == 429


def test_the_admin_signs_in_through_the_staff_sign_in(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/?next=/admin/"


def test_failed_patient_sign_ins_are_audited_with_the_reference_never_the_date_of_birth(client, referral):
    attempt(client, f" {referral.booking_reference.lower()} ", WRONG_DOB, address="198.51.100.4")
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert event.object_id == referral.booking_reference
    assert event.ip_address == "198.51.100.4"
    stored = f"{event.summary} {event.detail}"
    assert "1990" not in stored and "1958" not in stored


def test_a_successful_patient_sign_in_is_audited_as_the_patient(client, referral):
    attempt(client, referral.booking_reference, RIGHT_DOB)
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    user = referral.patient.user
    assert (event.actor_id, event.actor_role, event.patient_id) == (user.pk, Role.PATIENT, referral.patient_id)
    assert event.actor_label != "anonymous"


def test_every_staff_sign_in_is_audited_with_the_username_tried(client, clerk):
    client.post("/accounts/sign-in/", {"username": "clerk", "password": "nope"})
    client.post("/accounts/sign-in/", {"username": "clerk", "password": "correct-horse-battery-staple"})
    failed, succeeded = AuditEvent.objects.order_by("pk")
    assert (failed.action, failed.object_id) == (AuditAction.SIGN_IN_FAILED, "clerk")
    assert (succeeded.action, succeeded.actor_id) == (AuditAction.SIGN_IN, clerk.pk)


def test_a_deactivated_patient_cannot_sign_in(client):
    referral = ReferralFactory(patient=PatientFactory(date_of_birth=dt.date(1958, 3, 27)))
    UserFactory(username="gone", role=Role.PATIENT, trust=None, patient=referral.patient, is_active=False)
    assert attempt(client, referral.booking_reference, RIGHT_DOB).status_code == 200


# A Redis client pointed at a port nothing listens on: every call is a real refused connection.
UNREACHABLE_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


def test_with_the_shared_cache_unreachable_patients_still_sign_in_and_guesses_are_still_limited(
    client, referral, frozen_clock, settings
):
    settings.CACHES = UNREACHABLE_REDIS
    sign_in_limits.process_counts.clear()
    postcode = referral.patient.postcode
    signed_in = attempt(client, referral.booking_reference, RIGHT_DOB)
    assert signed_in.status_code == 302
    client.post("/accounts/sign-out/")
    for n in range(3):
        answered = attempt(client, referral.booking_reference, WRONG_DOB, address=f"198.51.100.{n}", postcode=postcode)
        assert answered.status_code in (200, 429)  # refused, never a server error
    refused = attempt(client, referral.booking_reference, RIGHT_DOB, address="203.0.113.9", postcode=postcode)
    assert refused.status_code == 429  # counted in this process while the shared cache is down
    sign_in_limits.process_counts.clear()
