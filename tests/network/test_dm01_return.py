"""The DM01 return against a hand-counted fixture: two trusts in two ICBs, DM01 and non-DM01 tests,
waits in every kind of band, a booked referral, a restarted DM01 clock, referrals no longer waiting,
and tests done inside and outside the month. Census: Monday 23 November 2026 (the frozen clock)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from booking.models import BookingStatus, CancelledBy, ReferralStatus
from booking.rules.dm01 import Dm01Test
from booking.services.bookings import cancel_booking
from tests.conftest import FROZEN_NOW
from tests.factories import (
    BookingFactory,
    ExamTypeFactory,
    ICBFactory,
    ModalityFactory,
    SiteFactory,
    SlotFactory,
    TrustFactory,
)
from tests.network.factories import new_referral
from wmin.network.dm01_return import (
    CSV_HEADER,
    ICB_LEVEL,
    TRUST,
    Period,
    PeriodError,
    completed_weeks_band,
    dm01_return,
    period_for,
)

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 23))
OCTOBER = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def ago(days: int) -> dt.datetime:
    return FROZEN_NOW - dt.timedelta(days=days)


def on(day: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def fixture(db, frozen_clock):
    """The hand-counted network (each line says which column the referral lands in)."""
    uhb = TrustFactory(ods_code="RRK", name="University Hospitals Birmingham", icb=ICBFactory(code="QHL", name="Birmingham and Solihull ICB"))
    uhcw = TrustFactory(ods_code="RKB", name="University Hospitals Coventry", icb=ICBFactory(code="QWU", name="Coventry and Warwickshire ICB"))
    ct = ExamTypeFactory(code="CTHEAD", modality=ModalityFactory(code="CT"), dm01_test="ct")
    mri = ExamTypeFactory(code="MRKNEE", modality=ModalityFactory(code="MR"), dm01_test="mri")
    xray = ExamTypeFactory(code="XCHEST", modality=ModalityFactory(code="XR"), dm01_test="")
    obstetric = ExamTypeFactory(code="USOBS", modality=ModalityFactory(code="US"), dm01_test="")
    site = SiteFactory(trust=uhb)

    def waiting(trust, exam, days, **kwargs):
        return new_referral(trust=trust, exam_type=exam, clock_start=ago(days), **kwargs)

    def attended(trust, exam, when):
        referral = waiting(trust, exam, 70, status=ReferralStatus.COMPLETED)
        slot = SlotFactory(site=site, modality=exam.modality, starts_at=when, status="booked")
        BookingFactory(referral=referral, slot=slot, status=BookingStatus.ATTENDED)

    # UHB CT, waiting: 0 <01 x2, 01 <02, 02 <03, 06 <07, 07 <08, 13+ x2
    for days in (2, 5, 9, 20, 43, 50, 91, 100):
        waiting(uhb, ct, days)
    # UHB CT, booked and still on the list: 04 <05
    booked = waiting(uhb, ct, 30, status=ReferralStatus.BOOKED)
    BookingFactory(referral=booked, slot=SlotFactory(site=site, modality=ct.modality, starts_at=on(30)))
    # UHB CT, referred 60 days ago, cancelled by the patient 10 days ago: DM01 01 <02, 6+ since referral
    restarted = waiting(uhb, ct, 60, status=ReferralStatus.BOOKED)
    booking = BookingFactory(referral=restarted, slot=SlotFactory(site=site, modality=ct.modality, starts_at=on(28)))
    cancel_booking(booking, actor_user=None, reason="Away", now=ago(10), notify=False, cancelled_by=CancelledBy.PATIENT)
    # UHB MRI: 0 <01 x3, 01 <02 x2, 06 <07
    for days in (0, 3, 6, 7, 13, 42):
        waiting(uhb, mri, days)
    # Not DM01 tests: never in the return
    for days in (50, 50, 50):
        waiting(uhb, xray, days)
    waiting(uhb, obstetric, 80)
    # Off the list: removed
    waiting(uhb, ct, 80, status=ReferralStatus.REMOVED)
    # UHCW CT: 02 <03, 06 <07, 13+
    for days in (14, 45, 120):
        waiting(uhcw, ct, days)
    # Tests done: UHB CT six in November and one on 30 October; UHB X-ray two (not DM01); UHCW MRI one
    for day in (2, 5, 9, 10, 16, 20):
        attended(uhb, ct, on(day))
    attended(uhb, ct, on(30, 10))
    attended(uhb, xray, on(3))
    attended(uhb, xray, on(4))
    attended(uhcw, mri, on(12))


def nonzero(rows):
    return {
        (r.code, r.test): (r.bands, r.waiting, r.six_weeks_or_more, r.activity, r.since_referral_six_weeks_or_more)
        for r in rows
        if r.waiting or r.activity
    }


def bands(**counts: int) -> list[int]:
    """Band counts by name: w0 = 0 <01 weeks ... w13 = 13+ weeks."""
    return [counts.get(f"w{week}", 0) for week in range(14)]


HAND_COUNTED = {
    # (organisation, test): (bands, total waiting, DM01 6+, tests done, 6+ since referral)
    ("RKB", Dm01Test.MRI): (bands(), 0, 0, 1, 0),
    ("RKB", Dm01Test.CT): (bands(w2=1, w6=1, w13=1), 3, 2, 0, 2),
    ("RRK", Dm01Test.MRI): (bands(w0=3, w1=2, w6=1), 6, 1, 0, 1),
    ("RRK", Dm01Test.CT): (bands(w0=2, w1=2, w2=1, w4=1, w6=1, w7=1, w13=2), 10, 4, 6, 5),
}


def test_the_trust_return_matches_the_hand_count(fixture):
    rows = dm01_return(TRUST, NOVEMBER)
    assert len(rows) == 2 * 5  # every trust and every DM01 test, zero rows included
    assert nonzero(rows) == HAND_COUNTED


def test_the_commissioner_return_matches_the_hand_count(fixture):
    by_icb = {("QWU" if code == "RKB" else "QHL", test): figures for (code, test), figures in HAND_COUNTED.items()}
    assert nonzero(dm01_return(ICB_LEVEL, NOVEMBER)) == by_icb


def test_an_earlier_month_reads_the_list_and_the_dm01_clock_as_they_stood_then(fixture):
    rows = nonzero(dm01_return(TRUST, OCTOBER))
    # Census 31 October, 23 days before the frozen 23 November. UHB CT then: referred 30, 43, 50, 91 and
    # 100 days back (7, 20, 27, 68, 77 days: 01, 02, 03, 09, 11 weeks); the restarted referral had not
    # restarted yet (37 days: 05 <06); the removed one was still waiting (57 days: 08); the six scanned
    # in November were still waiting (47 days: 06 <07). The one scanned on 30 October is activity.
    assert rows[("RRK", Dm01Test.CT)] == (bands(w1=1, w2=1, w3=1, w5=1, w6=6, w8=1, w9=1, w11=1), 13, 9, 1, 9)
    # UHB MRI: only the one referred 42 days back (19 days: 02 <03); UHCW CT: 22 and 97 days; UHCW MRI:
    # the one scanned on 12 November (47 days).
    assert rows[("RRK", Dm01Test.MRI)] == (bands(w2=1), 1, 0, 0, 0)
    assert rows[("RKB", Dm01Test.CT)] == (bands(w3=1, w13=1), 2, 1, 0, 1)
    assert rows[("RKB", Dm01Test.MRI)] == (bands(w6=1), 1, 1, 0, 1)
    assert len(rows) == 4


def test_the_csv_is_the_national_layout_suppressed(fixture, manager_client):
    response = manager_client.get(reverse("network:dm01"), {"level": "trust", "month": "2026-11", "format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="dm01-return-by-trust-2026-11.csv"'
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == CSV_HEADER
    assert table[0][6:20] == [
        "00 <01 weeks", "01 <02 weeks", "02 <03 weeks", "03 <04 weeks", "04 <05 weeks", "05 <06 weeks", "06 <07 weeks",
        "07 <08 weeks", "08 <09 weeks", "09 <10 weeks", "10 <11 weeks", "11 <12 weeks", "12 <13 weeks", "13+ weeks",
    ]
    lead = ["November 2026", "2026-11-23", "Provider (trust)"]
    uhcw, uhb = ["RKB", "University Hospitals Coventry"], ["RRK", "University Hospitals Birmingham"]
    zeros = ["0"] * 14
    # Counts of 1 to 4 are "*", others rounded to the nearest 5 (disclosure.suppress_count).
    assert table[1:] == [
        [*lead, *uhcw, "Magnetic Resonance Imaging", *zeros, "0", "0", "*", "0"],
        [*lead, *uhcw, "Computed Tomography", "0", "0", "*", "0", "0", "0", "*", "0", "0", "0", "0", "0", "0", "*", "*", "*", "0", "*"],
        [*lead, *uhcw, "Non-obstetric Ultrasound", *zeros, "0", "0", "0", "0"],
        [*lead, *uhcw, "DEXA Scan", *zeros, "0", "0", "0", "0"],
        [*lead, *uhcw, "Barium Enema", *zeros, "0", "0", "0", "0"],
        [*lead, *uhb, "Magnetic Resonance Imaging", "*", "*", "0", "0", "0", "0", "*", "0", "0", "0", "0", "0", "0", "0", "5", "*", "0", "*"],
        [*lead, *uhb, "Computed Tomography", "*", "*", "*", "0", "*", "0", "*", "*", "0", "0", "0", "0", "0", "*", "10", "*", "5", "5"],
        [*lead, *uhb, "Non-obstetric Ultrasound", *zeros, "0", "0", "0", "0"],
        [*lead, *uhb, "DEXA Scan", *zeros, "0", "0", "0", "0"],
        [*lead, *uhb, "Barium Enema", *zeros, "0", "0", "0", "0"],
    ]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.object_id == "dm01-return-by-trust-2026-11.csv"


def test_the_page_shows_both_clocks_labelled_and_links_both_downloads(fixture, manager_client):
    body = manager_client.get(reverse("network:dm01"), {"month": "2026-11"}).content.decode()
    assert "DM01: waiting 6+ weeks (DM01 clock)" in body and "Not DM01: waiting 6+ weeks since referral" in body
    assert "level=trust&amp;month=2026-11&amp;format=csv" in body and "level=icb&amp;month=2026-11&amp;format=csv" in body
    overview = manager_client.get(reverse("network:overview")).content.decode()
    assert "DM01</strong> (DM01 tests, by the DM01 clock)" in overview and "Wait since referral</strong>" in overview
    assert reverse("network:dm01") in overview


def test_a_month_not_begun_or_malformed_is_refused_in_plain_english(db, manager_client, frozen_clock):
    for month, message in (("2027-01", "That month has not begun"), ("Nov", "Enter the month as YYYY-MM")):
        response = manager_client.get(reverse("network:dm01"), {"month": month})
        assert response.status_code == 400 and message in response.content.decode()


def test_periods_and_bands():
    today = dt.date(2026, 11, 23)
    assert period_for(None, today) == NOVEMBER
    assert period_for("2026-10", today) == OCTOBER
    with pytest.raises(PeriodError):
        period_for("2026-13", today)
    assert [completed_weeks_band(d) for d in (0, 6, 7, 41, 42, 90, 91, 400)] == [0, 0, 1, 5, 6, 12, 13, 13]
