"""Messages to patients (email/SMS), queued in the database and sent by a task."""

from __future__ import annotations

from django.db import models


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    patient = models.ForeignKey("booking.Patient", on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=[("email", "Email"), ("sms", "SMS")])
    template = models.CharField(max_length=60)
    personalisation = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_reference = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} by {self.channel} ({self.status})"
