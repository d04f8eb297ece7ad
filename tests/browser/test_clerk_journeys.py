"""A booking clerk's journeys in a real Chromium, each page checked with axe.

Given/when/then: fill a freed slot from the candidates; rebook a patient who did not attend at
another trust's site (and that trust's clerk sees it); resolve a conflict with a RIS; and find and
book a patient with JavaScript switched off.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from booking.models import (
    Booking,
    BookingStatus,
    BookingStatusChange,
    ReferralStatus,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)
from tests.browser.conftest import assert_accessible
from tests.factories import (
    BookingFactory,
    ExamTypeFactory,
    ModalityFactory,
    PatientFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery-staple"
_append_only = importlib.import_module("audit.migrations.0002_append_only_trigger")


@pytest.fixture(autouse=True)
def _audit_trail_emptied_before_flush(transactional_db):
    """SQLite's flush DELETEs every row, which the append-only audit trigger refuses (PostgreSQL
    TRUNCATEs, which row triggers do not see). Empty the trail with the trigger lifted, then put
    the trigger back, so the test database is flushed and stays append-only for the next test."""
    yield
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for statement in _append_only.SQLITE_DOWN:
            cursor.execute(statement)
        cursor.execute("DELETE FROM audit_auditevent")
        for statement in _append_only.SQLITE_UP:
            cursor.execute(statement)


@pytest.fixture
def world(trust, other_trust):
    """UHB (Birmingham) and UHCW (Coventry), a CT scanner at each, Amira waiting at UHB."""
    ct = ModalityFactory(code="CT")
    exam = ExamTypeFactory(code="CTHEAD", name="CT Head", modality=ct)
    qeh = SiteFactory(code="UHB-QEH", name="Queen Elizabeth Hospital", trust=trust, latitude=52.4531, longitude=-1.9389)
    uhc = SiteFactory(code="UHCW-UH", name="University Hospital Coventry", trust=other_trust, postcode="CV2 2DX",
                      outcode="CV2", latitude=52.4213, longitude=-1.4380)
    ScannerFactory(site=qeh, modality=ct, name="CT 1")
    ScannerFactory(site=uhc, modality=ct, name="CT A")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    patient = PatientFactory(given_name="Amira", family_name="Khan", nhs_number="9434765919", postcode="B15 2TT",
                             outcode="B15", date_of_birth=dt.date(1958, 3, 27))
    referral = ReferralFactory(trust=trust, exam_type=exam, patient=patient, booking_reference="WMAMIRA001",
                               clock_start=now - dt.timedelta(weeks=4))
    UserFactory(username="uhb-clerk", role=Role.CLERK, trust=trust)
    UserFactory(username="uhcw-clerk", role=Role.CLERK, trust=other_trust)
    return {"now": now, "ct": ct, "exam": exam, "qeh": qeh, "uhc": uhc, "referral": referral, "patient": patient}


def booked(referral, slot, status=BookingStatus.CONFIRMED):
    booking = BookingFactory(referral=referral, slot=slot, status=status)
    BookingStatusChange.objects.create(booking=booking, from_status="", to_status=status, reason="Booked in the RIS")
    return booking


def sign_in(page, live_server, username):
    page.goto(live_server.url + "/accounts/sign-in/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/clerk/$"))


def heading(page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def test_fill_a_freed_slot_from_the_candidates(live_server, world, browser_page):
    # Given a slot at the QEH that a cancellation gave back, starting in two days
    freed = SlotFactory(site=world["qeh"], modality=world["ct"], starts_at=world["now"] + dt.timedelta(days=2))
    gone = ReferralFactory(trust=world["referral"].trust, exam_type=world["exam"])
    booked(gone, freed, status=BookingStatus.CANCELLED)
    page = browser_page
    # When the clerk opens their worklist
    sign_in(page, live_server, "uhb-clerk")
    assert heading(page) == "Worklist"
    item = page.locator(f"#item-freed_slot-{freed.pk}")
    assert "A patient cancelled" in item.inner_text() and "Amira Khan" in item.inner_text()
    assert_accessible(page)
    # and fills the slot with the top candidate, having phoned her
    item.get_by_role("link", name=re.compile("Fill this slot")).click()
    assert heading(page) == "Fill the slot at Queen Elizabeth Hospital"
    assert_accessible(page)
    page.get_by_label("Phone").check()
    page.get_by_label("The patient's reason (optional)").fill("Can come on short notice")
    page.get_by_role("button", name="Book Amira Khan").click()
    # Then she is booked into the freed slot and the page says whose RIS is told
    page.wait_for_url(re.compile(rf".*/clerk/patients/{world['patient'].pk}/$"))
    assert "UHB's RIS" in page.inner_text("main")
    assert "Can come on short notice" in page.inner_text("main")
    assert_accessible(page)
    assert Booking.objects.get(referral=world["referral"], status=BookingStatus.CONFIRMED).slot_id == freed.pk


def test_rebook_a_dna_cross_site_and_both_trusts_see_it(live_server, world, browser_page, other_trust):
    # Given Amira missed her QEH appointment and is back on the waiting list, and Coventry, whose RIS
    # takes no booking messages, has a slot
    other_trust.accepts_srm = False
    other_trust.save()
    missed = SlotFactory(site=world["qeh"], modality=world["ct"], status="booked",
                         starts_at=world["now"] - dt.timedelta(days=1))
    booked(world["referral"], missed, status=BookingStatus.DID_NOT_ATTEND)
    coventry = SlotFactory(site=world["uhc"], modality=world["ct"], starts_at=world["now"] + dt.timedelta(days=3))
    page = browser_page
    sign_in(page, live_server, "uhb-clerk")
    # When the clerk shows only DNAs (in place, with htmx) and opens Amira's record
    page.get_by_role("link", name=re.compile(r"^Did not attend \(1\)")).click()
    page.wait_for_url(re.compile(r".*kind=dna"))
    page.wait_for_function("document.querySelector('#worklist-status').innerText.includes('Did not attend')")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("^Rebook")).click()
    assert heading(page) == "Amira Khan"
    assert "University Hospital Coventry" in page.inner_text("main")
    assert_accessible(page)
    # and books her into Coventry's slot by phone
    page.get_by_label("Phone").check()
    page.get_by_label("The patient's reason (optional)").fill("Coventry is sooner")
    page.locator(f"button[name=slot_id][value='{coventry.pk}']").click()
    # Then the booking is cross-site and the page says Coventry's clerks book it into their RIS
    page.locator(".nhsuk-notification-banner").wait_for()
    main = page.inner_text("main")
    assert "University Hospital Coventry (UHCW, another trust)" in main
    assert "UHCW's clerks have a task to book it in" in main
    assert_accessible(page)
    booking = Booking.objects.get(referral=world["referral"], status=BookingStatus.CONFIRMED)
    assert booking.slot_id == coventry.pk
    # And Coventry's clerk sees the booking at their site, with only what they need to book and scan her
    page.context.clear_cookies()
    sign_in(page, live_server, "uhcw-clerk")
    item = page.locator(f"#item-ris_task-{booking.pk}, #item-incoming-{booking.pk}")
    text = item.inner_text()
    assert "Amira Khan" in text and "943 476 5919" in text and "CT Head" in text and coventry.ris_slot_id in text
    assert world["patient"].email not in page.content()
    assert_accessible(page)


def test_resolve_a_conflict_by_rebooking_the_next_best_slot(live_server, world, browser_page):
    # Given Coventry's RIS gave Amira's slot to someone else
    taken = SlotFactory(site=world["uhc"], modality=world["ct"], status="booked",
                        starts_at=world["now"] + dt.timedelta(days=2))
    conflict = booked(world["referral"], taken, status=BookingStatus.CONFLICT)
    world["referral"].status = ReferralStatus.BOOKED
    world["referral"].save()
    RisDelivery.objects.create(trust=taken.trust, booking=conflict, kind=RisMessageKind.BOOK, message_ref="R1",
                               answer=RisAnswer.REFUSED, said="Slot already booked", created_at=world["now"])
    nearer = SlotFactory(site=world["qeh"], modality=world["ct"], starts_at=world["now"] + dt.timedelta(days=4))
    page = browser_page
    sign_in(page, live_server, "uhb-clerk")
    item = page.locator(f"#item-conflict-{world['referral'].pk}")
    assert "Slot already booked" in item.inner_text()
    # When the clerk resolves it
    item.get_by_role("link", name=re.compile("^Resolve")).click()
    assert heading(page) == "Resolve a conflict with UHCW's RIS"
    assert_accessible(page)
    page.locator(f"#conflict-{conflict.pk}").get_by_label("Phone").check()
    page.locator(f"button[name=slot_id][value='{nearer.pk}']").click()
    # Then Amira is rebooked in one step and the conflict is gone
    page.wait_for_url(re.compile(rf".*/clerk/patients/{world['patient'].pk}/$"))
    assert "Rebooked CT Head after a RIS conflict" in page.inner_text("main")
    assert_accessible(page)
    conflict.refresh_from_db()
    assert conflict.status == BookingStatus.CANCELLED
    assert Booking.objects.get(referral=world["referral"], status=BookingStatus.CONFIRMED).slot_id == nearer.pk


def test_find_and_book_without_javascript(live_server, world, chromium_browser):
    # Given a browser with JavaScript off
    context = chromium_browser.new_context(locale="en-GB", timezone_id="Europe/London", java_script_enabled=False,
                                           bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    slot = SlotFactory(site=world["qeh"], modality=world["ct"], starts_at=world["now"] + dt.timedelta(days=3))
    try:
        sign_in(page, live_server, "uhb-clerk")
        # When the clerk mistypes the NHS number, then corrects it
        page.get_by_role("link", name="Find a patient").click()
        page.get_by_label("NHS number").fill("943 476 5918")
        page.get_by_role("button", name="Find patient").click()
        assert "That is not a real NHS number" in page.inner_text("main")
        page.get_by_label("NHS number").fill("943 476 5919")
        page.get_by_role("button", name="Find patient").click()
        page.get_by_role("link", name="Amira Khan").click()
        # and books by letter, forgetting the contact method the first time
        page.locator(f"button[name=slot_id][value='{slot.pk}']").click()
        assert "Choose how you were in touch with the patient" in page.inner_text("main")
        page.get_by_label("Letter").check()
        page.locator(f"button[name=slot_id][value='{slot.pk}']").click()
        # Then the booking is made with plain form posts
        assert "Booked CT Head at Queen Elizabeth Hospital" in page.inner_text("main")
        assert Booking.objects.get(referral=world["referral"]).slot_id == slot.pk
    finally:
        context.close()


def test_cancel_says_who_asked_and_the_patients_own_cancellation_restarts_the_dm01_clock(live_server, world, browser_page):
    # Given Amira booked for a DM01 test (CT) at the QEH in a week
    world["exam"].dm01_test = "ct"
    world["exam"].save()
    slot = SlotFactory(site=world["qeh"], modality=world["ct"], starts_at=world["now"] + dt.timedelta(days=7), status="booked")
    booking = booked(world["referral"], slot)
    page = browser_page
    sign_in(page, live_server, "uhb-clerk")
    page.goto(live_server.url + f"/clerk/bookings/{booking.pk}/cancel/")
    form = page.locator(f"#cancel-{booking.pk}")
    # When the clerk cancels without saying who asked
    form.get_by_label("Phone").check()
    form.get_by_label("Why is the appointment being cancelled?").fill("Going on holiday")
    form.get_by_role("button", name="Cancel the appointment").click()
    # Then they are asked, in plain English, and nothing is cancelled
    summary = page.locator(".nhsuk-error-summary")
    summary.wait_for()
    assert "Select who asked to cancel: the patient or the hospital" in summary.inner_text()
    assert_accessible(page)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    # When they say the patient asked
    form = page.locator(f"#cancel-{booking.pk}")
    form.get_by_label("The patient").check()
    form.get_by_label("Phone").check()
    form.get_by_role("button", name="Cancel the appointment").click()
    page.wait_for_url(re.compile(r".*/clerk/patients/.*"))
    # Then the booking is cancelled by the patient and the DM01 clock restarted; the referral date stays
    booking.refresh_from_db()
    referral = world["referral"]
    referral.refresh_from_db()
    assert (booking.status, booking.cancelled_by) == (BookingStatus.CANCELLED, "patient")
    assert referral.dm01_clock_start > referral.clock_start
