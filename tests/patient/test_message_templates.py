"""Every message the hub sends has its template, and each fills in from what its own service queues."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from booking.models import Notification, Offer, OfferSource
from booking.notifications.messages import MESSAGES, TEMPLATE_DIR, render_message
from booking.patient_sign_in import send_sign_in_code
from booking.services import attendance, invitations, reminders
from booking.services.bookings import cancel_booking, confirm_booking, reschedule_booking
from booking.services.offers import send_offer
from booking.services.ris import refuse_booking
from tests.factories import (
    BookingFactory,
    FeedProfileFactory,
    ModalityFactory,
    ReferralFactory,
    ScannerFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db
SMS_MOST = 3 * 153  # three text-message fragments
NAMES_NO_REFERENCE = {"sign_in_code"}  # a code on a lock screen must not come with the rest of the key


def test_each_message_has_a_template_with_a_subject_an_email_and_a_text():
    folder = Path(settings.BASE_DIR, "templates", TEMPLATE_DIR)
    assert {p.stem for p in folder.glob("*.jinja")} == MESSAGES
    for name in MESSAGES:
        source = (folder / f"{name}.jinja").read_text()
        for block in ("subject", "email", "sms"):
            assert f"{{% block {block} %}}" in source, (name, block)


@pytest.fixture
def every_message(referral, site, now, monkeypatch):
    """Each message, queued by the service that sends it in the hub."""
    patient = referral.patient
    invitations.invite_to_choose(referral, now=now - dt.timedelta(days=8))
    invitations.send_invitation_reminders(now)
    first, second, offered = (SlotFactory(site=site, modality=referral.exam_type.modality,
                                          starts_at=now + dt.timedelta(days=days)) for days in (10, 12, 3))
    booking = confirm_booking(referral, first.pk, channel="clerk", now=now)
    reminders.send_appointment_reminders(now + dt.timedelta(days=3, hours=1))
    moved = reschedule_booking(booking, second.pk, actor_user=None, now=now, channel="clerk")
    offer = Offer.objects.create(referral=referral, slot=offered, source=OfferSource.BACKFILL, rank=1)
    send_offer(offer, expires_at=now + dt.timedelta(hours=2), now=now)
    cancel_booking(moved, actor_user=None, reason="Unwell", now=now)
    likely_missed = BookingFactory(referral__patient=patient, referral__trust=referral.trust,
                                   slot__site=site, slot__starts_at=now + dt.timedelta(days=3))
    monkeypatch.setattr(attendance, "dna_probability", lambda *args: 0.9)
    attendance.ask_likely_missed_to_confirm(now)
    assert likely_missed.pk
    # The trust's RIS refuses two bookings: the first patient is offered the next best slot (the one
    # the reschedule freed); for the second, a scan nothing else in the pool can do, the message says
    # the booking team will call.
    FeedProfileFactory(trust=referral.trust, ris_host="127.0.0.1", ris_port=9)  # the hub sends this RIS SRM
    ScannerFactory(site=site, modality=referral.exam_type.modality)
    same_exam = ReferralFactory(patient=patient, trust=referral.trust, exam_type=referral.exam_type)
    other_exam = ReferralFactory(patient=patient, trust=referral.trust, exam_type__modality=ModalityFactory(code="MR"))
    for refused in (same_exam, other_exam):
        taken = SlotFactory(site=site, modality=refused.exam_type.modality, starts_at=now + dt.timedelta(days=20))
        pending = confirm_booking(refused, taken.pk, channel="clerk", now=now)
        assert pending.status == "pending_ris"
        refuse_booking(pending.pk, "Slot already booked", actor_label="RIS", now=now)
    refusals = Notification.objects.filter(template="booking_refused").order_by("pk")
    assert [n.personalisation["offered"] for n in refusals] == [True, False]
    send_sign_in_code(referral.booking_reference, patient.date_of_birth)
    return list(Notification.objects.order_by("pk"))


def test_every_message_fills_in_for_email_and_text_from_what_its_service_queued(every_message):
    assert {n.template for n in every_message} == MESSAGES
    for notification in every_message:
        email = render_message(notification.template, "email", notification.personalisation)
        text = render_message(notification.template, "sms", notification.personalisation)
        assert email.subject and "\n" not in email.subject, notification.template
        if notification.template in NAMES_NO_REFERENCE:
            assert "booking_reference" not in notification.personalisation
        else:
            assert notification.personalisation["booking_reference"] in email.body, notification.template
            assert notification.personalisation["booking_reference"] in text.body, notification.template
        assert text.body.startswith("NHS"), notification.template
        assert len(text.body) <= SMS_MOST, (notification.template, len(text.body))
        assert "None" not in email.body and "{{" not in email.body, notification.template


def test_a_message_missing_a_value_is_refused_not_sent_with_a_blank():
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render_message("booking_confirmed", "email", {"name": "Ann"})
    with pytest.raises(ValueError, match="No message template"):
        render_message("no_such_message", "sms", {})
