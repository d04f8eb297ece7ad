"""Every change of a referral's status leaves a history row, written by booking.services.referrals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from booking.models import Offer, OfferSource, Referral, ReferralStatus, ReferralStatusChange
from booking.services.bookings import cancel_booking, confirm_booking
from booking.services.offers import expire_lapsed_offers, send_offer
from booking.services.referrals import change_referral_status, change_referral_statuses
from tests.factories import ReferralFactory, SlotFactory

pytestmark = pytest.mark.django_db


def changes(referral):
    return list(referral.status_changes.order_by("pk").values_list("from_status", "to_status", "booking_id"))


def test_book_cancel_offer_and_lapse_each_leave_a_row(referral, site, now, patient_user):
    slot, offered = (SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=now + dt.timedelta(days=d))
                     for d in (5, 9))
    booking = confirm_booking(referral, slot.pk, channel="clerk", actor_user=patient_user, now=now)
    cancel_booking(booking, actor_user=patient_user, reason="Unwell", now=now)
    offer = Offer.objects.create(referral=referral, slot=offered, source=OfferSource.BACKFILL, rank=1)
    send_offer(offer, expires_at=now + dt.timedelta(hours=2), now=now)
    expire_lapsed_offers(now + dt.timedelta(days=1))
    assert changes(referral) == [
        ("waiting", "booked", booking.pk),
        ("booked", "waiting", booking.pk),
        ("waiting", "offered", None),
        ("offered", "waiting", None),
    ]
    booked, cancelled = referral.status_changes.order_by("pk")[:2]
    assert booked.changed_by == patient_user and booked.reason == "Booked (clerk)"
    assert cancelled.reason == "Booking cancelled: Unwell"
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.WAITING


def test_a_change_only_from_the_statuses_it_starts_from(referral, now):
    assert not change_referral_status(referral, ReferralStatus.WAITING, now=now, reason="no-op")
    assert not change_referral_status(
        referral, ReferralStatus.OFFERED, now=now, reason="x", from_statuses=[ReferralStatus.BOOKED]
    )
    assert change_referral_status(referral, ReferralStatus.REMOVED, now=now, reason="Left", actor_label="RRK RIS")
    assert referral.status == ReferralStatus.REMOVED
    assert changes(referral) == [("waiting", "removed", None)]
    assert referral.status_changes.get().actor_label == "RRK RIS"


def test_the_bulk_change_writes_one_row_per_referral_it_moves(referral, now):
    others = [ReferralFactory(trust=referral.trust, status=ReferralStatus.OFFERED) for _ in range(3)]
    moved = change_referral_statuses(
        Referral.objects.filter(pk__in=[referral.pk, *(o.pk for o in others)]),
        ReferralStatus.WAITING,
        now=now,
        reason="No offer still open",
        from_statuses=[ReferralStatus.OFFERED],
    )
    assert sorted(moved) == sorted(o.pk for o in others)
    assert ReferralStatusChange.objects.filter(referral_id__in=moved, from_status="offered", to_status="waiting").count() == 3
    assert not referral.status_changes.exists()


def test_a_change_rolled_back_leaves_no_row(referral, now):
    with pytest.raises(RuntimeError), transaction.atomic():
        change_referral_status(referral, ReferralStatus.REMOVED, now=now, reason="Left")
        raise RuntimeError
    assert not ReferralStatusChange.objects.exists()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.WAITING
