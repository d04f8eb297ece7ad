"""Who uses the hub, and in what role."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLERK = "clerk", "Booking clerk"
    MANAGER = "manager", "Network manager"
    INTEGRATION = "integration", "Integration system"
    ADMIN = "admin", "Administrator"


@dataclass(frozen=True)
class DataScope:
    """Which rows a user may reach; the domain's QuerySets read it (`Referral.objects.visible_to`).

    - admin: everything;
    - patient: their own patient record and its referrals;
    - clerk / integration system: their trust's patients and referrals, and the network's pool slots;
    - network manager: no patient rows and no slot rows (aggregates only);
    - anyone else: nothing.
    """

    everything: bool = False
    patient_id: int | None = None
    trust_id: int | None = None
    sees_pool: bool = False


NO_DATA = DataScope()


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

    @property
    def data_scope(self) -> DataScope:
        if not self.is_active:
            return NO_DATA
        if self.is_admin:
            return DataScope(everything=True, sees_pool=True)
        if self.role == Role.PATIENT and self.patient_id:
            return DataScope(patient_id=self.patient_id, sees_pool=True)
        if self.role in (Role.CLERK, Role.INTEGRATION) and self.trust_id:
            return DataScope(trust_id=self.trust_id, sees_pool=True)
        return NO_DATA
