"""Bookings and their status history. Transitions go through booking.services.bookings."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .scoping import VisibleToQuerySet


class BookingStatus(models.TextChoices):
    PENDING_RIS = "pending_ris", "Booked, waiting for the hospital to confirm"
    CONFIRMED = "confirmed", "Confirmed"
    CONFLICT = "conflict", "In conflict with the trust's RIS"
    CANCELLED = "cancelled", "Cancelled"
    ATTENDED = "attended", "Attended"
    DID_NOT_ATTEND = "dna", "Did not attend"


ACTIVE_BOOKING_STATUSES = (BookingStatus.PENDING_RIS, BookingStatus.CONFIRMED, BookingStatus.CONFLICT)


class BookingChannel(models.TextChoices):
    PATIENT = "patient", "Patient online"
    CLERK = "clerk", "Booking clerk"
    OFFER = "offer", "Accepted offer"
    RIS = "ris", "Booked in the trust's RIS"
    API = "api", "API"


class BookingQuerySet(VisibleToQuerySet):
    patient_lookup = "referral__patient_id"
    related = ("referral__patient", "slot__site")

    def active(self) -> BookingQuerySet:
        return self.filter(status__in=ACTIVE_BOOKING_STATUSES)

    def of_trust(self, trust_id: int) -> BookingQuerySet:
        return self.filter(referral__trust_id=trust_id)


class Booking(models.Model):
    referral = models.ForeignKey("booking.Referral", on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey("slots.Slot", on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=12, choices=BookingStatus.choices)
    channel = models.CharField(max_length=10, choices=BookingChannel.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    attendance_check_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When a patient likely to miss it was asked to confirm or release it"
    )
    attendance_confirmed_at = models.DateTimeField(null=True, blank=True)
    reminded_7_days_at = models.DateTimeField(null=True, blank=True, help_text="The reminder a week before")
    reminded_2_days_at = models.DateTimeField(null=True, blank=True, help_text="The reminder two days before")
    cancelled_by = models.CharField(
        max_length=10,
        choices=[("patient", "The patient"), ("hospital", "The hospital")],  # booking.models.clocks.CancelledBy
        blank=True,
        help_text="Who asked for the cancellation (cancelled bookings only)",
    )

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database itself guarantees a slot is booked at most once.
            models.UniqueConstraint(
                fields=["slot"],
                condition=models.Q(status__in=ACTIVE_BOOKING_STATUSES),
                name="one_active_booking_per_slot",
            ),
            models.UniqueConstraint(
                fields=["referral"],
                condition=models.Q(status__in=ACTIVE_BOOKING_STATUSES),
                name="one_active_booking_per_referral",
            ),
        ]

    def __str__(self) -> str:
        return f"Booking {self.pk} {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BOOKING_STATUSES


class BookingStatusChange(models.Model):
    """One row per transition: who, when, why, and how the patient was contacted."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=80, blank=True, help_text="System actor, e.g. an HL7 feed")
    reason = models.TextField(blank=True)
    contact_method = models.CharField(max_length=20, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status} at {self.changed_at:%Y-%m-%d %H:%M}"


class RisMessageKind(models.TextChoices):
    BOOK = "book", "Booking"
    CANCEL = "cancel", "Cancellation"


class RisAnswer(models.TextChoices):
    """Where a message to the slot's trust's RIS stands, as the feed's outbox reports it."""

    WAITING = "waiting", "Waiting to send"
    ACCEPTED = "accepted", "Accepted by the RIS"
    REFUSED = "refused", "Rejected by the RIS"
    UNREACHABLE = "unreachable", "Gave up after retries"
    CLERK_TASK = "clerk_task", "No SRM at this trust: a task for its clerks"


class RisDelivery(models.Model):
    """What the trust's RIS was sent about a booking and what it answered: one row per message,
    reported by whatever sends it (the HL7 outbox) through booking.services.ris. The clerks'
    worklist and patient record read this, never the feed's own tables."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="ris_deliveries")
    trust = models.ForeignKey("slots.Trust", on_delete=models.PROTECT, related_name="+")
    message_ref = models.CharField(max_length=40, unique=True, help_text="The sender's id for the message")
    kind = models.CharField(max_length=10, choices=RisMessageKind.choices)
    answer = models.CharField(max_length=12, choices=RisAnswer.choices, default=RisAnswer.WAITING)
    said = models.TextField(blank=True, help_text="What the RIS (or the sender) said")
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["trust", "answer"], name="ris_delivery_trust_answer")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for booking {self.booking_id}: {self.get_answer_display()}"
