"""A did-not-attend rebook that nothing suits: the clerk sees which saved need blocks and relaxes it, audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from booking.models import BookingStatus
from booking.services.choices import ChoiceFilters
from booking.services.relaxing import relax_saved_need, relaxations
from slots.models import Site, Slot
from tests.clerk.conftest import NOW, make_booking
from tests.factories import SlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def missed_and_blocked(waiting, home_site, ct, at, open_slot):
    """Missed their scan; saved step-free access and a 5 km limit. The only open slot nearby has stairs,
    and the step-free site (Coventry) is 35 km away."""
    make_booking(waiting, SlotFactory(site=home_site, modality=ct, starts_at=at(days=-2), status="booked"),
                 status=BookingStatus.DID_NOT_ATTEND)
    Site.objects.filter(pk=home_site.pk).update(step_free=False)
    waiting.needs_step_free, waiting.max_travel_km = True, 5
    waiting.save()
    return waiting


def test_each_blocking_need_is_named_with_what_dropping_it_opens(missed_and_blocked, other_site, other_open_slot, open_slot):
    Site.objects.filter(pk=other_site.pk).update(step_free=True)
    referral = missed_and_blocked
    found = relaxations(referral, ChoiceFilters.saved_for(referral), slots=Slot.objects.in_pool(),
                        sites=Site.objects.public(), now=NOW)
    # Dropping the 5 km limit opens Coventry (step-free), soonest; dropping step-free opens the local slot.
    assert [(r.need, r.label, r.sites, r.earliest) for r in found] == [
        ("max_travel_km", "Travel no more than 5 km", 1, other_open_slot.starts_at),
        ("needs_step_free", "Step-free access", 1, open_slot.starts_at),
    ]


def test_the_rebook_shows_what_blocks_and_the_clerk_relaxes_it_with_the_patients_agreement(
    clerk_client, missed_and_blocked, open_slot
):
    referral = missed_and_blocked
    record = clerk_client.get(reverse("booking:clerk-patient", args=[referral.patient_id])).content.decode()
    assert "No open slot in the network suits all of this patient" in record
    assert "Step-free access: without it, 1 site has slots" in record
    relax_url = reverse("booking:clerk-relax-need", args=[referral.pk])
    assert relax_url in record

    page = clerk_client.get(relax_url, {"next": reverse("booking:clerk-book", args=[referral.pk])})
    assert page.status_code == 200
    assert "Which need has the patient agreed to relax?" in page.content.decode()

    # Without saying how they spoke and what the patient agreed, nothing changes.
    refused = clerk_client.post(relax_url, {"need": "needs_step_free"})
    assert refused.status_code == 400
    assert "Choose how you were in touch with the patient" in refused.content.decode()
    assert "Enter what the patient agreed to" in refused.content.decode()
    referral.refresh_from_db()
    assert referral.needs_step_free is True

    done = clerk_client.post(relax_url, {
        "need": "needs_step_free", "contact_method": "phone", "reason": "Can manage two steps with a stick",
        "next": reverse("booking:clerk-book", args=[referral.pk]),
    })
    assert done["Location"] == reverse("booking:clerk-book", args=[referral.pk])
    referral.refresh_from_db()
    assert (referral.needs_step_free, referral.max_travel_km) == (False, 5)
    audit = AuditEvent.objects.get(object_type="booking.Referral", detail__need="needs_step_free")
    assert audit.actor_label == "clerk" and audit.detail["reason"] == "Can manage two steps with a stick"
    assert AuditEvent.objects.filter(object_type="booking.ClerkContact", patient_id=referral.patient_id,
                                     detail__contact_method="phone").exists()
    book = clerk_client.get(done["Location"]).content.decode()
    assert f'value="{open_slot.pk}"' in book


def test_a_need_that_no_longer_blocks_cannot_be_relaxed(clerk_client, missed_and_blocked):
    referral = missed_and_blocked
    response = clerk_client.post(reverse("booking:clerk-relax-need", args=[referral.pk]),
                                 {"need": "needs_bariatric", "contact_method": "phone", "reason": "x"})
    assert response.status_code == 400
    assert "That need no longer blocks a booking" in response.content.decode()


def test_another_trusts_clerk_cannot_relax_a_patients_needs(other_trust_clerk_client, missed_and_blocked):
    url = reverse("booking:clerk-relax-need", args=[missed_and_blocked.pk])
    assert other_trust_clerk_client.get(url).status_code == 404


def test_relaxing_saved_dates_empties_them(waiting):
    waiting.unavailable_dates = ["2026-12-01", "2026-12-02"]
    waiting.save()
    relax_saved_need(waiting, "unavailable_dates", contact_method="phone", reason="Holiday cancelled")
    waiting.refresh_from_db()
    assert waiting.unavailable_dates == []
