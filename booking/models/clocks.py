"""The DM01 clock's history: one row each time a referral's DM01 clock restarted.

Who cancelled a booking is on the booking itself (`Booking.cancelled_by`); the rule deciding whether
that restarts the clock is booking/rules/dm01.py, applied by booking.services.clocks, the only code
that writes these rows.
"""

from __future__ import annotations

from django.db import models

from booking.rules.dm01 import ClockEvent


class CancelledBy(models.TextChoices):
    """Who asked for a booking to be cancelled. Unknown is recorded as the hospital: a patient's
    DM01 clock is never restarted on a guess."""

    PATIENT = "patient", "The patient"
    HOSPITAL = "hospital", "The hospital"


class Dm01ClockRestart(models.Model):
    referral = models.ForeignKey("booking.Referral", on_delete=models.PROTECT, related_name="dm01_restarts")
    booking = models.ForeignKey("booking.Booking", on_delete=models.PROTECT, related_name="dm01_restarts")
    event = models.CharField(
        max_length=20,
        choices=[(event.value, event.value.replace("_", " ").capitalize()) for event in ClockEvent],
        help_text="Why it restarted: the patient cancelled, or did not attend",
    )
    cancelled_by = models.CharField(max_length=10, choices=CancelledBy.choices, blank=True)
    previous_clock_start = models.DateTimeField()
    restarted_from = models.DateTimeField(
        help_text="The new DM01 clock start: when the patient cancelled, or the missed appointment's time"
    )
    reason = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["referral", "restarted_from", "pk"]
        indexes = [models.Index(fields=["referral", "restarted_from"], name="dm01_restart_by_referral")]

    def __str__(self) -> str:
        return f"DM01 clock of referral {self.referral_id} restarted {self.restarted_from:%Y-%m-%d} ({self.event})"
