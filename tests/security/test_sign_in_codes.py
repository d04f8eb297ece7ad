"""The second factor for a patient who cannot give the postcode we hold: a one-time code sent to
their email or mobile, which works once, for ten minutes, for its own reference, and says nothing
about whether a reference exists."""

import datetime as dt

import pytest

from accounts import sign_in_codes
from booking.models import Notification
from booking.notifications import locmem
from booking.notifications.messages import NOT_KEPT
from booking.services.notifications import send_notification
from tests.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/patient/sign-in/"
RIGHT_DOB = {"dob_day": "27", "dob_month": "3", "dob_year": "1958"}
WRONG_DOB = {"dob_day": "1", "dob_month": "1", "dob_year": "1990"}


@pytest.fixture(autouse=True)
def empty_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def homeless_referral(trust):
    """A patient with no postcode on their record (as some RIS orders arrive), reachable by text."""
    return ReferralFactory(
        trust=trust, patient=PatientFactory(date_of_birth=dt.date(1958, 3, 27), postcode="", email="", mobile="07700900456")
    )


def _fail_once(client, referral):
    client.post(URL, {"booking_reference": referral.booking_reference, **WRONG_DOB})


def _ask_for_code(client, reference, dob=RIGHT_DOB):
    return client.post(URL, {"booking_reference": reference, **dob, "postcode_asked": "yes", "send_code": "yes"})


def _with_code(client, reference, code, dob=RIGHT_DOB):
    return client.post(URL, {
        "booking_reference": reference, **dob, "postcode_asked": "yes", "code_sent": "yes", "one_time_code": code,
    })


def _code_sent_to(patient) -> str:
    """The code in the newest message sent to the patient (the test backend keeps what it sent)."""
    notification = Notification.objects.filter(patient=patient, template="sign_in_code").latest("pk")
    send_notification(notification.pk)  # as the worker does once the sign-in's transaction commits
    (sent,) = [m for m in locmem.outbox if m.notification_id == notification.pk]
    return sent.personalisation["code"]


def test_after_a_failure_the_page_offers_a_code_instead_of_the_postcode(client, homeless_referral):
    _fail_once(client, homeless_referral)
    asked = client.post(URL, {"booking_reference": homeless_referral.booking_reference, **RIGHT_DOB})
    assert "Send me a code instead" in asked.content.decode()


def test_a_patient_with_no_postcode_signs_in_with_the_code_sent_to_their_phone(client, homeless_referral):
    _fail_once(client, homeless_referral)
    sent = _ask_for_code(client, homeless_referral.booking_reference)
    assert sent.status_code == 200 and "we have sent a 6-digit code" in sent.content.decode()
    notification = Notification.objects.get(patient=homeless_referral.patient, template="sign_in_code")
    assert notification.channel == "sms" and "booking_reference" not in notification.personalisation
    signed_in = _with_code(client, homeless_referral.booking_reference, _code_sent_to(homeless_referral.patient))
    assert signed_in.status_code == 302
    assert homeless_referral.booking_reference in client.get("/my-scan/").content.decode()


def test_a_code_works_once_and_only_for_its_own_reference(client, homeless_referral, referral):
    _fail_once(client, homeless_referral)
    _ask_for_code(client, homeless_referral.booking_reference)
    code = _code_sent_to(homeless_referral.patient)
    _fail_once(client, referral)
    assert _with_code(client, referral.booking_reference, code).status_code == 200  # another patient's key
    assert _with_code(client, homeless_referral.booking_reference, code).status_code == 302
    client.logout()
    again = _with_code(client, homeless_referral.booking_reference, code)
    assert again.status_code == 200 and "do not match" in again.content.decode()


def test_a_wrong_code_is_refused_counted_and_the_code_gives_out_after_its_tries(client, homeless_referral, frozen_clock):
    _fail_once(client, homeless_referral)
    _ask_for_code(client, homeless_referral.booking_reference)
    code = _code_sent_to(homeless_referral.patient)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = _with_code(client, homeless_referral.booking_reference, wrong)
    assert refused.status_code == 200 and "do not match" in refused.content.decode()
    assert "You can try" in refused.content.decode() or "have to wait" in refused.content.decode()
    for _ in range(sign_in_codes.CODE_TRIES):
        assert not sign_in_codes.check_code(homeless_referral.booking_reference, wrong)
    assert not sign_in_codes.check_code(homeless_referral.booking_reference, code)  # used up by guessing


def test_a_code_expires_after_ten_minutes(client, homeless_referral, frozen_clock):
    code = sign_in_codes.issue_code(homeless_referral.booking_reference)
    frozen_clock.shift(dt.timedelta(minutes=sign_in_codes.CODE_MINUTES, seconds=1))
    assert not sign_in_codes.check_code(homeless_referral.booking_reference, code)


def test_asking_for_a_code_reads_the_same_whether_or_not_the_details_match(client, homeless_referral):
    pages = [
        _ask_for_code(client, homeless_referral.booking_reference),
        _ask_for_code(client, homeless_referral.booking_reference, WRONG_DOB),
        _ask_for_code(client, "WMZZZZZZZZ"),
    ]
    bodies = {p.content.decode().split("<main", 1)[-1].split('name="csrfmiddlewaretoken"')[0] for p in pages}
    assert len(bodies) == 1
    assert Notification.objects.filter(template="sign_in_code").count() == 1


def test_no_more_than_three_codes_an_hour_go_to_one_reference(client, homeless_referral):
    for _ in range(5):
        _ask_for_code(client, homeless_referral.booking_reference)
    assert Notification.objects.filter(template="sign_in_code").count() == sign_in_codes.SENDS_PER_HOUR


def test_a_code_must_be_six_numbers(client, homeless_referral):
    page = _with_code(client, homeless_referral.booking_reference, "12ab")
    assert "The code must be 6 numbers" in page.content.decode()
    assert "Enter the 6-digit code" in _with_code(client, homeless_referral.booking_reference, "").content.decode()


def test_the_notification_row_keeps_no_working_code_once_the_message_is_sent(client, homeless_referral):
    _fail_once(client, homeless_referral)
    _ask_for_code(client, homeless_referral.booking_reference)
    code = _code_sent_to(homeless_referral.patient)
    notification = Notification.objects.get(patient=homeless_referral.patient, template="sign_in_code")
    assert notification.status == "sent" and notification.personalisation["code"] == NOT_KEPT
    assert code.isdigit() and len(code) == 6
    assert _with_code(client, homeless_referral.booking_reference, code).status_code == 302
