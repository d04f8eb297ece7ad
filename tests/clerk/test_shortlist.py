"""The clerk's booking shortlist: the patient's own ranking, flattened to slots, within the clerk's scope."""

from __future__ import annotations

import pytest

from accounts.models import Role
from booking.services.choices import ChoiceFilters, choices_for
from booking.worklist.shortlist import shortlist_for
from slots.models import Site, Slot
from tests.factories import ModalityFactory, UserFactory
from tests.optimiser.network_builders import NOW, SHREWSBURY, site_with_scanner, slot_at, waiting_referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return UserFactory(role=Role.CLERK)


def test_offers_only_open_pool_slots_of_the_exam_modality_after_the_notice(clerk, ct, exam):
    site = site_with_scanner(ct)
    mri = ModalityFactory(code="MR")
    good = [slot_at(site, ct, hours=72), slot_at(site, ct, hours=120)]
    slot_at(site, ct, hours=96, pooled=False)
    slot_at(site, ct, hours=100, status="booked")
    slot_at(site, mri, hours=80)
    slot_at(site, ct, hours=6)  # inside the 24-hour minimum notice
    referral = waiting_referral(exam)

    rows = shortlist_for(clerk, referral, now=NOW).rows

    assert [r.slot_id for r in rows] == [s.pk for s in good]
    assert rows[0].reasons[0].startswith("Nearest CT")


def test_respects_the_saved_unavailable_dates_and_travel_limit(clerk, ct, exam):
    near = site_with_scanner(ct)
    far = site_with_scanner(ct, SHREWSBURY)
    monday, tuesday = slot_at(near, ct, hours=72), slot_at(near, ct, hours=96)
    slot_at(far, ct, hours=30)
    referral = waiting_referral(exam, max_travel_km=20, unavailable_dates=[monday.starts_at.date().isoformat()])

    rows = shortlist_for(clerk, referral, now=NOW).rows

    assert [r.slot_id for r in rows] == [tuesday.pk]


def test_ranks_slots_as_the_patient_sees_them_two_a_site(clerk, ct, exam):
    for lat_lon in ((52.45, -1.94), (52.41, -1.78), SHREWSBURY):
        site = site_with_scanner(ct, lat_lon)
        for hours in (30, 54, 78):
            slot_at(site, ct, hours=hours)
    referral = waiting_referral(exam)

    rows = shortlist_for(clerk, referral, now=NOW, limit=5).rows

    patient_view = choices_for(
        referral, slots=Slot.objects.in_pool(), sites=Site.objects.public(), filters=ChoiceFilters.saved_for(referral), now=NOW, per_site=2
    )
    expected = [slot.slot_id for choice in patient_view.ranked for slot in choice.slots][:5]
    assert [r.slot_id for r in rows] == expected
    assert len(rows) == 5


def test_leaves_out_the_slot_being_moved_from(clerk, ct, exam):
    site = site_with_scanner(ct)
    current, later = slot_at(site, ct, hours=30), slot_at(site, ct, hours=54)
    referral = waiting_referral(exam)

    rows = shortlist_for(clerk, referral, now=NOW, exclude_slot_ids=(current.pk,)).rows

    assert [r.slot_id for r in rows] == [later.pk]


def test_a_role_that_sees_no_pool_gets_an_explained_empty_shortlist(ct, exam):
    slot_at(site_with_scanner(ct), ct, hours=30)
    manager = UserFactory(role=Role.MANAGER, trust=None)

    shortlist = shortlist_for(manager, waiting_referral(exam), now=NOW)

    assert shortlist.rows == ()
    assert "No open slot" in shortlist.note
