"""Patients: synthetic always in this repository."""

from __future__ import annotations

from django.db import models

from .scoping import VisibleToQuerySet


class PatientQuerySet(VisibleToQuerySet):
    patient_lookup = "pk"

    def of_trust(self, trust_id: int) -> PatientQuerySet:
        """Patients with a referral owned by this trust: the only ones its clerks may see."""
        return self.filter(referrals__trust_id=trust_id).distinct()


class Patient(models.Model):
    nhs_number = models.CharField(max_length=10, unique=True)
    given_name = models.CharField(max_length=80)
    family_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, blank=True, help_text="HL7 table 0001: F, M, O, U")
    postcode = models.CharField(max_length=10)
    outcode = models.CharField(max_length=5, db_index=True)
    email = models.EmailField(blank=True)
    mobile = models.CharField(max_length=20, blank=True)
    interpreter_language = models.CharField(max_length=60, blank=True)
    reasonable_adjustments = models.TextField(blank=True)
    short_notice_opt_in = models.BooleanField(
        default=False, help_text="Offer me earlier slots at short notice"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [models.Index(fields=["family_name", "date_of_birth"], name="patient_name_dob")]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def formatted_nhs_number(self) -> str:
        n = self.nhs_number
        return f"{n[:3]} {n[3:6]} {n[6:]}" if len(n) == 10 else n
