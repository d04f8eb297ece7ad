"""What the network dashboards store: daily wait snapshots, what-if simulation runs, and the
network allocations managers start by hand (to show their progress).

Both hold aggregates only: no patient identifiers are ever written here.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models


class Dimension(models.TextChoices):
    NETWORK = "network", "Network"
    ICB = "icb", "Integrated care board"
    TRUST = "trust", "Trust"
    SITE = "site", "Site"
    MODALITY = "modality", "Modality"


class WaitSnapshotQuerySet(models.QuerySet["WaitSnapshot"]):
    def latest_date(self) -> date | None:
        return self.aggregate(latest=models.Max("date"))["latest"]

    def on(self, day: date) -> WaitSnapshotQuerySet:
        return self.filter(date=day)

    def of(self, dimension: str) -> WaitSnapshotQuerySet:
        return self.filter(dimension=dimension)


class WaitSnapshot(models.Model):
    """One group's measures on one day: written by `take_snapshot`, read by every dashboard."""

    date = models.DateField(db_index=True)
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    key = models.CharField(
        max_length=20, help_text="ODS code, site code or modality code; 'all' for the network"
    )
    label = models.CharField(max_length=160)
    metrics = models.JSONField(default=dict)
    taken_at = models.DateTimeField()

    objects = WaitSnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["date", "dimension", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "dimension", "key"], name="one_snapshot_per_group_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.dimension} {self.label}"


class SimulationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"


class BackgroundJob(models.Model):
    """Work a manager starts that runs on the task queue: its status and progress while it runs,
    so its page can show them (htmx polls), and any error."""

    status = models.CharField(
        max_length=10, choices=SimulationStatus.choices, default=SimulationStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="0 to 100")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    @property
    def is_done(self) -> bool:
        return self.status in (SimulationStatus.FINISHED, SimulationStatus.FAILED)


class SimulationRun(BackgroundJob):
    """A what-if run: its parameters, progress while it runs, and the weekly results per policy."""

    params = models.JSONField(default=dict)
    results = models.JSONField(default=dict, blank=True)

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Simulation {self.pk} ({self.get_status_display()})"


class AllocationRequest(BackgroundJob):
    """A network allocation a manager started by hand: its progress while it runs, then its run."""

    stage = models.CharField(max_length=120, blank=True)
    run = models.ForeignKey(
        "booking.OptimiserRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    offers_sent = models.PositiveIntegerField(default=0)

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"Allocation request {self.pk} ({self.get_status_display()})"
