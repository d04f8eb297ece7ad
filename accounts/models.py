"""Who uses the hub, and in what role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLERK = "clerk", "Booking clerk"
    MANAGER = "manager", "Network manager"
    INTEGRATION = "integration", "Integration system"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.CLERK)
    trust = models.ForeignKey(
        "slots.Trust",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="The trust a clerk or integration system acts for",
    )
    patient = models.OneToOneField(
        "booking.Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="user"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=["clerk", "integration"]) | models.Q(trust__isnull=False),
                name="clerk_and_integration_have_a_trust",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="patient") | models.Q(patient__isnull=False),
                name="patient_user_has_a_patient",
            ),
        ]

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_clerk(self) -> bool:
        return self.role == Role.CLERK

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser
