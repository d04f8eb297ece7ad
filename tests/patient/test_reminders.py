"""Appointment reminders 7 and 2 days before: how to prepare, and links to confirm, change or cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, BookingStatus
from booking.patient_links import open_link
from booking.services.bookings import cancel_booking, confirm_booking
from booking.services.reminders import preparation_text, send_appointment_reminders
from booking.tasks import notify_appointment_reminders
from tests.factories import ExamTypeFactory, ModalityFactory, SlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mri_with_contrast(referral):
    referral.exam_type = ExamTypeFactory(
        code="MLIVEC", name="MRI Liver with contrast", modality=ModalityFactory(code="MR"), fasting_hours=4,
        requires_contrast=True, mri_safety_check=True, preparation="Remove all metal before the scan.",
    )
    referral.save()
    return referral


def book(referral, site, *, days_ahead: float, now):
    slot = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=now + dt.timedelta(days=days_ahead))
    return confirm_booking(referral, slot.pk, channel="clerk", now=now, notify=False)


def test_a_week_before_and_two_days_before_each_reminder_is_sent_once(
    frozen_clock, mri_with_contrast, site, outbox, django_capture_on_commit_callbacks
):
    booked_at = timezone.now()
    book(mri_with_contrast, site, days_ahead=10, now=booked_at)
    assert send_appointment_reminders(booked_at + dt.timedelta(days=2)) == 0  # 8 days to go: nothing yet

    frozen_clock.move_to(booked_at + dt.timedelta(days=3, hours=1))  # 6 days 23 hours to go
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_appointment_reminders.apply().get() == 1
        assert notify_appointment_reminders.apply().get() == 0  # run twice, sent once
    (week,) = outbox
    assert week.template == "appointment_reminder"
    assert week.subject.startswith("Your MRI Liver with contrast is in 7 days: ")
    for text in ("Do not eat for 4 hours before your scan.", "injection of contrast dye",
                 "Do you have a pacemaker, defibrillator", "Remove all metal before the scan.",
                 "Tell us you are coming:", "Change your appointment:", "Cancel your appointment"):
        assert text in week.body, text
    landings = {name: open_link(week.personalisation[f"{name}_link"].rsplit("/link/", 1)[1].rstrip("/")).landing
                for name in ("confirm", "change", "cancel")}
    assert landings == {"confirm": "appointment", "change": "choose", "cancel": "cancel"}

    frozen_clock.move_to(booked_at + dt.timedelta(days=8, hours=1))  # 1 day 23 hours to go
    with django_capture_on_commit_callbacks(execute=True):
        assert send_appointment_reminders(timezone.now()) == 1
        assert send_appointment_reminders(timezone.now()) == 0
    assert [m.personalisation["days_to_go"] for m in outbox] == ["in 7 days", "in 2 days"]
    booking = Booking.objects.get()
    assert booking.reminded_7_days_at and booking.reminded_2_days_at


def test_a_booking_made_five_days_ahead_gets_only_the_two_day_reminder(referral, site, outbox, now):
    book(referral, site, days_ahead=5, now=now)
    assert send_appointment_reminders(now + dt.timedelta(hours=1)) == 0
    assert send_appointment_reminders(now + dt.timedelta(days=3, hours=1)) == 1
    assert Booking.objects.get().reminded_7_days_at is None


def test_no_reminder_for_a_cancelled_booking(referral, site, outbox, now):
    booking = book(referral, site, days_ahead=10, now=now)
    cancel_booking(booking, actor_user=None, reason="Unwell", now=now, notify=False)
    assert send_appointment_reminders(now + dt.timedelta(days=3, hours=1)) == 0


def test_no_reminder_while_the_booking_is_in_conflict_with_the_ris(referral, site, outbox, now):
    booking = book(referral, site, days_ahead=10, now=now)
    Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CONFLICT)
    assert send_appointment_reminders(now + dt.timedelta(days=3, hours=1)) == 0


def test_the_appointment_page_asks_a_reminded_patient_to_confirm_and_shows_the_preparation(
    patient_client, mri_with_contrast, site, now
):
    booking = book(mri_with_contrast, site, days_ahead=10, now=now)
    Booking.objects.filter(pk=booking.pk).update(reminded_7_days_at=now)
    page = patient_client.get(reverse("booking:patient-booking", args=[mri_with_contrast.pk])).content.decode()
    assert "Can you still come?" in page
    assert "<li>Are you, or could you be, pregnant?</li>" in page
    patient_client.post(reverse("booking:patient-attendance", args=[mri_with_contrast.pk]))
    page = patient_client.get(reverse("booking:patient-booking", args=[mri_with_contrast.pk])).content.decode()
    assert "Can you still come?" not in page and "You have told us you will come" in page


def test_an_exam_without_preparation_says_so():
    exam = ExamTypeFactory.build(preparation="", fasting_hours=0, requires_contrast=False, mri_safety_check=False)
    assert preparation_text(exam) == "You do not need to do anything to prepare for this scan."
