"""Offers from sent to answered: a freed slot's cascade, acceptance through the one booking path."""

from datetime import timedelta

import pytest
from django.urls import reverse

from booking.models import Booking, Notification, Offer, OfferSource, OfferStatus, ReferralStatus
from booking.models.bookings import BookingStatus
from booking.services import offers
from booking.services.bookings import cancel_booking, confirm_booking
from booking.services.errors import InvalidTransition, SlotUnavailable
from booking.tasks import optimiser_allocate
from slots.models import Slot, SlotStatus
from tests.factories import BookingFactory
from tests.optimiser.network_builders import NOW, site_with_scanner, slot_at, waiting_referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def freed_slot(ct, frozen_clock):
    return slot_at(site_with_scanner(ct), ct, hours=30)


def cascade_of_two(ct_exam, freed_slot):
    first = waiting_referral(ct_exam, days_waited=90, patient__short_notice_opt_in=True)
    second = waiting_referral(ct_exam, days_waited=60, patient__short_notice_opt_in=True)
    return first, second


def offer_of(referral) -> Offer:
    return referral.offers.get()


def test_cancelling_a_booking_offers_its_slot_to_the_longest_waiter(ct_exam, freed_slot, django_capture_on_commit_callbacks):
    leaving = waiting_referral(ct_exam, days_waited=10, patient__short_notice_opt_in=True)
    booking = confirm_booking(leaving, freed_slot.pk, channel="clerk", now=NOW, notify=False)
    longest, _ = cascade_of_two(ct_exam, freed_slot)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_booking(booking, actor_user=None, reason="Patient unwell", contact_method="phone", now=NOW)

    offer = offer_of(longest)
    assert (offer.status, offer.source, offer.rank) == (OfferStatus.SENT, OfferSource.BACKFILL, 1)
    assert offer.expires_at == NOW + timedelta(hours=2)
    longest.refresh_from_db()
    assert longest.status == ReferralStatus.OFFERED
    message = Notification.objects.get(patient=longest.patient, template="offer_sent")
    assert message.personalisation["reply_at"] == "http://127.0.0.1:8000" + reverse("booking:patient-offer", args=[offer.pk])
    assert Offer.objects.filter(slot=freed_slot, status=OfferStatus.SENT).count() == 1


def test_a_decline_sends_the_slot_to_the_next_in_line(ct_exam, freed_slot, django_capture_on_commit_callbacks):
    first, second = cascade_of_two(ct_exam, freed_slot)
    offers.start_backfill(freed_slot.pk, now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        offers.decline_offer(offer_of(first), actor_user=None, reason="Cannot get there", now=NOW)

    first.refresh_from_db()
    assert (offer_of(first).status, first.status) == (OfferStatus.DECLINED, ReferralStatus.WAITING)
    assert offer_of(second).status == OfferStatus.SENT


def test_an_unanswered_offer_lapses_and_the_next_patient_is_asked(ct_exam, freed_slot):
    first, second = cascade_of_two(ct_exam, freed_slot)
    offers.start_backfill(freed_slot.pk, now=NOW)

    assert offers.expire_lapsed_offers(NOW + timedelta(hours=1)) == 0
    assert offers.expire_lapsed_offers(NOW + timedelta(hours=2)) == 1

    assert offer_of(first).status == OfferStatus.EXPIRED
    assert offer_of(second).status == OfferStatus.SENT
    assert offer_of(second).expires_at == NOW + timedelta(hours=4)


def test_the_cascade_stops_when_the_slot_is_too_close_to_fill(ct_exam, freed_slot):
    _, second = cascade_of_two(ct_exam, freed_slot)
    offers.start_backfill(freed_slot.pk, now=NOW)

    offers.expire_lapsed_offers(freed_slot.starts_at - timedelta(hours=3))

    assert offer_of(second).status == OfferStatus.WITHDRAWN
    second.refresh_from_db()
    assert second.status == ReferralStatus.WAITING


def test_accepting_books_once_and_closes_the_cascade(ct_exam, freed_slot):
    first, second = cascade_of_two(ct_exam, freed_slot)
    offers.start_backfill(freed_slot.pk, now=NOW)

    booking = offers.accept_offer(offer_of(first), actor_user=None, channel="offer", now=NOW)

    assert (booking.referral_id, booking.slot_id, booking.status) == (first.pk, freed_slot.pk, BookingStatus.CONFIRMED)
    assert offer_of(second).status == OfferStatus.WITHDRAWN
    with pytest.raises(InvalidTransition):
        offers.accept_offer(offer_of(first), actor_user=None, channel="offer", now=NOW)
    assert Booking.objects.filter(slot=freed_slot).count() == 1


def test_an_offer_whose_slot_was_taken_meanwhile_is_withdrawn_and_says_so(ct_exam, freed_slot):
    first, _ = cascade_of_two(ct_exam, freed_slot)
    offers.start_backfill(freed_slot.pk, now=NOW)
    confirm_booking(waiting_referral(ct_exam), freed_slot.pk, channel="clerk", now=NOW, notify=False)

    with pytest.raises(SlotUnavailable):
        offers.accept_offer(offer_of(first), actor_user=None, channel="offer", now=NOW)

    assert offer_of(first).status == OfferStatus.WITHDRAWN
    assert Booking.objects.filter(slot=freed_slot).count() == 1


def test_a_patient_booked_later_is_moved_and_their_old_slot_starts_its_own_backfill(
    ct, ct_exam, freed_slot, django_capture_on_commit_callbacks
):
    mover = waiting_referral(ct_exam, days_waited=80, patient__short_notice_opt_in=True)
    later = slot_at(freed_slot.site, ct, hours=24 * 20, status=SlotStatus.BOOKED)
    BookingFactory(referral=mover, slot=later)
    mover.status = ReferralStatus.BOOKED
    mover.save()
    next_waiter = waiting_referral(ct_exam, days_waited=40, patient__short_notice_opt_in=True)
    offers.start_backfill(freed_slot.pk, now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        moved = offers.accept_offer(offer_of(mover), actor_user=None, channel="offer", now=NOW)

    assert moved.slot_id == freed_slot.pk
    assert mover.bookings.active().count() == 1
    assert Slot.objects.get(pk=later.pk).status == SlotStatus.OPEN
    assert next_waiter.offers.get(slot=later).status == OfferStatus.SENT


def test_the_allocation_task_sends_the_offers_it_proposes(ct, ct_exam, frozen_clock):
    site = site_with_scanner(ct)
    slot_at(site, ct, hours=24 * 3)
    waiting = waiting_referral(ct_exam, days_waited=50)

    run_id = optimiser_allocate()

    offer = waiting.offers.get()
    assert (offer.run_id, offer.source, offer.status) == (run_id, OfferSource.ALLOCATION, OfferStatus.SENT)
    assert Notification.objects.filter(patient=waiting.patient, template="offer_sent").exists()


def test_an_offer_must_be_answered_before_the_appointment_not_after(ct, ct_exam, frozen_clock):
    site = site_with_scanner(ct)
    tomorrow = slot_at(site, ct, hours=30)
    waiting = waiting_referral(ct_exam, days_waited=50)
    offer = Offer.objects.create(referral=waiting, slot=tomorrow, source=OfferSource.ALLOCATION,
                                 expires_at=NOW + timedelta(hours=72))

    sent = offers.send_offer(offer, expires_at=offer.expires_at, now=NOW)

    assert sent.expires_at == tomorrow.starts_at - timedelta(hours=4)


def test_a_freed_slot_whose_backfill_task_was_lost_is_found_by_the_sweep(ct_exam, freed_slot):
    leaving = waiting_referral(ct_exam, days_waited=10)
    booking = confirm_booking(leaving, freed_slot.pk, channel="clerk", now=NOW, notify=False)
    cascade_of_two(ct_exam, freed_slot)
    cancel_booking(booking, actor_user=None, reason="Unwell", contact_method="phone", now=NOW)  # no commit: task lost

    assert offers.freed_slots_never_backfilled(NOW + timedelta(minutes=1)) == []  # its own task may still come
    assert offers.freed_slots_never_backfilled(NOW + timedelta(minutes=3)) == [freed_slot.pk]
    offers.start_backfill(freed_slot.pk, now=NOW + timedelta(minutes=3))
    assert offers.freed_slots_never_backfilled(NOW + timedelta(minutes=4)) == []


def test_a_message_whose_task_was_lost_is_swept_and_still_sent_once(ct_exam, freed_slot, settings):
    from booking.notifications import locmem
    from booking.services.notifications import due_notification_ids, queue_notification, send_notification

    settings.NOTIFICATIONS_BACKEND = "locmem"
    locmem.outbox.clear()
    from booking.services.invitations import invitation_details

    referral = waiting_referral(ct_exam)
    message = queue_notification(referral.patient, "invitation", invitation_details(referral))  # its task never ran

    assert due_notification_ids(NOW + timedelta(minutes=1)) == []
    assert due_notification_ids(NOW + timedelta(minutes=3)) == [message.pk]
    send_notification(message.pk)
    send_notification(message.pk)  # the sweep and a late task both run it
    assert len(locmem.outbox) == 1
    assert due_notification_ids(NOW + timedelta(minutes=3)) == []
