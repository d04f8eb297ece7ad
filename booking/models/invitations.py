"""Invitations to choose: one per referral, sent when it joins the waiting list."""

from __future__ import annotations

from django.db import models

from .scoping import VisibleToQuerySet


class InvitationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"
    LETTER = "letter", "Letter (no email address or mobile number)"


class InvitationQuerySet(VisibleToQuerySet):
    patient_lookup = "referral__patient_id"
    related = ("referral__patient",)

    def of_trust(self, trust_id: int) -> InvitationQuerySet:
        return self.filter(referral__trust_id=trust_id)


class Invitation(models.Model):
    """The patient was told they can choose (by email or text, or a letter the trust posts), and
    reminded once if they had not chosen after INVITATION_REMINDER_DAYS."""

    referral = models.OneToOneField("booking.Referral", on_delete=models.CASCADE, primary_key=True, related_name="invitation")
    channel = models.CharField(max_length=8, choices=InvitationChannel.choices)
    sent_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    letter_posted_at = models.DateTimeField(null=True, blank=True, help_text="When a clerk posted the printed letter")

    objects = InvitationQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["reminded_at", "sent_at"], name="invitation_reminders_due")]

    def __str__(self) -> str:
        return f"Invitation for referral {self.referral_id} by {self.channel}"
