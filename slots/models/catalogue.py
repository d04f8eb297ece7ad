"""What can be scanned: modalities and the exam catalogue."""

from __future__ import annotations

from django.db import models


class ModalityQuerySet(models.QuerySet["Modality"]):
    def public(self) -> ModalityQuerySet:
        return self.all()


class ExamTypeQuerySet(models.QuerySet["ExamType"]):
    def public(self) -> ExamTypeQuerySet:
        """The exam catalogue is public."""
        return self.select_related("modality")


class Modality(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text="CT, MR, US, XR, DEXA, NM, MG, RF")
    name = models.CharField(max_length=60)
    dicom_code = models.CharField(max_length=8, blank=True)
    booked_from_waiting_list = models.BooleanField(default=True)

    objects = ModalityQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "modalities"

    def __str__(self) -> str:
        return self.name


class AgeGroup(models.TextChoices):
    ANY = "any", "Any age"
    ADULT_ONLY = "adult_only", "Adults only"
    PAEDIATRIC_ONLY = "paediatric_only", "Children only"


class ExamType(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    modality = models.ForeignKey(Modality, on_delete=models.PROTECT, related_name="exam_types")
    duration_minutes = models.PositiveSmallIntegerField()
    preparation_lead_days = models.PositiveSmallIntegerField(default=0)
    fasting_hours = models.PositiveSmallIntegerField(default=0)
    requires_contrast = models.BooleanField(default=False)
    mri_safety_check = models.BooleanField(default=False)
    age_group = models.CharField(max_length=16, choices=AgeGroup.choices, default=AgeGroup.ANY)
    share_of_modality = models.FloatField(default=0.0, help_text="Share of its modality's activity")
    preparation = models.TextField(blank=True, help_text="Plain-English instructions for the patient")
    dm01_test = models.CharField(
        max_length=30,
        blank=True,
        help_text="The DM01 test this exam counts as (booking.rules.dm01.Dm01Test); blank if DM01 does not count it",
    )

    objects = ExamTypeQuerySet.as_manager()

    class Meta:
        ordering = ["modality", "name"]

    def __str__(self) -> str:
        return self.name
