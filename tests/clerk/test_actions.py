"""Book, move, cancel, fill a freed slot and resolve a conflict on the patient's behalf: one action each."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from booking.models import (
    Booking,
    BookingStatus,
    OfferSource,
    OfferStatus,
    ReferralStatus,
    RisAnswer,
    RisDelivery,
    RisMessageKind,
)
from booking.signals import booking_confirmed, booking_rescheduled
from slots.models import SlotStatus
from tests.clerk.conftest import make_booking
from tests.factories import (
    OfferFactory,
    ReferralFactory,
    ScannerFactory,
    SiteFactory,
    SlotFactory,
    TrustFactory,
)

pytestmark = pytest.mark.django_db


class Captured:
    def __init__(self, signal):
        self.signal, self.calls = signal, []

    def __enter__(self):
        self.signal.connect(self.receive, weak=False)
        return self.calls

    def __exit__(self, *exc):
        self.signal.disconnect(self.receive)

    def receive(self, sender, **kwargs):
        self.calls.append(kwargs)


def contacts(patient_id):
    return list(AuditEvent.objects.filter(patient_id=patient_id, object_type="booking.ClerkContact"))


def test_book_in_one_action_recording_the_contact(clerk_client, clerk, waiting, open_slot):
    with Captured(booking_confirmed) as confirmed:
        response = clerk_client.post(
            reverse("booking:clerk-book", args=[waiting.pk]),
            {"slot_id": open_slot.pk, "contact_method": "phone", "reason": "Prefers mornings"},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("booking:clerk-patient", args=[waiting.patient_id])
    booking = Booking.objects.get(referral=waiting)
    assert (booking.slot_id, booking.channel, booking.created_by) == (open_slot.pk, "clerk", clerk)
    assert len(confirmed) == 1  # the HL7 outbox listens for this
    (contact,) = contacts(waiting.patient_id)
    assert contact.detail == {"contact_method": "phone", "reason": "Prefers mornings", "trust_id": waiting.trust_id}
    follow = clerk_client.get(response["Location"]).content.decode()
    assert "Booked CT Head at Queen Elizabeth Hospital" in follow and "UHB&#39;s RIS" in follow
    assert "Prefers mornings" in follow and "Phone" in follow  # the contact log


def test_book_without_a_contact_method_explains_and_changes_nothing(clerk_client, waiting, open_slot):
    response = clerk_client.post(reverse("booking:clerk-book", args=[waiting.pk]), {"slot_id": open_slot.pk})
    assert response.status_code == 200
    assert "Choose how you were in touch with the patient" in response.content.decode()
    assert not Booking.objects.exists()


def test_book_a_slot_someone_else_took_shows_the_services_message(clerk_client, waiting, open_slot, trust, exam):
    make_booking(ReferralFactory(trust=trust, exam_type=exam, status="booked"), open_slot)
    open_slot.status = SlotStatus.BOOKED
    open_slot.save()
    body = clerk_client.post(
        reverse("booking:clerk-book", args=[waiting.pk]), {"slot_id": open_slot.pk, "contact_method": "letter"}
    ).content.decode()
    assert "that appointment has just been taken by someone else" in body
    assert not Booking.objects.filter(referral=waiting).exists()


def test_book_with_htmx_redirects_the_whole_page(clerk_client, waiting, open_slot):
    response = clerk_client.post(
        reverse("booking:clerk-book", args=[waiting.pk]),
        {"slot_id": open_slot.pk, "contact_method": "in_person"},
        HTTP_HX_REQUEST="true",
    )
    assert response["HX-Redirect"] == reverse("booking:clerk-patient", args=[waiting.patient_id])


def test_book_errors_come_back_as_the_form_partial_with_htmx(clerk_client, waiting, open_slot):
    response = clerk_client.post(
        reverse("booking:clerk-book", args=[waiting.pk]), {"slot_id": open_slot.pk}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body and body.strip().startswith("<form")
    assert "Choose how you were in touch" in body


def test_move_cross_site_to_another_trusts_pool_slot(clerk_client, waiting, open_slot, other_open_slot, other_trust_clerk_client):
    booking = make_booking(waiting, open_slot)
    waiting.status = ReferralStatus.BOOKED
    waiting.save()
    with Captured(booking_rescheduled) as rescheduled:
        response = clerk_client.post(
            reverse("booking:clerk-move", args=[booking.pk]),
            {"slot_id": other_open_slot.pk, "contact_method": "phone", "reason": "Works in Coventry"},
        )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    moved = Booking.objects.get(referral=waiting, status=BookingStatus.CONFIRMED)
    assert moved.slot == other_open_slot and rescheduled[0]["booking"] == moved
    body = clerk_client.get(response["Location"]).content.decode()
    assert "Moved CT Head from Queen Elizabeth Hospital" in body and "UHCW&#39;s RIS" in body
    # Coventry's clerks see the booking at their site.
    theirs = other_trust_clerk_client.get(reverse("booking:clerk-home")).content.decode()
    assert f"-{moved.pk}" in theirs  # as a RIS task or a booking at their site, whichever the outbox made
    assert "Amira Khan" in theirs and "943 476 5919" in theirs


def test_move_needs_the_patients_reason(clerk_client, waiting, open_slot, other_open_slot):
    booking = make_booking(waiting, open_slot)
    body = clerk_client.post(
        reverse("booking:clerk-move", args=[booking.pk]), {"slot_id": other_open_slot.pk, "contact_method": "phone"}
    ).content.decode()
    assert "Enter why the patient wants to move" in body
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CONFIRMED


def test_cancel_with_contact_and_reason_in_the_history(clerk_client, waiting, open_slot):
    booking = make_booking(waiting, open_slot)
    waiting.status = ReferralStatus.BOOKED
    waiting.save()
    response = clerk_client.post(
        reverse("booking:clerk-cancel", args=[booking.pk]),
        {"contact_method": "letter", "reason": "Moved away", "cancelled_by": "patient"},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    change = booking.status_changes.last()
    assert (change.reason, change.contact_method) == ("Moved away", "letter")
    assert booking.cancelled_by == "patient"
    waiting.refresh_from_db()
    assert waiting.status == ReferralStatus.WAITING


def test_cancel_needs_a_reason(clerk_client, waiting, open_slot):
    booking = make_booking(waiting, open_slot)
    body = clerk_client.post(reverse("booking:clerk-cancel", args=[booking.pk]), {"contact_method": "phone"}).content.decode()
    assert "Enter why the appointment is being cancelled" in body


def test_a_cancelled_booking_cannot_be_cancelled_or_moved_again(clerk_client, waiting, open_slot):
    booking = make_booking(waiting, open_slot, status=BookingStatus.CANCELLED)
    assert clerk_client.get(reverse("booking:clerk-cancel", args=[booking.pk])).status_code == 404
    assert clerk_client.get(reverse("booking:clerk-move", args=[booking.pk])).status_code == 404


def test_fill_a_freed_slot_from_the_candidates(clerk_client, waiting, freed_slot):
    page = clerk_client.get(reverse("booking:clerk-freed-slot", args=[freed_slot.pk])).content.decode()
    assert "Amira Khan" in page and f'value="{waiting.pk}"' in page
    response = clerk_client.post(
        reverse("booking:clerk-freed-slot", args=[freed_slot.pk]),
        {"referral_id": waiting.pk, "contact_method": "phone", "reason": "Happy to come on Wednesday"},
    )
    assert response.status_code == 302
    assert Booking.objects.get(referral=waiting, status=BookingStatus.CONFIRMED).slot == freed_slot
    assert contacts(waiting.patient_id)[0].summary.startswith("Filled a freed slot")


def test_fill_moves_a_booked_short_notice_patient_earlier(clerk_client, waiting, freed_slot, home_site, ct, at):
    later = SlotFactory(site=home_site, modality=ct, starts_at=at(days=20), status="booked")
    make_booking(waiting, later)
    waiting.status = ReferralStatus.BOOKED
    waiting.save()
    waiting.patient.short_notice_opt_in = True
    waiting.patient.save()
    response = clerk_client.post(
        reverse("booking:clerk-freed-slot", args=[freed_slot.pk]), {"referral_id": waiting.pk, "contact_method": "phone"}
    )
    assert response.status_code == 302
    assert Booking.objects.get(referral=waiting, status=BookingStatus.CONFIRMED).slot == freed_slot


def test_fill_with_another_trusts_patient_is_not_found(clerk_client, freed_slot, other_patient_referral):
    response = clerk_client.post(
        reverse("booking:clerk-freed-slot", args=[freed_slot.pk]),
        {"referral_id": other_patient_referral.pk, "contact_method": "phone"},
    )
    assert response.status_code == 404
    assert not Booking.objects.filter(referral=other_patient_referral).exists()


def test_resolve_a_conflict_by_rebooking_the_next_best_slot(clerk_client, waiting, other_open_slot, open_slot):
    conflict = make_booking(waiting, other_open_slot, status=BookingStatus.CONFLICT)
    waiting.status = ReferralStatus.BOOKED
    waiting.save()
    page = clerk_client.get(reverse("booking:clerk-conflict", args=[conflict.pk])).content.decode()
    assert "Next best slots" in page and f'value="{open_slot.pk}"' in page
    assert f'value="{other_open_slot.pk}"' not in page
    response = clerk_client.post(
        reverse("booking:clerk-conflict", args=[conflict.pk]), {"slot_id": open_slot.pk, "contact_method": "phone"}
    )
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == BookingStatus.CANCELLED
    assert Booking.objects.get(referral=waiting, status=BookingStatus.CONFIRMED).slot == open_slot


def test_resolve_a_conflict_by_cancelling_with_a_reason(clerk_client, waiting, other_open_slot):
    conflict = make_booking(waiting, other_open_slot, status=BookingStatus.CONFLICT)
    response = clerk_client.post(
        reverse("booking:clerk-cancel", args=[conflict.pk]),
        {"contact_method": "phone", "reason": "No longer needed", "cancelled_by": "hospital"},
    )
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == BookingStatus.CANCELLED


def test_a_resolved_conflict_cannot_be_rebooked_twice(clerk_client, waiting, open_slot, other_open_slot):
    booking = make_booking(waiting, other_open_slot)
    body = clerk_client.post(
        reverse("booking:clerk-conflict", args=[booking.pk]), {"slot_id": open_slot.pk, "contact_method": "phone"}
    ).content.decode()
    assert "no longer in conflict" in body
    assert Booking.objects.get(referral=waiting).slot == other_open_slot


def test_the_conflict_pages_queries_are_the_same_for_few_slots_as_for_many(
    clerk_client, waiting, other_open_slot, open_slot, ct, at
):
    """Structural: what the RIS said, the slot already offered and each shortlisted slot's site and
    trust come with the page's fixed queries, never one a row."""
    conflict = make_booking(waiting, other_open_slot, status=BookingStatus.CONFLICT)
    RisDelivery.objects.create(trust=other_open_slot.trust, booking=conflict, kind=RisMessageKind.BOOK,
                               message_ref="CONFLICT01", answer=RisAnswer.REFUSED, said="Slot already booked locally",
                               created_at=at())
    OfferFactory(referral=waiting, slot=open_slot, source=OfferSource.REFUSED, status=OfferStatus.SENT)

    def another_trusts_site(slots: int) -> None:
        site = SiteFactory(trust=TrustFactory())
        ScannerFactory(site=site, modality=ct)
        for hour in range(slots):
            SlotFactory(site=site, modality=ct, starts_at=at(days=4, hours=hour))

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            body = clerk_client.get(reverse("booking:clerk-conflict", args=[conflict.pk])).content.decode()
        assert "Slot already booked locally" in body and "waiting for their answer" in body
        return body.count('name="slot_id"'), len(queries)

    another_trusts_site(1)
    few_rows, few_queries = measure()
    another_trusts_site(2)
    another_trusts_site(2)
    many_rows, many_queries = measure()
    assert (few_rows, many_rows) == (2, 6)
    assert many_queries == few_queries, f"{few_queries} queries for {few_rows} slots, {many_queries} for {many_rows}"


def test_rebook_a_dna_at_another_trust(clerk_client, waiting, home_site, ct, at, other_open_slot):
    make_booking(waiting, SlotFactory(site=home_site, modality=ct, starts_at=at(days=-2), status="booked"),
                 status=BookingStatus.DID_NOT_ATTEND)
    response = clerk_client.post(
        reverse("booking:clerk-book", args=[waiting.pk]),
        {"slot_id": other_open_slot.pk, "contact_method": "phone", "reason": "Missed the bus; Coventry is easier"},
    )
    assert response.status_code == 302
    assert Booking.objects.get(referral=waiting, status=BookingStatus.CONFIRMED).slot == other_open_slot


@pytest.mark.parametrize(
    ("status", "accepts_srm", "says"),
    [
        (None, True, "UHB's RIS is being sent the booking."),
        (None, False, "UHB's RIS cannot take it from the hub, so UHB's clerks have a task to book it in."),
        ("clerk_task", True, "UHB's RIS cannot take it from the hub, so UHB's clerks have a task to book it in."),
        ("waiting", True, "UHB's RIS is being sent the booking."),
        ("accepted", True, "UHB's RIS has accepted the booking."),
        ("refused", True, "UHB's RIS refused the booking: it is on your worklist as a conflict."),
        ("unreachable", True, "The hub could not reach UHB's RIS: its clerks need to book it in."),
    ],
)
def test_the_clerk_is_told_what_the_slots_trusts_ris_heard(waiting, open_slot, trust, status, accepts_srm, says):
    from booking.models import RisDelivery
    from booking.worklist.ris import ris_outcome

    trust.accepts_srm = accepts_srm
    trust.save()
    booking = make_booking(waiting, open_slot)
    if status:
        RisDelivery.objects.create(trust=trust, booking=booking, kind="book", message_ref="X1", answer=status,
                                   created_at=booking.created_at)
    assert ris_outcome(Booking.objects.get(pk=booking.pk)) == says
