"""A hold keeps a slot for one patient for a few minutes while they confirm."""

from __future__ import annotations

from django.db import models


class Hold(models.Model):
    slot = models.OneToOneField("slots.Slot", on_delete=models.CASCADE, related_name="hold")
    referral = models.ForeignKey("booking.Referral", on_delete=models.CASCADE, related_name="holds")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Hold on {self.slot_id} for {self.referral_id} until {self.expires_at:%H:%M}"
