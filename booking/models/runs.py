"""What the optimiser did: every run's size, timing, objective and before/after waits."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RunKind(models.TextChoices):
    ALLOCATION = "allocation", "Network allocation"
    BACKFILL = "backfill", "Backfill"
    CHAIN = "chain", "Cascading chain"


class OptimiserRun(models.Model):
    kind = models.CharField(max_length=12, choices=RunKind.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    patients = models.PositiveIntegerField(default=0)
    slots = models.PositiveIntegerField(default=0)
    arcs = models.PositiveBigIntegerField(default=0)
    build_seconds = models.FloatField(default=0.0)
    solve_seconds = models.FloatField(default=0.0)
    objective = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    proposed = models.PositiveIntegerField(default=0)
    waits_before = models.JSONField(
        default=dict, blank=True, help_text="Waits at scan without the network: each patient at their nearest site only"
    )
    waits_after = models.JSONField(default=dict, blank=True, help_text="Waits at scan under this run's proposals")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.started_at:%Y-%m-%d %H:%M}"
