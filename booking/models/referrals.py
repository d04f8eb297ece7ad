"""Referrals: the waiting list. Two clocks: `clock_start`, the wait since referral, starts at the first
order (NW) and never moves after; `dm01_clock_start`, the DM01 clock, starts with it and restarts by
booking/rules/dm01.py when the patient cancels or does not attend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models

from booking.rules.priority import priority_weight

from .scoping import VisibleToQuerySet


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    CANCER = "cancer", "Suspected cancer (2-week wait)"
    SOON = "soon", "Soon"
    ROUTINE = "routine", "Routine"




class ReferralStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a slot"
    BOOKED = "booked", "Booked"
    COMPLETED = "completed", "Scanned"
    REMOVED = "removed", "Removed from the list"


class TravelMode(models.TextChoices):
    CAR = "car", "Car"
    PUBLIC_TRANSPORT = "public_transport", "Public transport"
    WALKING = "walking", "Walking"
    HOSPITAL_TRANSPORT = "hospital_transport", "Hospital transport"


class ReferralQuerySet(VisibleToQuerySet):
    patient_lookup = "patient_id"
    related = ("patient", "exam_type__modality", "trust")

    def waiting(self) -> ReferralQuerySet:
        return self.filter(status__in=[ReferralStatus.WAITING, ReferralStatus.OFFERED])

    def of_trust(self, trust_id: int) -> ReferralQuerySet:
        return self.filter(trust_id=trust_id)

    def waited_longer_than(self, days: int, now: datetime) -> ReferralQuerySet:
        from datetime import timedelta

        return self.filter(clock_start__lte=now - timedelta(days=days))


class Referral(models.Model):
    patient = models.ForeignKey("booking.Patient", on_delete=models.PROTECT, related_name="referrals")
    trust = models.ForeignKey("slots.Trust", on_delete=models.PROTECT, related_name="referrals")
    exam_type = models.ForeignKey("slots.ExamType", on_delete=models.PROTECT, related_name="referrals")
    booking_reference = models.CharField(max_length=12, unique=True, help_text="On the referral letter")
    placer_order_number = models.CharField(max_length=60, blank=True)
    filler_order_number = models.CharField(max_length=60, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    status = models.CharField(max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.WAITING)
    clock_start = models.DateTimeField(help_text="First order received; never moved by later updates")
    dm01_clock_start = models.DateTimeField(
        help_text="The DM01 clock: the referral date until the patient cancels or does not attend "
        "(booking/rules/dm01.py; booking.services.clocks moves it)"
    )
    referrer = models.CharField(max_length=120, blank=True)
    clinical_reason = models.TextField(blank=True)
    travel_mode = models.CharField(max_length=20, choices=TravelMode.choices, default=TravelMode.CAR)
    max_travel_km = models.PositiveSmallIntegerField(null=True, blank=True)
    work_postcode = models.CharField(max_length=10, blank=True)
    needs_step_free = models.BooleanField(default=False)
    needs_hearing_loop = models.BooleanField(default=False)
    needs_bariatric = models.BooleanField(default=False)
    unavailable_dates = models.JSONField(default=list, blank=True, help_text="ISO dates the patient can't do")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["clock_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["trust", "placer_order_number"],
                condition=~models.Q(placer_order_number=""),
                name="referral_order_unique_per_trust",
            )
        ]
        indexes = [models.Index(fields=["status", "clock_start"], name="referral_waiting_list")]

    def __str__(self) -> str:
        return f"{self.booking_reference} {self.exam_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.dm01_clock_start is None:
            self.dm01_clock_start = self.clock_start  # both clocks start at the referral
        super().save(*args, **kwargs)

    def days_waited(self, now: datetime) -> int:
        return (now - self.clock_start).days

    @property
    def priority_weight(self) -> float:
        return priority_weight(self.priority)


class ReferralStatusChange(models.Model):
    """One row per change of a referral's status: from, to, when, who or what, why, and the booking
    that caused it. Written only by booking.services.referrals."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, choices=ReferralStatus.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=80, blank=True, help_text="System actor, e.g. an HL7 feed")
    reason = models.TextField(blank=True)
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="referral_status_changes"
    )

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status} at {self.changed_at:%Y-%m-%d %H:%M}"
