"""Invitations to choose: every referral that joins the waiting list tells its patient they can choose.

    referral_added ─▶ invite_to_choose ─┬─ email or text (the patient's preferred contact), with a
                                        │  link that leads to sign-in for that referral
                                        └─ no email or mobile: a letter, printed and posted by a clerk
    INVITATION_REMINDER_DAYS later, still not chosen ─▶ one reminder (email or text), and the trust's
    clerks see the patient on their worklist

The invitation is written in the transaction that adds the referral (the `referral_added` receiver),
so a referral never joins the list without one, and a rolled-back order sends nothing. Reminders run
from the beat (`send_invitation_reminders`), each claimed by a conditional update: run twice, sent once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction
from audit.trail import record
from booking.models import Invitation, InvitationChannel, Referral, ReferralStatus
from booking.patient_links import patient_link

from .notifications import preferred_channel, queue_notification

NOT_CHOSEN = (ReferralStatus.WAITING, ReferralStatus.OFFERED)


def reminder_after() -> timedelta:
    return timedelta(days=settings.INVITATION_REMINDER_DAYS)


def invite_to_choose(referral: Referral, *, now: datetime) -> Invitation | None:
    """Invite the patient to choose, once per referral; None when it is not waiting or already invited."""
    if referral.status != ReferralStatus.WAITING:
        return None
    channel = preferred_channel(referral.patient) or InvitationChannel.LETTER
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(referral=referral, channel=channel, sent_at=now)
    except IntegrityError:  # invited already (the same order applied twice)
        return None
    if channel != InvitationChannel.LETTER:
        queue_notification(referral.patient, "invitation", invitation_details(referral), channel=channel)
    record(
        AuditAction.CREATE,
        invitation,
        summary=f"Invited the patient to choose ({invitation.get_channel_display().lower()})",
        patient_id=referral.patient_id,
        detail={"channel": channel},
    )
    return invitation


def send_invitation_reminders(now: datetime, *, limit: int = 1000) -> int:
    """Remind, once, each invited patient who has not chosen INVITATION_REMINDER_DAYS later."""
    due = list(
        Invitation.objects.filter(
            reminded_at__isnull=True,
            sent_at__lte=now - reminder_after(),
            referral__status__in=NOT_CHOSEN,
            channel__in=(InvitationChannel.EMAIL, InvitationChannel.SMS),
        )
        .select_related("referral__patient", "referral__exam_type", "referral__trust")
        .order_by("sent_at")[:limit]
    )
    reminded = 0
    for invitation in due:
        with transaction.atomic():
            claimed = Invitation.objects.filter(pk=invitation.pk, reminded_at__isnull=True).update(reminded_at=now)
            if not claimed:  # another run reminded them first
                continue
            referral = invitation.referral
            details = invitation_details(referral) | {"invited_on": timezone.localtime(invitation.sent_at).strftime("%-d %B %Y")}
            queue_notification(referral.patient, "invitation_reminder", details)
            record(
                AuditAction.UPDATE,
                invitation,
                summary="Reminded the patient to choose",
                patient_id=referral.patient_id,
            )
            reminded += 1
    return reminded


def mark_letter_posted(invitation: Invitation, *, now: datetime) -> bool:
    """A clerk printed and posted the invitation letter; False if it was already marked."""
    with transaction.atomic():
        marked = Invitation.objects.filter(pk=invitation.pk, letter_posted_at__isnull=True).update(letter_posted_at=now)
        if marked:
            invitation.letter_posted_at = now
            record(
                AuditAction.UPDATE,
                invitation,
                summary="Posted the invitation letter",
                patient_id=invitation.referral.patient_id,
            )
    return bool(marked)


def invitation_details(referral: Referral) -> dict[str, object]:
    """What an invitation (or its reminder, or its letter) says; JSON only."""
    return {
        "name": referral.patient.given_name,
        "booking_reference": referral.booking_reference,
        "exam": referral.exam_type.name,
        "trust": referral.trust.name,
        "choose_link": patient_link(referral, "choose"),
        "sign_in_address": settings.PUBLIC_BASE_URL + reverse("accounts:patient-sign-in"),
    }
