"""A small two-trust network with known waits, slots and bookings, for checking the dashboards' sums."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from booking.models import BookingStatus, ReferralStatus
from slots.models import ExamType, Site, Trust
from tests.factories import (
    BookingFactory,
    ExamTypeFactory,
    ICBFactory,
    ModalityFactory,
    PatientFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    TrustFactory,
    synthetic_nhs_number,
)

# These patients take numbers from their own spaced-out range, so each identifier is unmistakable.
_numbers = itertools.count(700_000, 3)


def new_patient(**kwargs: object):
    """A patient whose every identifier is unmistakable, so a leak onto a page cannot hide."""
    n = next(_numbers)
    kwargs.setdefault("given_name", f"Givenname{n}")
    kwargs.setdefault("family_name", f"Familyname{n}")
    kwargs.setdefault("email", f"patient{n}@example.com")
    return PatientFactory(nhs_number=synthetic_nhs_number(n), **kwargs)


def new_referral(**kwargs: object):
    kwargs.setdefault("patient", new_patient())
    return ReferralFactory(**kwargs)


# Days each of trust A's ten MRI patients has waited at FROZEN_NOW.
WAITS_DAYS = [5, 10, 20, 30, 40, 42, 50, 60, 91, 100]


@dataclass
class SmallNetwork:
    trust_a: Trust
    trust_b: Trust
    site_a: Site
    site_b: Site
    exam: ExamType
    patients: list


def small_network(now: dt.datetime) -> SmallNetwork:
    mri = ModalityFactory(code="MR")
    exam = ExamTypeFactory(code="MBRAI", name="MRI Brain", modality=mri)
    trust_a = TrustFactory(
        ods_code="TA1", short_name="Alpha", icb=ICBFactory(code="QA1", name="NHS Alpha ICB")
    )
    trust_b = TrustFactory(ods_code="TB1", short_name="Beta", icb=ICBFactory(code="QB1", name="NHS Beta ICB"))
    site_a = SiteFactory(
        code="SA1", name="Alpha General", trust=trust_a, latitude=52.45323, longitude=-1.942905
    )
    site_b = SiteFactory(
        code="SB1", name="Beta Infirmary", trust=trust_b, latitude=52.421211, longitude=-1.438403
    )
    for site in (site_a, site_b):
        ScannerFactory(site=site, modality=mri, name=f"MRI {site.code}")
    patients = []
    for days in WAITS_DAYS:
        referral = new_referral(trust=trust_a, exam_type=exam, clock_start=now - dt.timedelta(days=days))
        patients.append(referral.patient)
    # Not on the list: scanned, and removed.
    new_referral(
        trust=trust_a,
        exam_type=exam,
        clock_start=now - dt.timedelta(days=300),
        status=ReferralStatus.COMPLETED,
    )
    new_referral(
        trust=trust_a, exam_type=exam, clock_start=now - dt.timedelta(days=300), status=ReferralStatus.REMOVED
    )

    def slot(site: Site, days_from_now: float, **kwargs: object):
        return SlotFactory(
            site=site, modality=mri, starts_at=now + dt.timedelta(days=days_from_now), **kwargs
        )

    # Released in the window at Alpha: 4 open or booked (one booked below), 1 blocked; 1 far outside the window.
    future_booked = slot(site_a, 3, status="booked")
    slot(site_a, 4)
    slot(site_a, 5)
    slot(site_a, 6, status="blocked")
    slot(site_a, 60)
    # Trust A's 5-day waiter is booked at Alpha: their wait counts at the site too.
    BookingFactory(referral=_referral_of(patients[0]), slot=future_booked, status=BookingStatus.CONFIRMED)

    # In the past 4 weeks at Alpha: a cancelled slot refilled, a cancelled slot lost, 2 attended, 1 DNA.
    refilled = slot(site_a, -3, status="booked")
    BookingFactory(referral=_past_referral(trust_a, exam, now), slot=refilled, status=BookingStatus.CANCELLED)
    BookingFactory(referral=_past_referral(trust_a, exam, now), slot=refilled, status=BookingStatus.ATTENDED)
    lost = slot(site_a, -2, status="open")
    BookingFactory(referral=_past_referral(trust_a, exam, now), slot=lost, status=BookingStatus.CANCELLED)
    BookingFactory(
        referral=_past_referral(trust_a, exam, now),
        slot=slot(site_a, -4, status="booked"),
        status=BookingStatus.ATTENDED,
    )
    BookingFactory(
        referral=_past_referral(trust_a, exam, now),
        slot=slot(site_a, -5, status="booked"),
        status=BookingStatus.DID_NOT_ATTEND,
    )

    # One of trust A's patients moved to Beta (another trust), the other waiting at home.
    moved = new_referral(
        trust=trust_a,
        exam_type=exam,
        clock_start=now - dt.timedelta(days=14),
        status=ReferralStatus.BOOKED,
        patient=new_patient(postcode="B15 2TT", outcode="B15"),
    )
    BookingFactory(referral=moved, slot=slot(site_b, 2, status="booked"), status=BookingStatus.CONFIRMED)
    return SmallNetwork(trust_a, trust_b, site_a, site_b, exam, [*patients, moved.patient])


def _referral_of(patient):
    referral = patient.referrals.get()
    referral.status = ReferralStatus.BOOKED
    referral.save()
    return referral


def _past_referral(trust, exam, now):
    return new_referral(
        trust=trust, exam_type=exam, clock_start=now - dt.timedelta(days=60), status=ReferralStatus.COMPLETED
    )
