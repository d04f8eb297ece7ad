"""Offers: a slot proposed to a patient (by allocation or backfill) that they accept or decline."""

from __future__ import annotations

from django.db import models

from .scoping import VisibleToQuerySet


class OfferSource(models.TextChoices):
    ALLOCATION = "allocation", "Network allocation"
    BACKFILL = "backfill", "Backfill of a freed slot"
    CHAIN = "chain", "Move earlier to free a slot"
    CLERK = "clerk", "Booking clerk"
    REFUSED = "refused", "Next best slot after the RIS refused a booking"


class OfferStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    SENT = "sent", "Sent to the patient"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_OFFER_STATUSES = (OfferStatus.PROPOSED, OfferStatus.SENT)


class OfferQuerySet(VisibleToQuerySet):
    patient_lookup = "referral__patient_id"
    related = ("referral", "slot__site__trust", "slot__modality", "slot__scanner")

    def of_trust(self, trust_id: int) -> OfferQuerySet:
        return self.filter(referral__trust_id=trust_id)


class Offer(models.Model):
    referral = models.ForeignKey("booking.Referral", on_delete=models.CASCADE, related_name="offers")
    slot = models.ForeignKey("slots.Slot", on_delete=models.CASCADE, related_name="offers")
    source = models.CharField(max_length=12, choices=OfferSource.choices)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.PROPOSED)
    rank = models.PositiveSmallIntegerField(default=0, help_text="Order in a backfill cascade")
    reason = models.CharField(max_length=240, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(
        "booking.OptimiserRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="offers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="offer_expiry")]

    def __str__(self) -> str:
        return f"Offer of slot {self.slot_id} to referral {self.referral_id} ({self.status})"
