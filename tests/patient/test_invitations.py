"""Invitations to choose: sent when a referral arrives, reminded once, letters for those we cannot message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from booking.models import Invitation, InvitationChannel, Notification, Referral
from booking.services.bookings import confirm_booking
from booking.services.invitations import invite_to_choose, send_invitation_reminders
from booking.tasks import notify_invitation_reminders
from booking.worklist import ItemKind, build_worklist
from tests.factories import (
    ExamTypeFactory,
    ModalityFactory,
    PatientFactory,
    ReferralFactory,
    SlotFactory,
    UserFactory,
)
from tests.feeds.conftest import make_trust
from tests.feeds.helpers import Feed, apply
from wmin.feeds.simulator.messages import RisStyle, SimPatient

pytestmark = pytest.mark.django_db


@pytest.fixture
def rrk(db):
    trust = make_trust("RRK", ["RRK"])
    ExamTypeFactory(code="CHEAD", name="CT Head", modality=ModalityFactory(code="CT"))
    return trust


def test_an_hl7_order_invites_the_patient_with_a_link_and_their_reference(rrk, outbox, django_capture_on_commit_callbacks):
    person = SimPatient("9434765919", "Jones", "Rhian", dt.date(1971, 5, 2), email="rhian@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert apply(Feed(RisStyle("RRK")).orm("NW", "ORD1", person)).code == "AA"
    referral = Referral.objects.get(placer_order_number="ORD1")
    invitation = Invitation.objects.get(referral=referral)
    assert invitation.channel == InvitationChannel.EMAIL
    (message,) = outbox
    assert (message.template, message.channel, message.recipient) == ("invitation", "email", "rhian@example.com")
    assert message.subject == "Choose where and when to have your CT Head"
    assert "Dear Rhian," in message.body and "RRK NHS Trust has referred you" in message.body
    assert referral.booking_reference in message.body
    assert "/my-scan/link/" in message.personalisation["choose_link"]
    assert message.personalisation["choose_link"] in message.body
    assert AuditEvent.objects.filter(object_type="booking.Invitation", patient_id=referral.patient_id).exists()


def test_the_same_order_again_invites_once(rrk, outbox, django_capture_on_commit_callbacks):
    person = SimPatient("9434765919", "Jones", "Rhian", dt.date(1971, 5, 2))
    feed = Feed(RisStyle("RRK"))
    with django_capture_on_commit_callbacks(execute=True):
        apply(feed.orm("NW", "ORD1", person))
        apply(feed.orm("NW", "ORD1", person))  # an engine resending after a restart
    assert Invitation.objects.count() == 1
    assert [m.channel for m in outbox] == ["sms"]  # no email address: a text message to the mobile


def test_a_cancelled_order_for_an_unknown_referral_invites_nobody(rrk, outbox, django_capture_on_commit_callbacks):
    person = SimPatient("9434765919", "Jones", "Rhian", dt.date(1971, 5, 2))
    with django_capture_on_commit_callbacks(execute=True):
        apply(Feed(RisStyle("RRK")).orm("CA", "ORD9", person))
    assert Referral.objects.get(placer_order_number="ORD9").status == "removed"
    assert not Invitation.objects.exists() and outbox == []


def test_without_email_or_mobile_the_clerks_print_and_post_a_letter(frozen_clock, trust, clerk_client, outbox, settings):
    now = timezone.now()
    referral = ReferralFactory(trust=trust, patient=PatientFactory(email="", mobile="", given_name="Ada", postcode="B15 2TT"))
    invitation = invite_to_choose(referral, now=now)
    assert invitation.channel == InvitationChannel.LETTER
    assert outbox == [] and not Notification.objects.exists()

    worklist = clerk_client.get(reverse("booking:clerk-home"), {"kind": "letter"}).content.decode()
    letter_url = reverse("booking:clerk-invitation-letter", args=[referral.pk])
    assert "Invitation letter to post" in worklist and letter_url in worklist

    letter = clerk_client.get(letter_url).content.decode()
    assert "Dear Ada," in letter
    assert referral.booking_reference in letter
    assert f"<strong>{settings.PUBLIC_BASE_URL}/accounts/patient/sign-in/</strong>" in letter
    assert "Mark as posted" in letter

    assert clerk_client.post(letter_url)["Location"] == reverse("booking:clerk-home")
    invitation.refresh_from_db()
    assert invitation.letter_posted_at == now
    assert AuditEvent.objects.filter(object_type="booking.Invitation", summary="Posted the invitation letter").count() == 1
    assert clerk_client.post(letter_url).status_code == 302  # posting twice marks it once
    assert AuditEvent.objects.filter(object_type="booking.Invitation", summary="Posted the invitation letter").count() == 1
    assert "Invitation letter to post" not in clerk_client.get(reverse("booking:clerk-home"), {"kind": "letter"}).content.decode()


def test_another_trusts_clerk_cannot_open_the_letter(other_trust_clerk_client, referral):
    invite_to_choose(referral, now=timezone.now())
    assert other_trust_clerk_client.get(reverse("booking:clerk-invitation-letter", args=[referral.pk])).status_code == 404


def test_a_patient_who_has_not_chosen_is_reminded_once_then_the_clerks_see_them(
    frozen_clock, referral, clerk, outbox, settings, django_capture_on_commit_callbacks
):
    settings.INVITATION_REMINDER_DAYS = 7
    invited = timezone.now()
    invite_to_choose(referral, now=invited)
    outbox.clear()
    assert send_invitation_reminders(invited + dt.timedelta(days=6, hours=23)) == 0
    assert not [i for i in build_worklist(clerk, now=invited + dt.timedelta(days=6)) if i.kind == ItemKind.NOT_CHOSEN]

    frozen_clock.move_to(invited + dt.timedelta(days=7, hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_invitation_reminders.apply().get() == 1
        assert notify_invitation_reminders.apply().get() == 0  # the beat's next run sends nothing twice
    (reminder,) = outbox
    assert reminder.template == "invitation_reminder"
    assert reminder.subject == f"Reminder: choose your {referral.exam_type.name} appointment"
    assert f"On {timezone.localtime(invited):%-d %B %Y} we asked you" in reminder.body
    (item,) = [i for i in build_worklist(clerk, now=timezone.now()) if i.kind == ItemKind.NOT_CHOSEN]
    assert item.patient.referral_id == referral.pk and "reminded on" in item.why


def test_a_patient_who_has_chosen_is_neither_reminded_nor_listed(referral, clerk, outbox, site, now):
    invite_to_choose(referral, now=now - dt.timedelta(days=8))
    slot = SlotFactory(site=site, modality=referral.exam_type.modality)
    confirm_booking(referral, slot.pk, channel="clerk", now=now, notify=False)
    outbox.clear()
    assert send_invitation_reminders(now) == 0
    assert not [i for i in build_worklist(clerk, now=now) if i.kind == ItemKind.NOT_CHOSEN]


def test_invitations_are_only_for_referrals_waiting_to_choose(referral, now):
    referral.status = "booked"
    referral.save()
    assert invite_to_choose(referral, now=now) is None
    assert not Invitation.objects.exists()


def test_the_clerks_of_another_trust_do_not_see_them(referral, other_trust, now):
    invite_to_choose(referral, now=now - dt.timedelta(days=8))
    someone_else = UserFactory(role="clerk", trust=other_trust)
    assert not [i for i in build_worklist(someone_else, now=now) if i.kind in (ItemKind.NOT_CHOSEN, ItemKind.LETTER)]
