"""Hold → confirm → booked → calendar → reschedule → cancel, and the short-notice opt-in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from booking.models import Booking, BookingStatus, Hold, Notification, ReferralStatus
from booking.services.bookings import confirm_booking
from booking.services.holds import hold_slot
from slots.models import SlotStatus
from tests.factories import ReferralFactory, ScannerFactory, SlotFactory

pytestmark = pytest.mark.django_db


def url(name, referral, **kwargs):
    return reverse(f"booking:{name}", kwargs={"referral_id": referral.pk, **kwargs})


def confirming(referral, **fields):
    """The confirm form as the page sends it: naming the hold it shows."""
    return {"hold_id": Hold.objects.get(referral=referral).pk, **fields}


@pytest.fixture
def scanner(site, referral):
    return ScannerFactory(site=site, modality=referral.exam_type.modality)


@pytest.fixture
def held(patient_client, referral, slot, scanner):
    response = patient_client.post(url("patient-hold", referral), {"slot_id": slot.pk})
    assert response.status_code == 302
    return slot


def test_confirm_page_shows_the_hold_time_left_and_preparation(patient_client, referral, held, settings):
    referral.exam_type.preparation = "Drink a litre of water an hour before."
    referral.exam_type.save()
    body = patient_client.get(url("patient-confirm", referral)).content.decode()
    assert f"for {settings.HOLD_MINUTES} more minutes" in body or f"for {settings.HOLD_MINUTES - 1} more minutes" in body
    assert "Drink a litre of water an hour before." in body
    assert "Queen Elizabeth Hospital Birmingham" in body


def test_confirming_books_saves_needs_and_queues_a_message(patient_client, referral, held):
    response = patient_client.post(url("patient-confirm", referral), confirming(
        referral, reasonable_adjustments="I use a wheelchair", interpreter_language="Polish"))
    assert response["Location"] == url("patient-booking", referral)
    booking = Booking.objects.get(referral=referral)
    assert (booking.status, booking.channel, booking.slot_id) == (BookingStatus.CONFIRMED, "patient", held.pk)
    referral.patient.refresh_from_db()
    assert (referral.patient.reasonable_adjustments, referral.patient.interpreter_language) == ("I use a wheelchair", "Polish")
    assert Notification.objects.filter(patient=referral.patient, template="booking_confirmed").exists()
    page = patient_client.get(response["Location"]).content.decode()
    assert "Your appointment is booked" in page
    assert "Polish" in page and "I use a wheelchair" in page
    assert "Add this appointment to your calendar" in page


def test_a_lapsed_hold_is_explained_and_alternatives_shown(patient_client, referral, held, another_slot, scanner):
    later = timezone.now() + dt.timedelta(minutes=11)
    import time_machine

    with time_machine.travel(later, tick=False):
        refused = patient_client.post(url("patient-confirm", referral), confirming(referral))
        assert (refused.status_code, refused["Location"]) == (303, url("patient-choices", referral) + "#next-best")
        body = patient_client.get(refused["Location"]).content.decode()
        assert "the time ran out" in body
        assert "The next best appointments for you" in body
        response = patient_client.get(url("patient-confirm", referral))
        assert response["Location"].startswith(url("patient-choices", referral))
    assert not Booking.objects.exists()


def test_a_slot_taken_at_confirm_shows_the_next_best(patient_client, referral, held, another_slot):
    from booking.models import Hold

    Hold.objects.filter(slot=held).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    rival = ReferralFactory(exam_type=referral.exam_type)
    hold_id = Hold.objects.get(referral=referral).pk
    confirm_booking(rival, held.pk, channel="clerk", now=timezone.now())
    refused = patient_client.post(url("patient-confirm", referral), {"hold_id": hold_id})
    assert refused.status_code == 303
    assert "The next best appointments for you" in patient_client.get(refused["Location"]).content.decode()


def _book(patient_client, referral, slot):
    assert patient_client.post(url("patient-hold", referral), {"slot_id": slot.pk}).status_code == 302
    assert patient_client.post(url("patient-confirm", referral), confirming(referral)).status_code == 302
    return Booking.objects.get(referral=referral, status=BookingStatus.CONFIRMED)


def test_calendar_file_is_a_proper_vevent_in_utc(patient_client, referral, slot, scanner):
    referral.exam_type.preparation = "No food, drink; or gum\nfor 4 hours"
    referral.exam_type.save()
    booking = _book(patient_client, referral, slot)
    response = patient_client.get(url("patient-calendar", referral))
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    unfolded = text.replace("\r\n ", "")
    assert f"UID:booking-{booking.pk}@" in unfolded
    assert f"DTSTART:{slot.starts_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}" in unfolded
    assert f"DTEND:{slot.ends_at.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}" in unfolded
    assert "No food\\, drink\\; or gum\\nfor 4 hours" in unfolded
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_reschedule_moves_the_appointment(patient_client, referral, slot, another_slot, scanner):
    first = _book(patient_client, referral, slot)
    page = patient_client.get(url("patient-choices", referral)).content.decode()
    assert "You are booked for" in page
    _ = patient_client.post(url("patient-hold", referral), {"slot_id": another_slot.pk})
    confirm_page = patient_client.get(url("patient-confirm", referral)).content.decode()
    assert "This replaces your current appointment" in confirm_page
    response = patient_client.post(url("patient-confirm", referral), confirming(referral))
    assert response["Location"] == url("patient-booking", referral)
    first.refresh_from_db()
    assert first.status == BookingStatus.CANCELLED
    assert Booking.objects.get(referral=referral, status=BookingStatus.CONFIRMED).slot_id == another_slot.pk
    slot.refresh_from_db()
    assert slot.status == SlotStatus.OPEN


def test_cancel_needs_a_reason_then_cancels(patient_client, referral, slot, scanner):
    booking = _book(patient_client, referral, slot)
    page = patient_client.post(url("patient-cancel", referral), {})
    assert page.status_code == 400
    assert "Select why you are cancelling" in page.content.decode()
    response = patient_client.post(url("patient-cancel", referral), {"reason": "cannot_make_it"})
    assert response["Location"] == reverse("booking:patient-home")
    booking.refresh_from_db()
    referral.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert referral.status == ReferralStatus.WAITING
    assert booking.status_changes.last().contact_method == "online"
    assert "Your appointment has been cancelled" in patient_client.get(response["Location"]).content.decode()


def test_no_changes_online_after_the_cut_off(patient_client, referral, site, scanner, another_slot, settings):
    settings.PATIENT_CHANGE_CUTOFF_HOURS = 24
    soon = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=timezone.now() + dt.timedelta(hours=24, minutes=10))
    hold_slot(referral, soon.pk, now=timezone.now())
    booking = confirm_booking(referral, soon.pk, channel="patient", now=timezone.now())
    import time_machine

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15), tick=False):  # within the session
        page = patient_client.get(url("patient-booking", referral)).content.decode()
        assert "too late to change this appointment online" in page
        cancel = patient_client.post(url("patient-cancel", referral), {"reason": "other"})
        assert cancel.status_code == 400
        assert "can only be changed online up to 24 hours before" in cancel.content.decode()
        held = patient_client.post(url("patient-hold", referral), {"slot_id": another_slot.pk})
        assert held.status_code == 303
        assert "can only be changed online up to 24 hours before" in patient_client.get(held["Location"]).content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_short_notice_opt_in(patient_client, referral):
    response = patient_client.post(reverse("booking:patient-short-notice"), {"short_notice_opt_in": "yes", "next": "/my-scan/"})
    assert response["Location"] == "/my-scan/"
    referral.patient.refresh_from_db()
    assert referral.patient.short_notice_opt_in is True
    assert "We will offer you earlier appointments at short notice" in patient_client.get("/my-scan/").content.decode()
    patient_client.post(reverse("booking:patient-short-notice"), {"short_notice_opt_in": "no"})
    referral.patient.refresh_from_db()
    assert referral.patient.short_notice_opt_in is False
    bad = patient_client.post(reverse("booking:patient-short-notice"), {"short_notice_opt_in": "maybe"}, follow=True)
    assert "Select yes if we can offer you earlier appointments at short notice" in bad.content.decode()


def test_home_links_to_choose_then_to_the_appointment(patient_client, referral, slot, scanner):
    assert url("patient-choices", referral) in patient_client.get("/my-scan/").content.decode()
    _book(patient_client, referral, slot)
    assert url("patient-booking", referral) in patient_client.get("/my-scan/").content.decode()


# Two tabs: the confirm page names its hold -------------------------------------------------------


def test_holding_goes_to_a_confirm_page_that_names_the_hold(patient_client, referral, slot, scanner):
    response = patient_client.post(url("patient-hold", referral), {"slot_id": slot.pk})
    hold = Hold.objects.get(referral=referral)
    assert response["Location"] == url("patient-confirm", referral) + f"?hold={hold.pk}"
    assert f'name="hold_id" value="{hold.pk}"' in patient_client.get(response["Location"]).content.decode()


def test_a_confirm_page_left_open_in_another_tab_never_books_the_newer_hold(
    patient_client, referral, slot, another_slot, scanner
):
    # Tab A holds one time; tab B (the same session) then holds another.
    tab_a = patient_client.post(url("patient-hold", referral), {"slot_id": slot.pk})["Location"]
    first_hold = Hold.objects.get(referral=referral).pk
    tab_b = patient_client.post(url("patient-hold", referral), {"slot_id": another_slot.pk})["Location"]
    second_hold = Hold.objects.get(referral=referral).pk
    assert second_hold != first_hold

    # Confirming in tab A books nothing and says why, pointing to the time tab B holds.
    refused = patient_client.post(tab_a, {"hold_id": first_hold})
    assert refused.status_code == 303
    assert not Booking.objects.filter(referral=referral).exists()
    page = patient_client.get(refused["Location"]).content.decode()
    assert "This time is no longer held for you" in page
    assert "The next best appointments for you" in page
    assert f"?hold={second_hold}" in page
    # Reloading tab A says the same instead of showing tab B's time.
    assert patient_client.get(tab_a).status_code == 303

    # Tab B confirms the time it shows.
    assert patient_client.post(tab_b, {"hold_id": second_hold})["Location"] == url("patient-booking", referral)
    assert Booking.objects.get(referral=referral).slot_id == another_slot.pk


def test_choosing_the_same_time_again_keeps_the_one_hold_for_longer(patient_client, referral, slot, scanner):
    import time_machine

    patient_client.post(url("patient-hold", referral), {"slot_id": slot.pk})
    first = Hold.objects.get(referral=referral)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        patient_client.post(url("patient-hold", referral), {"slot_id": slot.pk})
    again = Hold.objects.get(referral=referral)
    assert again.pk == first.pk and again.expires_at > first.expires_at
    assert patient_client.post(url("patient-confirm", referral), {"hold_id": first.pk}).status_code == 302


def test_a_confirm_without_the_hold_named_books_nothing_and_keeps_what_was_typed(patient_client, referral, held):
    refused = patient_client.post(url("patient-confirm", referral), {"interpreter_language": "Welsh"})
    assert refused.status_code == 303
    assert not Booking.objects.filter(referral=referral).exists()
    referral.patient.refresh_from_db()
    assert referral.patient.interpreter_language == "Welsh"
