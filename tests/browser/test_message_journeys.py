"""Messages reach the patient, and their links sign the patient in to the right referral, in Chromium.

Given/when/then: a referral arrives over HL7 and its invitation lands in the in-memory backend; its
link opens sign-in with the reference filled in and, after the date of birth, the choice page for
that referral. An appointment reminder's links lead to the appointment (to confirm) and to cancel.
A link forwarded to someone without the date of birth opens nothing. Every page passes axe.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from booking.models import Booking, Referral
from booking.notifications import locmem
from booking.services.bookings import confirm_booking
from booking.services.reminders import send_appointment_reminders
from tests.browser.conftest import assert_accessible
from tests.factories import ExamTypeFactory, ModalityFactory, ReferralFactory, ScannerFactory, SlotFactory
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import Feed, apply
from wmin.feeds.simulator.messages import RisStyle, SimPatient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def messages_to(live_server, settings):
    """The in-memory backend, and links in messages pointing at the test server."""
    settings.NOTIFICATIONS_BACKEND = "locmem"
    settings.PUBLIC_BASE_URL = live_server.url
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


def sign_in_with_date_of_birth(page, born: dt.date) -> None:
    page.fill("#id_dob_day", str(born.day))
    page.fill("#id_dob_month", str(born.month))
    page.fill("#id_dob_year", str(born.year))
    page.get_by_role("button", name="Continue").click()


def test_an_invitation_arrives_and_its_link_signs_the_patient_in_to_that_referral(live_server, browser_page, messages_to):
    page = browser_page
    trust = make_trust("RRK", ["RRK"])
    ct = ModalityFactory(code="CT")
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ct)
    ScannerFactory(site=trust.sites.first(), modality=ct)
    SlotFactory(site=trust.sites.first(), modality=ct, starts_at=timezone.now() + dt.timedelta(days=5))
    born = dt.date(1971, 5, 2)
    person = SimPatient("9434765919", "Jones", "Rhian", born, email="rhian@example.com")

    # Given a referral arriving over HL7 (the order's transaction commits, so the message is sent)
    assert apply(Feed(RisStyle("RRK")).orm("NW", "ORD1", person)).code == "AA"
    referral = Referral.objects.get(placer_order_number="ORD1")
    ReferralFactory(patient=referral.patient, trust=trust)  # another referral of hers: the link must pick this one
    (invitation,) = messages_to
    assert (invitation.template, invitation.recipient) == ("invitation", "rhian@example.com")
    assert referral.booking_reference in invitation.body

    # When she follows the link in it, sign-in asks for her date of birth with the reference filled in
    page.goto(invitation.personalisation["choose_link"])
    page.wait_for_url("**/accounts/patient/sign-in/**")
    assert page.input_value("#id_booking_reference") == referral.booking_reference
    assert_accessible(page)

    # Then after her date of birth she lands on the choice page for that referral
    sign_in_with_date_of_birth(page, born)
    page.wait_for_url(f"**/my-scan/scans/{referral.pk}/choose/")
    assert page.get_by_role("heading", level=1).inner_text() == "Choose where and when to have your CT Head"
    assert_accessible(page)


def test_a_forwarded_link_without_the_date_of_birth_opens_nothing(live_server, browser_page, messages_to, referral):
    from booking.patient_links import patient_link

    page = browser_page
    page.goto(patient_link(referral, "choose"))
    sign_in_with_date_of_birth(page, dt.date(1990, 1, 1))  # not hers
    assert "We could not find a referral with that booking reference and date of birth" in page.content()
    assert "/accounts/patient/sign-in/" in page.url
    assert_accessible(page)


def test_an_appointment_reminder_arrives_and_its_links_confirm_and_cancel(live_server, browser_page, messages_to, referral):
    page = browser_page
    referral.exam_type.fasting_hours = 4
    referral.exam_type.preparation = "Drink a litre of water in the hour before your scan."
    referral.exam_type.save()
    slot = SlotFactory(modality=referral.exam_type.modality, starts_at=timezone.now() + dt.timedelta(days=10))
    confirm_booking(referral, slot.pk, channel="clerk", now=timezone.now(), notify=False)

    # Given the hourly reminders run a week before
    assert send_appointment_reminders(timezone.now() + dt.timedelta(days=3, hours=1)) == 1
    (reminder,) = messages_to
    assert reminder.template == "appointment_reminder"
    assert "Do not eat for 4 hours before your scan." in reminder.body

    # When the patient follows "Tell us you are coming" and signs in
    page.goto(reminder.personalisation["confirm_link"])
    assert page.input_value("#id_booking_reference") == referral.booking_reference
    sign_in_with_date_of_birth(page, dt.date(1958, 3, 27))
    page.wait_for_url(f"**/my-scan/scans/{referral.pk}/appointment/")

    # Then the appointment page shows how to prepare and asks them to confirm
    assert "Do not eat for 4 hours before your scan." in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Yes, I will come").click()
    assert "We have told the site you are coming" in page.locator("main").inner_text()
    assert Booking.objects.get(referral=referral).attendance_confirmed_at is not None

    # and the cancel link, now signed in, goes straight to cancelling
    page.goto(reminder.personalisation["cancel_link"])
    page.wait_for_url(f"**/my-scan/scans/{referral.pk}/cancel/")
    assert_accessible(page)


def test_an_expired_link_says_so_and_offers_the_sign_in(live_server, browser_page, messages_to, referral, settings):
    import time_machine

    from booking.patient_links import patient_link

    with time_machine.travel(timezone.now() - dt.timedelta(days=settings.PATIENT_LINK_DAYS + 1)):
        old = patient_link(referral, "choose")
    browser_page.goto(old)
    assert browser_page.get_by_role("heading", level=1).inner_text() == "This link has expired"
    assert_accessible(browser_page)


def test_a_patient_with_no_postcode_signs_in_with_a_code_sent_by_text(live_server, browser_page, messages_to):
    page = browser_page
    born = dt.date(1949, 11, 8)
    referral = ReferralFactory(patient__date_of_birth=born, patient__postcode="", patient__email="", patient__mobile="07700900789")
    page.goto(live_server.url + "/accounts/patient/sign-in/")
    page.fill("#id_booking_reference", referral.booking_reference)
    sign_in_with_date_of_birth(page, dt.date(1949, 11, 9))  # a slip of the finger: now a second factor is asked for

    page.fill("#id_booking_reference", referral.booking_reference)
    sign_in_with_date_of_birth(page, born)
    assert_accessible(page)
    page.get_by_role("button", name="Send me a code instead").click()
    assert "we have sent a 6-digit code" in page.content()
    assert_accessible(page)
    (text,) = [m for m in messages_to if m.template == "sign_in_code"]
    code = text.personalisation["code"]
    assert code in text.body and text.channel == "sms"

    page.fill("#id_one_time_code", code)
    page.get_by_role("button", name="Continue").click()
    assert referral.booking_reference in page.content()
    assert_accessible(page)
