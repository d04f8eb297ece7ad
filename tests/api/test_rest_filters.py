"""Query parameters: filters that narrow, pages that page, and a clear 400 naming each bad parameter."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.conftest import FROZEN_NOW
from tests.factories import ExamTypeFactory, ModalityFactory, ReferralFactory, SlotFactory

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_availability_near_a_postcode_with_distances(api, qe_slot, coventry_slot):
    near = api("clerk").get("/api/availability/", {"postcode": "B15 2TT", "max_km": 10}).json()
    assert [row["id"] for row in near["results"]] == [qe_slot.pk]
    assert near["results"][0]["distance_km"] == pytest.approx(2.2, abs=0.3)
    wider = api("clerk").get("/api/availability/", {"postcode": "B15 2TT", "max_km": 50}).json()
    assert [row["id"] for row in wider["results"]] == [coventry_slot.pk, qe_slot.pk]  # soonest first
    assert wider["results"][0]["distance_km"] == pytest.approx(33, abs=2)


def test_availability_by_modality_exam_dates_and_site(api, qe_site, qe_slot, coventry_slot, mri_knee):
    ct_slot = SlotFactory(site=qe_site, modality=ModalityFactory(code="CT"))
    short = SlotFactory(
        site=qe_site,
        modality=qe_slot.modality,
        starts_at=qe_slot.starts_at + dt.timedelta(hours=1),
        ends_at=qe_slot.starts_at + dt.timedelta(hours=1, minutes=15),
    )
    clerk = api("clerk")
    assert set(ids(clerk.get("/api/availability/", {"modality": "ct"}))) == {ct_slot.pk}
    assert set(ids(clerk.get("/api/availability/", {"modality": "MR"}))) == {
        qe_slot.pk,
        coventry_slot.pk,
        short.pk,
    }
    # A 30-minute knee MRI does not fit a 15-minute slot.
    assert set(ids(clerk.get("/api/availability/", {"exam": "MKNEE"}))) == {qe_slot.pk, coventry_slot.pk}
    week_after_next = {"from_date": "2026-11-28", "to_date": "2026-12-05"}
    assert set(ids(clerk.get("/api/availability/", {"modality": "MR", **week_after_next}))) == {
        qe_slot.pk,
        short.pk,
    }
    assert set(ids(clerk.get("/api/availability/", {"site": "RKB01"}))) == {coventry_slot.pk}


def test_booked_held_past_and_unpooled_slots_are_not_available(api, qe_site, mri, qe_slot):
    SlotFactory(site=qe_site, modality=mri, status="booked")
    SlotFactory(site=qe_site, modality=mri, status="held")
    SlotFactory(site=qe_site, modality=mri, pooled=False)
    SlotFactory(
        site=qe_site,
        modality=mri,
        starts_at=FROZEN_NOW - dt.timedelta(hours=2),
        ends_at=FROZEN_NOW - dt.timedelta(hours=1),
    )
    assert ids(api("patient").get("/api/availability/")) == [qe_slot.pk]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"modality": "XX"}, {"modality"}),
        ({"exam": "NOPE"}, {"exam"}),
        ({"postcode": "not a postcode"}, {"postcode"}),
        ({"postcode": "ZZ99 9ZZ"}, {"postcode"}),
        ({"max_km": "5"}, {"max_km"}),
        ({"postcode": "B15 2TT", "max_km": "-1"}, {"max_km"}),
        ({"postcode": "B15 2TT", "max_km": "nan"}, {"max_km"}),
        ({"from_date": "2026-13-01"}, {"from_date"}),
        ({"from_date": "2026-12-10", "to_date": "2026-12-01"}, {"to_date"}),
        ({"from_date": "2026-12-01", "to_date": "2027-12-01"}, {"to_date"}),
        ({"page": "0"}, {"page"}),
        ({"page": "two"}, {"page"}),
        ({"page_size": "1000"}, {"page_size"}),
    ],
)
def test_bad_availability_parameters_are_400_naming_each(api, mri_knee, params, errors):
    response = api("clerk").get("/api/availability/", params)
    assert response.status_code == 400
    assert set(response.json()) == errors
    assert all(isinstance(message, str) for messages in response.json().values() for message in messages)


def test_an_exam_of_another_modality_is_explained(api, mri_knee):
    ModalityFactory(code="CT")
    response = api("clerk").get("/api/availability/", {"modality": "CT", "exam": "MKNEE"})
    assert response.json() == {"exam": ["MKNEE is a MR exam, not CT."]}


def test_referral_filters(api, trust, referral, mri_knee):
    ct_exam = ExamTypeFactory(code="CHEAD", modality=ModalityFactory(code="CT"))
    urgent = ReferralFactory(trust=trust, exam_type=ct_exam, priority="urgent")
    clerk = api("clerk")
    assert ids(clerk.get("/api/referrals/", {"priority": "urgent"})) == [urgent.pk]
    assert ids(clerk.get("/api/referrals/", {"modality": "mr"})) == [referral.pk]
    assert ids(clerk.get("/api/referrals/", {"exam": "chead"})) == [urgent.pk]
    assert ids(clerk.get("/api/referrals/", {"nhs_number": referral.patient.nhs_number})) == [referral.pk]
    assert ids(clerk.get("/api/referrals/", {"booking_reference": "wmapi0001"})) == [referral.pk]
    assert ids(clerk.get("/api/referrals/", {"status": "booked"})) == []
    bad = clerk.get("/api/referrals/", {"priority": "whenever", "nhs_number": "123"})
    assert bad.status_code == 400 and set(bad.json()) == {"priority", "nhs_number"}


def test_pages(api, trust, mri_knee):
    referrals = [
        ReferralFactory(trust=trust, exam_type=mri_knee, clock_start=FROZEN_NOW - dt.timedelta(days=90 - n))
        for n in range(5)
    ]
    clerk = api("clerk")
    first = clerk.get("/api/referrals/", {"page_size": 2}).json()
    assert first["count"] == 5
    assert [row["id"] for row in first["results"]] == [r.pk for r in referrals[:2]]  # longest wait first
    assert first["previous"] is None and "page=2" in first["next"]
    last = clerk.get("/api/referrals/", {"page_size": 2, "page": 3}).json()
    assert [row["id"] for row in last["results"]] == [referrals[4].pk] and last["next"] is None
    assert clerk.get("/api/referrals/", {"page_size": 2, "page": 4}).status_code == 404


def test_site_filters(api, qe_site, coventry_site):
    client = api("anonymous")
    codes = lambda params: [row["code"] for row in client.get("/api/sites/", params).json()["results"]]  # noqa: E731
    assert codes({"trust": "rkb"}) == ["RKB01"]
    assert codes({"modality": "MR"}) == ["RKB01", "RRK15"]
    assert codes({"kind": "cdc"}) == []
    assert client.get("/api/sites/", {"kind": "clinic"}).status_code == 400
    site = client.get("/api/sites/RRK15/").json()
    assert site["modalities"] == ["MR"] and site["scanners"] == [
        {"name": "MRI 1", "modality": "MR", "bariatric": False}
    ]
    assert site["accessibility"]["step_free"] is True and site["latitude"] == pytest.approx(52.450146)
    assert client.get("/api/sites/NOPE/").status_code == 404
