"""Slots: time on a scanner that a trust's RIS has released, and the network pool they form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models


class SlotStatus(models.TextChoices):
    OPEN = "open", "Open"
    HELD = "held", "Held for a patient"
    BOOKED = "booked", "Booked"
    BLOCKED = "blocked", "Blocked"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AppointmentState(models.TextChoices):
    """The RIS appointment in a slot (SCH-2), which only moves forward: booked → modified → one of
    the final three. An event for an appointment already final is stale whatever its time."""

    NONE = "", "No RIS appointment"
    BOOKED = "booked", "Booked"
    MODIFIED = "modified", "Modified"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "Did not attend"
    COMPLETED = "completed", "Completed"


class SlotQuerySet(models.QuerySet["Slot"]):
    def in_pool(self) -> SlotQuerySet:
        return self.filter(pooled=True)

    def bookable(self, now: datetime) -> SlotQuerySet:
        return self.filter(status=SlotStatus.OPEN, starts_at__gt=now)

    def for_modality(self, modality_code: str) -> SlotQuerySet:
        return self.filter(modality__code=modality_code)

    def at_trust(self, trust_id: int) -> SlotQuerySet:
        return self.filter(site__trust_id=trust_id)

    def pool_visible_to(self, user: Any) -> SlotQuerySet:
        """The network's pool, for everyone who books (patients, clerks, systems, admins); managers
        see slots only in aggregate. `user.data_scope` is the accounts app's (slots imports none)."""
        scope = getattr(user, "data_scope", None)
        if scope is None or not scope.sees_pool:
            return self.none()
        return self.in_pool().select_related("site", "modality")


class Slot(models.Model):
    # Site, modality and trust are each the leading column of an index below (slot_site_day,
    # slot_search, slot_ris_id_unique_per_trust), so they take no index of their own: every slot
    # the feeds write or change pays for each index it is in.
    site = models.ForeignKey("slots.Site", on_delete=models.PROTECT, related_name="slots", db_index=False)
    scanner = models.ForeignKey(
        "slots.Scanner", on_delete=models.SET_NULL, null=True, blank=True, related_name="slots"
    )
    modality = models.ForeignKey("slots.Modality", on_delete=models.PROTECT, related_name="slots", db_index=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=SlotStatus.choices, default=SlotStatus.OPEN)
    pooled = models.BooleanField(default=True, help_text="Released by the trust for network booking")
    ris_slot_id = models.CharField(
        max_length=80, help_text="The RIS's filler appointment id (SCH-2); unique within the trust"
    )
    trust = models.ForeignKey("slots.Trust", on_delete=models.PROTECT, related_name="slots", db_index=False)
    version = models.PositiveIntegerField(
        default=0, help_text="Raised by each applied event; events older than the slot's are ignored"
    )
    last_event_at = models.DateTimeField(null=True, blank=True)
    appointment_state = models.CharField(
        max_length=12, choices=AppointmentState.choices, default=AppointmentState.NONE, blank=True,
        help_text="Where the RIS appointment in this slot is in its lifecycle (slots.services.ordering)",
    )
    last_message_id = models.BigIntegerField(
        null=True, blank=True,
        help_text="The inbound message that last changed the slot: arrival order breaks a tie on event time",
    )
    status_changed_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "ris_slot_id"], name="slot_ris_id_unique_per_trust"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["modality", "status", "starts_at"], name="slot_search"),
            models.Index(fields=["site", "starts_at"], name="slot_site_day"),
        ]

    def __str__(self) -> str:
        return f"{self.modality.code} at {self.site} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)
