"""The one booking path: holds, confirmations, cancellations, reschedules and their side effects."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from audit.models import AuditEvent
from booking.models import (
    Booking,
    BookingChannel,
    BookingStatus,
    Hold,
    Notification,
    NotificationStatus,
    ReferralStatus,
)
from booking.services.bookings import (
    can_transition,
    cancel_booking,
    confirm_booking,
    mark_conflict,
    reschedule_booking,
    transition,
)
from booking.services.errors import AlreadyBooked, HoldExpired, InvalidTransition, SlotUnavailable
from booking.services.holds import hold_slot, release_expired_holds
from booking.signals import booking_cancelled, booking_confirmed, booking_rescheduled, slot_freed
from slots.models import Slot, SlotStatus
from tests.factories import ModalityFactory, SlotFactory

pytestmark = pytest.mark.django_db


def _book(referral, slot, now, **kwargs):
    hold_slot(referral, slot.pk, now=now)
    return confirm_booking(referral, slot.pk, channel=BookingChannel.PATIENT, now=now, **kwargs)


def _refresh(*objects):
    for obj in objects:
        obj.refresh_from_db()


class Captured:
    """Records a signal's calls and whether each came inside the service's own transaction
    (deeper than the test's, which wraps every test)."""

    def __init__(self, signal):
        self.signal = signal
        self.calls: list[dict] = []
        self.depth = 0

    def __call__(self, sender, signal=None, **kwargs):
        inside = len(connection.atomic_blocks) > self.depth
        self.calls.append({"sender": sender, "in_transaction": inside, **kwargs})

    def __enter__(self):
        self.depth = len(connection.atomic_blocks)
        self.signal.connect(self, weak=False)
        return self

    def __exit__(self, *exc):
        self.signal.disconnect(self)


# Holds --------------------------------------------------------------------------------------


def test_hold_keeps_the_slot_for_hold_minutes_and_marks_it_held(referral, slot, now, settings):
    settings.HOLD_MINUTES = 7
    hold = hold_slot(referral, slot.pk, now=now)
    slot.refresh_from_db()
    assert hold.expires_at == now + dt.timedelta(minutes=7)
    assert slot.status == SlotStatus.HELD
    assert AuditEvent.objects.filter(object_type="booking.Hold", patient_id=referral.patient_id).exists()


def test_a_new_hold_replaces_the_patients_previous_one(referral, slot, another_slot, now):
    hold_slot(referral, slot.pk, now=now)
    hold_slot(referral, another_slot.pk, now=now)
    _refresh(slot, another_slot)
    assert list(Hold.objects.filter(referral=referral).values_list("slot_id", flat=True)) == [another_slot.pk]
    assert slot.status == SlotStatus.OPEN
    assert another_slot.status == SlotStatus.HELD


def test_a_slot_held_by_someone_else_cannot_be_held_or_booked(referral, other_referral, slot, now):
    hold_slot(other_referral, slot.pk, now=now)
    with pytest.raises(SlotUnavailable) as held:
        hold_slot(referral, slot.pk, now=now)
    assert "someone else" in held.value.message
    with pytest.raises(SlotUnavailable):
        confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, now=now)


def test_someone_elses_lapsed_hold_does_not_block(referral, other_referral, slot, now):
    hold_slot(other_referral, slot.pk, now=now)
    later = now + dt.timedelta(minutes=11)
    hold = hold_slot(referral, slot.pk, now=later)
    assert hold.referral_id == referral.pk


def test_booked_past_or_wrong_modality_slots_cannot_be_held(referral, site, now):
    booked = SlotFactory(site=site, modality=referral.exam_type.modality, status=SlotStatus.BOOKED)
    past = SlotFactory(site=site, modality=referral.exam_type.modality, starts_at=now - dt.timedelta(hours=1))
    mri = SlotFactory(site=site, modality=ModalityFactory(code="MR"))
    for slot in (booked, past, mri):
        with pytest.raises(SlotUnavailable) as error:
            hold_slot(referral, slot.pk, now=now)
        assert error.value.message  # always something a person can read
    with pytest.raises(SlotUnavailable, match="could not find"):
        hold_slot(referral, 987654321, now=now)


def test_release_expired_holds_returns_lapsed_slots_to_the_pool(referral, other_referral, slot, another_slot, now):
    hold_slot(referral, slot.pk, now=now)
    hold_slot(other_referral, another_slot.pk, now=now + dt.timedelta(minutes=5))
    assert release_expired_holds(now + dt.timedelta(minutes=11)) == 1
    _refresh(slot, another_slot)
    assert slot.status == SlotStatus.OPEN
    assert another_slot.status == SlotStatus.HELD
    assert release_expired_holds(now + dt.timedelta(minutes=11)) == 0


# Confirming ---------------------------------------------------------------------------------


def test_confirm_books_the_slot_and_records_everything(referral, slot, now, patient_user):
    with Captured(booking_confirmed) as confirmed:
        booking = _book(referral, slot, now, actor_user=patient_user)
    _refresh(slot, referral)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.created_by == patient_user
    assert slot.status == SlotStatus.BOOKED
    assert referral.status == ReferralStatus.BOOKED
    assert not Hold.objects.filter(slot=slot).exists()
    assert list(booking.status_changes.values_list("from_status", "to_status")) == [("", "confirmed")]
    assert AuditEvent.objects.filter(object_type="booking.Booking", object_id=str(booking.pk), action="create").exists()
    notification = Notification.objects.get(patient=referral.patient)
    assert notification.template == "booking_confirmed"
    assert notification.status == NotificationStatus.QUEUED
    assert notification.personalisation["booking_reference"] == referral.booking_reference
    assert notification.personalisation["site"] == slot.site.name
    assert [(c["sender"], c["booking"], c["in_transaction"]) for c in confirmed.calls] == [(Booking, booking, True)]


def test_confirming_twice_books_once(referral, other_referral, slot, now):
    _book(referral, slot, now)
    with pytest.raises(AlreadyBooked):
        confirm_booking(referral, slot.pk, channel=BookingChannel.PATIENT, now=now)
    with pytest.raises(SlotUnavailable) as taken:
        confirm_booking(other_referral, slot.pk, channel=BookingChannel.CLERK, now=now)
    assert "just been taken" in taken.value.message
    assert Booking.objects.filter(slot=slot).count() == 1


def test_an_expired_hold_cannot_be_confirmed(referral, slot, now):
    hold_slot(referral, slot.pk, now=now)
    with pytest.raises(HoldExpired) as expired:
        confirm_booking(referral, slot.pk, channel=BookingChannel.PATIENT, now=now + dt.timedelta(minutes=11))
    assert "time ran out" in expired.value.message
    assert not Booking.objects.exists()


def test_patients_must_hold_first_but_clerks_book_open_slots_directly(referral, slot, now, clerk):
    with pytest.raises(HoldExpired):
        confirm_booking(referral, slot.pk, channel=BookingChannel.PATIENT, now=now)
    booking = confirm_booking(referral, slot.pk, channel=BookingChannel.CLERK, actor_user=clerk, now=now)
    assert booking.channel == BookingChannel.CLERK


def test_a_failing_receiver_rolls_the_booking_back(referral, slot, now):
    def outbox_down(sender, **kwargs):
        raise RuntimeError("outbox unavailable")

    booking_confirmed.connect(outbox_down, weak=False)
    try:
        with pytest.raises(RuntimeError):
            _book(referral, slot, now)
    finally:
        booking_confirmed.disconnect(outbox_down)
    _refresh(slot, referral)
    assert not Booking.objects.exists()
    assert referral.status == ReferralStatus.WAITING
    assert slot.status == SlotStatus.HELD  # still the patient's hold, nothing booked


# Cancelling ---------------------------------------------------------------------------------


def test_cancel_frees_the_slot_and_signals(referral, slot, now, patient_user):
    booking = _book(referral, slot, now)
    with Captured(booking_cancelled) as cancelled, Captured(slot_freed) as freed:
        cancel_booking(booking, actor_user=patient_user, reason="Can't make it", contact_method="online", now=now)
    _refresh(booking, slot, referral)
    assert booking.status == BookingStatus.CANCELLED
    assert slot.status == SlotStatus.OPEN
    assert referral.status == ReferralStatus.WAITING
    change = booking.status_changes.last()
    assert (change.from_status, change.to_status, change.reason, change.changed_by) == (
        "confirmed", "cancelled", "Can't make it", patient_user,
    )
    assert cancelled.calls[0]["booking"].pk == booking.pk and cancelled.calls[0]["in_transaction"]
    assert freed.calls == [{"sender": Slot, "slot_id": slot.pk, "in_transaction": True}]
    assert Notification.objects.filter(template="booking_cancelled").count() == 1


def test_a_cancelled_booking_cannot_be_cancelled_again(referral, slot, now):
    booking = _book(referral, slot, now)
    cancel_booking(booking, actor_user=None, reason="first", now=now)
    with pytest.raises(InvalidTransition):
        cancel_booking(booking, actor_user=None, reason="second", now=now)


def test_the_slot_is_bookable_again_after_cancellation(referral, other_referral, slot, now):
    cancel_booking(_book(referral, slot, now), actor_user=None, reason="", now=now)
    assert confirm_booking(other_referral, slot.pk, channel=BookingChannel.CLERK, now=now).slot_id == slot.pk


# Rescheduling -------------------------------------------------------------------------------


def test_reschedule_moves_the_booking_in_one_step(referral, slot, another_slot, now):
    booking = _book(referral, slot, now)
    hold_slot(referral, another_slot.pk, now=now)
    with Captured(booking_rescheduled) as rescheduled, Captured(slot_freed) as freed:
        new = reschedule_booking(booking, another_slot.pk, actor_user=None, now=now, channel=BookingChannel.PATIENT)
    _refresh(booking, slot, another_slot, referral)
    assert booking.status == BookingStatus.CANCELLED
    assert new.status == BookingStatus.CONFIRMED and new.slot_id == another_slot.pk
    assert (slot.status, another_slot.status, referral.status) == (SlotStatus.OPEN, SlotStatus.BOOKED, ReferralStatus.BOOKED)
    assert rescheduled.calls[0]["previous"].pk == booking.pk
    assert [c["slot_id"] for c in freed.calls] == [slot.pk]
    templates = list(Notification.objects.order_by("pk").values_list("template", flat=True))
    assert templates == ["booking_confirmed", "booking_rescheduled"]


def test_a_failed_reschedule_leaves_the_original_booking(referral, other_referral, slot, another_slot, now):
    booking = _book(referral, slot, now)
    confirm_booking(other_referral, another_slot.pk, channel=BookingChannel.CLERK, now=now)
    with pytest.raises(SlotUnavailable):
        reschedule_booking(booking, another_slot.pk, actor_user=None, now=now, channel=BookingChannel.CLERK)
    _refresh(booking, slot, referral)
    assert booking.status == BookingStatus.CONFIRMED
    assert slot.status == SlotStatus.BOOKED
    assert referral.status == ReferralStatus.BOOKED
    assert booking.status_changes.count() == 1


def test_rescheduling_to_the_same_slot_is_refused(referral, slot, now):
    booking = _book(referral, slot, now)
    with pytest.raises(InvalidTransition):
        reschedule_booking(booking, slot.pk, actor_user=None, now=now, channel=BookingChannel.PATIENT)


# Conflicts and the state machine ------------------------------------------------------------


def test_mark_conflict_flags_the_booking_with_a_history_row(referral, slot, now):
    booking = _book(referral, slot, now)
    mark_conflict(booking, "RIS rejected SRM: slot booked locally")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFLICT
    change = booking.status_changes.last()
    assert (change.to_status, change.actor_label) == ("conflict", "trust RIS")
    assert AuditEvent.objects.filter(object_id=str(booking.pk), summary__contains="conflict").exists()


@pytest.mark.parametrize(
    ("from_status", "to_status", "allowed"),
    [
        ("", "confirmed", True),
        ("confirmed", "cancelled", True),
        ("confirmed", "attended", True),
        ("conflict", "confirmed", True),
        ("cancelled", "confirmed", False),
        ("attended", "cancelled", False),
        ("dna", "confirmed", False),
        ("", "cancelled", False),
    ],
)
def test_allowed_transitions(from_status, to_status, allowed):
    assert can_transition(from_status, to_status) is allowed


def test_transition_refuses_what_the_table_does_not_allow(referral, slot, now):
    booking = _book(referral, slot, now)
    transition(booking, BookingStatus.ATTENDED, actor_label="RIS")
    with pytest.raises(InvalidTransition) as error:
        transition(booking, BookingStatus.CONFIRMED)
    assert error.value.message.startswith("A booking that is attended cannot be")
