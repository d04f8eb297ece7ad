"""A refused SRM, end to end in Chromium, with the demo's simulated RIS on a real MLLP socket.

Given/when/then: a patient at UHB books a CT time on the patient pages; the hub sends the booking to
the trust's RIS (the demo's simulated RIS, `FakeRis`, whose own diary already has that slot booked
locally, as the demo's RIS keeps one); the RIS answers AR; the patient is offered the next best time
at once and told; the clerk at that trust sees the refusal on the worklist, what the RIS said, and
the time already offered, and opens it to resolve. Every page passes axe.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from accounts.models import Role
from booking.models import Booking, BookingStatus, Notification, Offer, OfferSource, OfferStatus
from booking.views.patient.presenters import SlotButton
from slots.models import SlotStatus
from tests.browser.conftest import assert_accessible, sign_in_as_patient
from tests.factories import ExamTypeFactory, PatientFactory, ReferralFactory, SlotFactory, UserFactory
from tests.feeds.conftest import make_trust
from wmin.feeds.models import FeedProfile
from wmin.feeds.simulator.fake_ris import FakeRis, FakeRisThread
from wmin.feeds.simulator.messages import RisStyle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def uhb_with_its_ris():
    """UHB with a CT scanner, two open pool slots, and its RIS (the demo's simulator) on a socket,
    whose own staff have already booked the first slot."""
    trust = make_trust("RRK", ["RRK"], ris_host="127.0.0.1", ris_port=9)
    site = trust.sites.get(code="RRK01")
    ct = site.scanners.get(name="CT 1").modality
    exam = ExamTypeFactory(code="CHEAD", name="CT Head", modality=ct)
    day = timezone.localtime(timezone.now() + dt.timedelta(days=5)).replace(hour=10, minute=0, second=0, microsecond=0)
    taken = SlotFactory(site=site, modality=ct, starts_at=day, ris_slot_id="RRK-CT-0900")
    spare = SlotFactory(site=site, modality=ct, starts_at=day + dt.timedelta(days=1), ris_slot_id="RRK-CT-1000")
    ris = FakeRisThread(FakeRis(RisStyle("RRK"), booked_locally={"RRK-CT-0900"}.__contains__))
    FeedProfile.objects.filter(trust=trust).update(ris_port=ris.start())
    trust.refresh_from_db()
    patient = PatientFactory(date_of_birth=dt.date(1958, 3, 27), email="amira@example.org", postcode="B15 2TH", outcode="B15")
    referral = ReferralFactory(trust=trust, patient=patient, exam_type=exam)
    UserFactory(username="uhb-clerk", role=Role.CLERK, trust=trust)
    yield {"trust": trust, "site": site, "taken": taken, "spare": spare, "referral": referral}
    ris.stop()


def test_a_booking_the_ris_refuses_is_reoffered_to_the_patient_and_reaches_the_clerk(
    live_server, chromium_browser, uhb_with_its_ris
):
    world = uhb_with_its_ris
    referral, taken, spare = world["referral"], world["taken"], world["spare"]
    assert world["trust"].takes_srm  # its RIS takes SRM: a hub booking waits for the RIS's answer

    # Given the patient books the first CT time on the patient pages
    patient_tab = chromium_browser.new_context(locale="en-GB", timezone_id="Europe/London", bypass_csp=True).new_page()
    sign_in_as_patient(patient_tab, live_server.url, referral)
    patient_tab.goto(f"{live_server.url}/my-scan/scans/{referral.pk}/choose/{taken.site_id}/")
    patient_tab.get_by_role("button", name=SlotButton(taken.pk, taken.starts_at).label, exact=True).click()
    patient_tab.wait_for_url("**/confirm/?hold=*")
    assert_accessible(patient_tab)
    patient_tab.get_by_role("button", name=re.compile("^Confirm")).click()
    patient_tab.wait_for_load_state()
    assert_accessible(patient_tab)

    # When the trust's RIS answers the SRM with AR (its own staff booked that slot first)
    booking = Booking.objects.get(referral=referral, slot=taken)
    assert booking.status == BookingStatus.CONFLICT
    taken.refresh_from_db()
    assert taken.status == SlotStatus.BLOCKED and not taken.pooled

    # Then the patient is offered the next best time at once, and told why
    offer = Offer.objects.get(referral=referral, source=OfferSource.REFUSED)
    assert offer.slot_id == spare.pk and offer.status == OfferStatus.SENT
    told = Notification.objects.get(patient=referral.patient, template="booking_refused")
    assert told.personalisation["booking_reference"] == referral.booking_reference

    # and the clerk at that trust sees it on the worklist, with what the RIS said and the time offered
    clerk_tab = chromium_browser.new_context(locale="en-GB", timezone_id="Europe/London", bypass_csp=True).new_page()
    clerk_tab.goto(live_server.url + "/accounts/sign-in/")
    clerk_tab.fill("#id_username", "uhb-clerk")
    clerk_tab.fill("#id_password", PASSWORD)
    clerk_tab.get_by_role("button", name="Sign in").click()
    clerk_tab.wait_for_url(re.compile(r".*/clerk/$"))
    item = clerk_tab.locator("li[id^='item-conflict']").filter(has_text=referral.booking_reference)
    text = item.inner_text()
    assert "RIS refused a booking" in text
    assert f"{timezone.localtime(spare.starts_at):%-d %b %H:%M}" in text  # the time already offered
    assert_accessible(clerk_tab)
    item.get_by_role("link", name=re.compile("^Resolve")).click()
    assert "Resolve a conflict" in clerk_tab.get_by_role("heading", level=1).inner_text()
    assert "Slot RRK-CT-0900 is already booked" in clerk_tab.locator("main").inner_text()  # the RIS's own words
    assert_accessible(clerk_tab)
